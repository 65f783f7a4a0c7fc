// A small, hand-written encoder and decoder for the subset of the TFLite flatbuffer format
// (schema "TFL3", version 3) that the exporter emits. Written from the published schema's
// field list, not generated: only the tables and fields used here, each with its field id
// (vtable slot) and the schema's field name in a comment. Field ids count from 0 in
// declaration order; a union field takes two ids (its `_type` byte first).
import { Builder, ByteBuffer } from 'flatbuffers';

export const FILE_IDENTIFIER = 'TFL3';
export const SCHEMA_VERSION = 3;

/** enum BuiltinOperator (the codes used here). */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RESHAPE: 22,
  SOFTMAX: 25,
  PAD: 34,
  MEAN: 40,
  HARD_SWISH: 117,
} as const;
export type OpName = keyof typeof BuiltinOperator;
const OP_BY_CODE = new Map<number, OpName>(Object.entries(BuiltinOperator).map(([k, v]) => [v, k as OpName]));
export const opName = (code: number): string => OP_BY_CODE.get(code) ?? `op#${code}`;

/**
 * Op versions written into OperatorCode.version: the lowest version that has every feature
 * used (float32, no dilation, no int8), so old runtimes accept them. CONV_2D stays at 1 (the
 * tfjs-tflite build refuses version 7).
 */
export const OP_VERSION: Record<OpName, number> = {
  ADD: 1, AVERAGE_POOL_2D: 1, CONV_2D: 1, DEPTHWISE_CONV_2D: 1, FULLY_CONNECTED: 1, LOGISTIC: 1,
  MAX_POOL_2D: 1, MUL: 1, RESHAPE: 1, SOFTMAX: 1, PAD: 1, MEAN: 1, HARD_SWISH: 1,
};

/** union BuiltinOptions: the member index (NONE = 0) of each options table used. */
export const BuiltinOptionsType = {
  NONE: 0,
  Conv2DOptions: 1,
  DepthwiseConv2DOptions: 2,
  Pool2DOptions: 5,
  FullyConnectedOptions: 8,
  SoftmaxOptions: 9,
  AddOptions: 11,
  ReshapeOptions: 17,
  MulOptions: 21,
  PadOptions: 22,
  ReducerOptions: 27,
} as const;

/** enum TensorType : byte. */
export const TensorType = { FLOAT32: 0, INT32: 2 } as const;
/** enum Padding : byte. */
export const Padding = { SAME: 0, VALID: 1 } as const;
/** enum ActivationFunctionType : byte. */
export const Activation = { NONE: 0, RELU: 1, RELU6: 3 } as const;
export type ActivationName = keyof typeof Activation;
export type PaddingName = keyof typeof Padding;

// --- the in-memory graph the encoder writes ------------------------------------------------

export interface GraphTensor {
  name: string;
  shape: number[];
  type: 'float32' | 'int32';
  /** Constant data (weights, biases, shapes, axes); absent for activations. */
  data?: Float32Array | Int32Array;
}

export type OpOptions =
  | { kind: 'conv2d'; padding: PaddingName; strideW: number; strideH: number; act: ActivationName }
  | { kind: 'depthwise'; padding: PaddingName; strideW: number; strideH: number; depthMultiplier: number; act: ActivationName }
  | { kind: 'pool2d'; padding: PaddingName; strideW: number; strideH: number; filterW: number; filterH: number; act: ActivationName }
  | { kind: 'fc'; act: ActivationName }
  | { kind: 'softmax'; beta: number }
  | { kind: 'add'; act: ActivationName }
  | { kind: 'mul'; act: ActivationName }
  | { kind: 'reshape'; newShape: number[] }
  | { kind: 'pad' }
  | { kind: 'reducer'; keepDims: boolean }
  | { kind: 'none' };

export interface GraphOp {
  op: OpName;
  inputs: number[];
  outputs: number[];
  options: OpOptions;
}

export interface Graph {
  tensors: GraphTensor[];
  ops: GraphOp[];
  inputs: number[];
  outputs: number[];
  /** Model.description. */
  description: string;
  /** SubGraph.name. */
  name: string;
}

// --- encoder -------------------------------------------------------------------------------

function intVector(b: Builder, xs: readonly number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]);
  return b.endVector();
}

function offsetVector(b: Builder, xs: readonly number[]): number {
  b.startVector(4, xs.length, 4);
  for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]);
  return b.endVector();
}

/** A [ubyte] vector aligned to 16 bytes (Buffer.data has `force_align: 16`). */
function alignedBytes(b: Builder, bytes: Uint8Array): number {
  b.startVector(1, bytes.length, 16);
  b.pad(bytes.length);
  const bb = b.dataBuffer();
  bb.bytes().set(bytes, bb.capacity() - b.offset());
  return b.endVector();
}

function littleEndianBytes(data: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setInt32(i * 4, v, true));
  return out;
}

function actCode(a: ActivationName): number { return Activation[a]; }

/** Writes one options table; returns [union type, offset]. */
function writeOptions(b: Builder, o: OpOptions): [number, number] {
  switch (o.kind) {
    case 'conv2d':
      b.startObject(6);
      b.addFieldInt8(0, Padding[o.padding], null); // padding:Padding
      b.addFieldInt32(1, o.strideW, null); // stride_w:int
      b.addFieldInt32(2, o.strideH, null); // stride_h:int
      b.addFieldInt8(3, actCode(o.act), null); // fused_activation_function
      b.addFieldInt32(4, 1, null); // dilation_w_factor:int = 1
      b.addFieldInt32(5, 1, null); // dilation_h_factor:int = 1
      return [BuiltinOptionsType.Conv2DOptions, b.endObject()];
    case 'depthwise':
      b.startObject(7);
      b.addFieldInt8(0, Padding[o.padding], null); // padding:Padding
      b.addFieldInt32(1, o.strideW, null); // stride_w:int
      b.addFieldInt32(2, o.strideH, null); // stride_h:int
      b.addFieldInt32(3, o.depthMultiplier, null); // depth_multiplier:int
      b.addFieldInt8(4, actCode(o.act), null); // fused_activation_function
      b.addFieldInt32(5, 1, null); // dilation_w_factor:int = 1
      b.addFieldInt32(6, 1, null); // dilation_h_factor:int = 1
      return [BuiltinOptionsType.DepthwiseConv2DOptions, b.endObject()];
    case 'pool2d':
      b.startObject(6);
      b.addFieldInt8(0, Padding[o.padding], null); // padding:Padding
      b.addFieldInt32(1, o.strideW, null); // stride_w:int
      b.addFieldInt32(2, o.strideH, null); // stride_h:int
      b.addFieldInt32(3, o.filterW, null); // filter_width:int
      b.addFieldInt32(4, o.filterH, null); // filter_height:int
      b.addFieldInt8(5, actCode(o.act), null); // fused_activation_function
      return [BuiltinOptionsType.Pool2DOptions, b.endObject()];
    case 'fc':
      b.startObject(4);
      b.addFieldInt8(0, actCode(o.act), null); // fused_activation_function
      b.addFieldInt8(1, 0, null); // weights_format = DEFAULT
      b.addFieldInt8(2, 0, null); // keep_num_dims:bool = false
      return [BuiltinOptionsType.FullyConnectedOptions, b.endObject()];
    case 'softmax':
      // beta's schema default is 0 (a uniform output!): always written, explicitly.
      b.startObject(1);
      b.addFieldFloat32(0, o.beta, null); // beta:float
      return [BuiltinOptionsType.SoftmaxOptions, b.endObject()];
    case 'add':
      b.startObject(1);
      b.addFieldInt8(0, actCode(o.act), null); // fused_activation_function
      return [BuiltinOptionsType.AddOptions, b.endObject()];
    case 'mul':
      b.startObject(1);
      b.addFieldInt8(0, actCode(o.act), null); // fused_activation_function
      return [BuiltinOptionsType.MulOptions, b.endObject()];
    case 'reshape': {
      const shape = intVector(b, o.newShape);
      b.startObject(1);
      b.addFieldOffset(0, shape, 0); // new_shape:[int]
      return [BuiltinOptionsType.ReshapeOptions, b.endObject()];
    }
    case 'pad':
      b.startObject(0);
      return [BuiltinOptionsType.PadOptions, b.endObject()];
    case 'reducer':
      b.startObject(1);
      b.addFieldInt8(0, o.keepDims ? 1 : 0, null); // keep_dims:bool
      return [BuiltinOptionsType.ReducerOptions, b.endObject()];
    case 'none':
      return [BuiltinOptionsType.NONE, 0];
  }
}

/** Encodes a graph as a .tflite flatbuffer (one subgraph, float32, identifier "TFL3"). */
export function encodeModel(g: Graph): Uint8Array {
  const totalBytes = g.tensors.reduce((a, t) => a + (t.data ? t.data.length * 4 + 16 : 0), 0);
  const b = new Builder(Math.max(1024, totalBytes + 64 * 1024));

  // Buffers: 0 is the empty sentinel; then one per constant tensor, in tensor order.
  const bufferOffsets: number[] = [];
  const tensorBuffer: number[] = [];
  const bufferData: Uint8Array[] = [];
  for (const t of g.tensors) {
    if (t.data) {
      bufferData.push(littleEndianBytes(t.data));
      tensorBuffer.push(bufferData.length);
    } else {
      tensorBuffer.push(0);
    }
  }
  b.startObject(1);
  bufferOffsets.push(b.endObject()); // table Buffer {} (sentinel)
  for (const bytes of bufferData) {
    const data = alignedBytes(b, bytes);
    b.startObject(1);
    b.addFieldOffset(0, data, 0); // data:[ubyte] (force_align: 16)
    bufferOffsets.push(b.endObject());
  }

  // Tensors.
  const tensorOffsets = g.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = intVector(b, t.shape);
    b.startObject(4);
    b.addFieldOffset(0, shape, 0); // shape:[int]
    b.addFieldInt8(1, t.type === 'float32' ? TensorType.FLOAT32 : TensorType.INT32, null); // type:TensorType
    b.addFieldInt32(2, tensorBuffer[i], null); // buffer:uint
    b.addFieldOffset(3, name, 0); // name:string
    return b.endObject();
  });

  // Operator codes: one per distinct op, in order of first use.
  const codes: OpName[] = [];
  for (const o of g.ops) if (!codes.includes(o.op)) codes.push(o.op);
  const codeOffsets = codes.map((name) => {
    const code = BuiltinOperator[name];
    b.startObject(4);
    // Codes below 127 go in both fields; readers take max(deprecated_builtin_code, builtin_code).
    b.addFieldInt8(0, Math.min(code, 127), null); // deprecated_builtin_code:byte
    b.addFieldInt32(2, OP_VERSION[name], null); // version:int = 1
    b.addFieldInt32(3, code, null); // builtin_code:BuiltinOperator
    return b.endObject();
  });

  const opOffsets = g.ops.map((o) => {
    const [optType, optOffset] = writeOptions(b, o.options);
    const inputs = intVector(b, o.inputs);
    const outputs = intVector(b, o.outputs);
    b.startObject(5);
    b.addFieldInt32(0, codes.indexOf(o.op), null); // opcode_index:uint
    b.addFieldOffset(1, inputs, 0); // inputs:[int]
    b.addFieldOffset(2, outputs, 0); // outputs:[int]
    b.addFieldInt8(3, optType, null); // builtin_options_type (union tag)
    if (optOffset) b.addFieldOffset(4, optOffset, 0); // builtin_options:BuiltinOptions
    return b.endObject();
  });

  const tensorsVec = offsetVector(b, tensorOffsets);
  const inputsVec = intVector(b, g.inputs);
  const outputsVec = intVector(b, g.outputs);
  const opsVec = offsetVector(b, opOffsets);
  const sgName = b.createString(g.name);
  b.startObject(5);
  b.addFieldOffset(0, tensorsVec, 0); // tensors:[Tensor]
  b.addFieldOffset(1, inputsVec, 0); // inputs:[int]
  b.addFieldOffset(2, outputsVec, 0); // outputs:[int]
  b.addFieldOffset(3, opsVec, 0); // operators:[Operator]
  b.addFieldOffset(4, sgName, 0); // name:string
  const subgraph = b.endObject();

  const codesVec = offsetVector(b, codeOffsets);
  const subgraphsVec = offsetVector(b, [subgraph]);
  const description = b.createString(g.description);
  const buffersVec = offsetVector(b, bufferOffsets);
  b.startObject(5);
  b.addFieldInt32(0, SCHEMA_VERSION, null); // version:uint
  b.addFieldOffset(1, codesVec, 0); // operator_codes:[OperatorCode]
  b.addFieldOffset(2, subgraphsVec, 0); // subgraphs:[SubGraph]
  b.addFieldOffset(3, description, 0); // description:string
  b.addFieldOffset(4, buffersVec, 0); // buffers:[Buffer]
  const model = b.endObject();
  b.finish(model, FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}

// --- decoder (the same fields, read back) --------------------------------------------------

export interface DecodedTensor { name: string; shape: number[]; type: number; buffer: number; data: Uint8Array | null }
export interface DecodedOp { opcode: number; op: string; version: number; inputs: number[]; outputs: number[]; optionsType: number; options: Record<string, number | boolean | number[]> }
export interface DecodedModel {
  identifier: string;
  version: number;
  description: string;
  name: string;
  tensors: DecodedTensor[];
  ops: DecodedOp[];
  inputs: number[];
  outputs: number[];
  buffers: number;
}

/** A read outside the file: truncated or corrupt. */
export class DecodeError extends Error {}

/** Every read is bounds-checked, so a truncated file fails with a DecodeError, not garbage. */
class Table {
  constructor(readonly bb: ByteBuffer, readonly pos: number) {
    this.check(pos, 4, 'table');
    const vt = pos - bb.readInt32(pos);
    this.check(vt, 4, 'vtable');
    this.check(vt, bb.readUint16(vt), 'vtable');
  }
  private check(at: number, size: number, what: string): void {
    const n = this.bb.capacity();
    if (!(at >= 0 && size >= 0 && at + size <= n)) throw new DecodeError(`${what} at byte ${at} (+${size}) is outside the ${n}-byte file`);
  }
  private field(id: number): number { return this.bb.__offset(this.pos, 4 + 2 * id); }
  private at(id: number, size: number): number {
    const o = this.field(id);
    if (o) this.check(this.pos + o, size, `field ${id}`);
    return o;
  }
  int8(id: number, dflt = 0): number { const o = this.at(id, 1); return o ? this.bb.readInt8(this.pos + o) : dflt; }
  uint8(id: number, dflt = 0): number { const o = this.at(id, 1); return o ? this.bb.readUint8(this.pos + o) : dflt; }
  int32(id: number, dflt = 0): number { const o = this.at(id, 4); return o ? this.bb.readInt32(this.pos + o) : dflt; }
  float32(id: number, dflt = 0): number { const o = this.at(id, 4); return o ? this.bb.readFloat32(this.pos + o) : dflt; }
  has(id: number): boolean { return this.field(id) !== 0; }
  string(id: number): string {
    const v = this.vec(id, 1);
    return v ? new TextDecoder().decode(this.bb.bytes().subarray(v[0], v[0] + v[1])) : '';
  }
  table(id: number): Table | null {
    const o = this.at(id, 4);
    return o ? new Table(this.bb, this.bb.__indirect(this.pos + o)) : null;
  }
  private vec(id: number, elem = 4): [number, number] | null {
    const o = this.at(id, 4);
    if (!o) return null;
    const start = this.pos + o + this.bb.readUint32(this.pos + o);
    this.check(start, 4, `vector ${id}`);
    const v: [number, number] = [this.bb.__vector(this.pos + o), this.bb.__vector_len(this.pos + o)];
    this.check(v[0], v[1] * elem, `vector ${id}`);
    return v;
  }
  ints(id: number): number[] {
    const v = this.vec(id);
    if (!v) return [];
    return Array.from({ length: v[1] }, (_, i) => this.bb.readInt32(v[0] + 4 * i));
  }
  bytes(id: number): Uint8Array | null {
    const v = this.vec(id, 1);
    return v ? this.bb.bytes().subarray(v[0], v[0] + v[1]) : null;
  }
  tables(id: number): Table[] {
    const v = this.vec(id);
    if (!v) return [];
    return Array.from({ length: v[1] }, (_, i) => new Table(this.bb, this.bb.__indirect(v[0] + 4 * i)));
  }
}

function readOptions(type: number, t: Table | null): Record<string, number | boolean | number[]> {
  if (!t) return {};
  switch (type) {
    case BuiltinOptionsType.Conv2DOptions:
      return { padding: t.int8(0), strideW: t.int32(1), strideH: t.int32(2), act: t.int8(3), dilationW: t.int32(4, 1), dilationH: t.int32(5, 1) };
    case BuiltinOptionsType.DepthwiseConv2DOptions:
      return { padding: t.int8(0), strideW: t.int32(1), strideH: t.int32(2), depthMultiplier: t.int32(3), act: t.int8(4), dilationW: t.int32(5, 1), dilationH: t.int32(6, 1) };
    case BuiltinOptionsType.Pool2DOptions:
      return { padding: t.int8(0), strideW: t.int32(1), strideH: t.int32(2), filterW: t.int32(3), filterH: t.int32(4), act: t.int8(5) };
    case BuiltinOptionsType.FullyConnectedOptions:
      return { act: t.int8(0), weightsFormat: t.int8(1) };
    case BuiltinOptionsType.SoftmaxOptions:
      return { beta: t.float32(0), betaWritten: t.has(0) };
    case BuiltinOptionsType.AddOptions:
    case BuiltinOptionsType.MulOptions:
      return { act: t.int8(0) };
    case BuiltinOptionsType.ReshapeOptions:
      return { newShape: t.ints(0) };
    case BuiltinOptionsType.ReducerOptions:
      return { keepDims: t.int8(0) !== 0 };
    default:
      return {};
  }
}

/** Reads back what encodeModel writes (and the same fields of any TFLite file). */
export function decodeModel(bytes: Uint8Array): DecodedModel {
  const bb = new ByteBuffer(bytes);
  if (bytes.length < 8) throw new DecodeError(`${bytes.length} bytes is too short for a flatbuffer`);
  const identifier = String.fromCharCode(...bytes.subarray(4, 8));
  const model = new Table(bb, bb.readUint32(0));
  const codes = model.tables(1).map((c) => ({ code: Math.max(c.int8(0), c.int32(3)), version: c.int32(2, 1) }));
  const sg = model.tables(2)[0];
  if (!sg) throw new DecodeError('the model has no subgraph');
  const buffers = model.tables(4);
  const tensors = sg.tables(0).map((t) => {
    const buffer = t.int32(2);
    return { name: t.string(3), shape: t.ints(0), type: t.int8(1), buffer, data: buffer > 0 ? buffers[buffer].bytes(0) : null };
  });
  const ops = sg.tables(3).map((o) => {
    const c = codes[o.int32(0)];
    const optionsType = o.uint8(3);
    return { opcode: c.code, op: opName(c.code), version: c.version, inputs: o.ints(1), outputs: o.ints(2), optionsType, options: readOptions(optionsType, o.table(4)) };
  });
  return {
    identifier, version: model.int32(0), description: model.string(3), name: sg.string(4),
    tensors, ops, inputs: sg.ints(1), outputs: sg.ints(2), buffers: buffers.length,
  };
}

/** Float32 values of a decoded constant tensor. */
export function tensorFloats(t: DecodedTensor): Float32Array {
  if (!t.data) return new Float32Array(0);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return Float32Array.from({ length: t.data.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
}
