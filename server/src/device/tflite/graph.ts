// Arch + BN-folded weights -> a TFLite graph, op for op as the cost model (server/src/cost/model.ts)
// lists them: the exporter walks costOf(arch) and emits, for each cost-model op, the TFLite ops
// that compute it, checking every output shape against the cost model's. Conventions
// (docs/device.md#tflite-export):
// - NHWC activations, batch 1; conv weights OHWI, depthwise 1HWO, FC [out, in]; float32.
// - BatchNorm is folded into the conv before it (the worker's `export` request does the folding).
// - Padding: odd kernels pad k//2 on each side in PyTorch. TFLite SAME pads floor(total/2)
//   before, which equals k//2 for stride 1 but not always for stride > 1; where it differs an
//   explicit PAD of k//2 on all sides is emitted before a VALID conv. Even kernels use TF
//   SAME in the builder already.
// - Activations: relu and relu6 fused into the conv; swish = LOGISTIC + MUL; hswish = HARD_SWISH.
// - SE: MEAN (keep dims) -> 1x1 CONV_2D + bias, fused RELU -> 1x1 CONV_2D + bias -> LOGISTIC -> MUL.
// - Pool skip: AVERAGE_POOL_2D (kernel = stride, PyTorch ceil_mode semantics) [-> 1x1 CONV_2D] -> ADD.
// - Head: 1x1 CONV_2D + act, MEAN over H, W (avg) or MAX_POOL_2D + RESHAPE (max),
//   FULLY_CONNECTED, optional SOFTMAX (beta = 1, written explicitly).
import type { ActName } from '../../language/ast';
import type { Arch, BlockArch } from '../../language/arch';
import { costOf, seWidth, type OpCost, type Shape } from '../../cost/model';
import type { ActivationName, Graph, GraphOp, GraphTensor, OpName, OpOptions, PaddingName } from './schema';

export interface WeightTensor { shape: number[]; data: Float32Array }
/** Constants by module path ("blocks.0.1.main.weight"), as the worker's `export` returns them. */
export type Weights = Map<string, WeightTensor>;

export interface ExportOptions {
  /** Append SOFTMAX (beta 1) after the FC; default false: the output is the logits, like PyTorch. */
  softmax?: boolean;
  /** Model.description; default names the arch. */
  description?: string;
}

/** Which TFLite ops compute one op of the cost model (for reports and tests). */
export interface TraceEntry {
  /** "stem", "blocks.0.1.depthwise", "blocks.0.1.residual", "head.pool", ... */
  where: string;
  label: string;
  out: Shape;
  /** Indices into graph.ops. */
  ops: number[];
}

export class ExportError extends Error {}

const NHWC = (s: Shape): number[] => [1, s.h, s.w, s.c];
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** TF SAME padding (before) along one axis. */
function sameBefore(size: number, k: number, stride: number): number {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + k - size, 0);
  return Math.floor(total / 2);
}

/**
 * True when TFLite SAME reproduces PyTorch's symmetric k//2 padding for this input (both axes):
 * same output size (always ceil(H/s)) and the same padding before the first window.
 */
export function sameMatchesTorch(input: Shape, k: number, stride: number): boolean {
  if (k % 2 === 0) return true; // the builder pads even kernels TF-style already
  const p = Math.floor(k / 2);
  return sameBefore(input.h, k, stride) === p && sameBefore(input.w, k, stride) === p;
}

class Builder {
  readonly tensors: GraphTensor[] = [];
  readonly ops: GraphOp[] = [];
  private readonly intConsts = new Map<string, number>();
  constructor(private readonly weights: Weights) {}

  tensor(name: string, shape: number[], data?: Float32Array | Int32Array): number {
    this.tensors.push({ name, shape, type: data instanceof Int32Array ? 'int32' : 'float32', data });
    return this.tensors.length - 1;
  }

  ints(name: string, shape: number[], values: number[]): number {
    const key = `${shape.join('x')}:${values.join(',')}`;
    let t = this.intConsts.get(key);
    if (t === undefined) {
      t = this.tensor(name, shape, Int32Array.from(values));
      this.intConsts.set(key, t);
    }
    return t;
  }

  weight(name: string, shape: number[]): number {
    const w = this.weights.get(name);
    if (!w) throw new ExportError(`the weights have no tensor ${name}: they were exported for a different arch (expected every constant of this arch, in the worker's \`export\` format)`);
    if (!same(w.shape, shape)) throw new ExportError(`weight ${name} has shape [${w.shape.join(', ')}], the arch needs [${shape.join(', ')}]: the weights belong to a different arch`);
    if (w.data.length !== shape.reduce((a, b) => a * b, 1)) throw new ExportError(`weight ${name}: ${w.data.length} values for shape [${shape.join(', ')}]`);
    return this.tensor(name, shape, w.data);
  }

  op(op: OpName, inputs: number[], outName: string, outShape: number[], options: OpOptions): number {
    const out = this.tensor(outName, outShape);
    this.ops.push({ op, inputs, outputs: [out], options });
    return out;
  }
}

const FUSED: Record<ActName, ActivationName> = { relu: 'RELU', relu6: 'RELU6', swish: 'NONE', hswish: 'NONE' };

/** The activation ops not fused into the producer (swish, hswish). */
function unfusedAct(b: Builder, x: number, shape: number[], act: ActName | null, name: string): number {
  if (act === 'swish') {
    const s = b.op('LOGISTIC', [x], `${name}/sigmoid`, shape, { kind: 'none' });
    return b.op('MUL', [x, s], `${name}/swish`, shape, { kind: 'mul', act: 'NONE' });
  }
  if (act === 'hswish') return b.op('HARD_SWISH', [x], `${name}/hswish`, shape, { kind: 'none' });
  return x;
}

/** Conv (+ folded BN) (+ activation); depthwise when `depthwise`. */
function convBnAct(b: Builder, prefix: string, x: number, input: Shape, k: number, stride: number, cout: number, act: ActName | null, depthwise: boolean): { t: number; out: Shape } {
  const out: Shape = { h: Math.ceil(input.h / stride), w: Math.ceil(input.w / stride), c: cout };
  let src = x;
  let padding: PaddingName = 'SAME';
  if (!sameMatchesTorch(input, k, stride)) {
    const p = Math.floor(k / 2);
    src = b.op('PAD', [x, b.ints('paddings', [4, 2], [0, 0, p, p, p, p, 0, 0])], `${prefix}/pad`,
      [1, input.h + 2 * p, input.w + 2 * p, input.c], { kind: 'pad' });
    padding = 'VALID';
  }
  const w = b.weight(`${prefix}.weight`, depthwise ? [1, k, k, cout] : [cout, k, k, input.c]);
  const bias = b.weight(`${prefix}.bias`, [cout]);
  const fused = act ? FUSED[act] : 'NONE';
  const y = depthwise
    ? b.op('DEPTHWISE_CONV_2D', [src, w, bias], `${prefix}/out`, NHWC(out), { kind: 'depthwise', padding, strideW: stride, strideH: stride, depthMultiplier: 1, act: fused })
    : b.op('CONV_2D', [src, w, bias], `${prefix}/out`, NHWC(out), { kind: 'conv2d', padding, strideW: stride, strideH: stride, act: fused });
  return { t: unfusedAct(b, y, NHWC(out), act, prefix), out };
}

function squeezeExcite(b: Builder, prefix: string, x: number, at: Shape, r: number): number {
  const pooled = b.op('MEAN', [x, b.ints('axes_hw', [2], [1, 2])], `${prefix}/squeeze`, [1, 1, 1, at.c], { kind: 'reducer', keepDims: true });
  const reduce = b.op('CONV_2D', [pooled, b.weight(`${prefix}.reduce.weight`, [r, 1, 1, at.c]), b.weight(`${prefix}.reduce.bias`, [r])],
    `${prefix}/reduce`, [1, 1, 1, r], { kind: 'conv2d', padding: 'VALID', strideW: 1, strideH: 1, act: 'RELU' });
  const expand = b.op('CONV_2D', [reduce, b.weight(`${prefix}.expand.weight`, [at.c, 1, 1, r]), b.weight(`${prefix}.expand.bias`, [at.c])],
    `${prefix}/expand`, [1, 1, 1, at.c], { kind: 'conv2d', padding: 'VALID', strideW: 1, strideH: 1, act: 'NONE' });
  const gate = b.op('LOGISTIC', [expand], `${prefix}/gate`, [1, 1, 1, at.c], { kind: 'none' });
  return b.op('MUL', [x, gate], `${prefix}/scale`, NHWC(at), { kind: 'mul', act: 'NONE' });
}

/**
 * PyTorch AvgPool2d(s, s, ceil_mode=True): windows start at 0, the last one may be partial and
 * divides by its valid count. TFLite SAME excludes padding from the divisor too, and pads
 * floor(total/2) before: equal when that is 0 on both axes (always for s = 2). Otherwise: PAD
 * after, VALID pool (divides by s*s), MUL by s*s / valid count per output position.
 */
function avgPoolCeil(b: Builder, prefix: string, x: number, input: Shape, s: number): number {
  const out: Shape = { h: Math.ceil(input.h / s), w: Math.ceil(input.w / s), c: input.c };
  const th = out.h * s - input.h;
  const tw = out.w * s - input.w;
  if (Math.floor(th / 2) === 0 && Math.floor(tw / 2) === 0) {
    return b.op('AVERAGE_POOL_2D', [x], `${prefix}/pool`, NHWC(out), { kind: 'pool2d', padding: 'SAME', strideW: s, strideH: s, filterW: s, filterH: s, act: 'NONE' });
  }
  const padded = b.op('PAD', [x, b.ints('paddings', [4, 2], [0, 0, 0, th, 0, tw, 0, 0])], `${prefix}/pool_pad`, [1, input.h + th, input.w + tw, input.c], { kind: 'pad' });
  const pooled = b.op('AVERAGE_POOL_2D', [padded], `${prefix}/pool`, NHWC(out), { kind: 'pool2d', padding: 'VALID', strideW: s, strideH: s, filterW: s, filterH: s, act: 'NONE' });
  const fix = new Float32Array(out.h * out.w);
  for (let i = 0; i < out.h; i++) {
    for (let j = 0; j < out.w; j++) {
      const vh = Math.min(s, input.h - i * s);
      const vw = Math.min(s, input.w - j * s);
      fix[i * out.w + j] = (s * s) / (vh * vw);
    }
  }
  const factor = b.tensor(`${prefix}/pool_count_fix`, [1, out.h, out.w, 1], fix);
  return b.op('MUL', [pooled, factor], `${prefix}/pool_fixed`, NHWC(out), { kind: 'mul', act: 'NONE' });
}

function checkShape(where: string, got: Shape, cost: OpCost): void {
  if (got.h !== cost.out.h || got.w !== cost.out.w || got.c !== cost.out.c) {
    throw new ExportError(`exporter bug at ${where}: output ${got.h}x${got.w}x${got.c}, the cost model says ${cost.out.h}x${cost.out.w}x${cost.out.c}`);
  }
}

/** The head conv's activation, as the PyTorch builder chooses it (Arch.head_act). */
export function headAct(arch: Arch): ActName {
  return arch.head?.act ?? arch.blocks.at(-1)?.act ?? arch.stem?.act ?? 'relu';
}

function layerOps(b: Builder, block: BlockArch, bi: number, li: number, x: number, cost: ReturnType<typeof costOf>['blocks'][number]['layers'][number], trace: TraceEntry[]): number {
  const stride = li === 0 ? block.s : 1;
  const p = `blocks.${bi}.${li}`;
  let y = x;
  let shape = cost.in;
  const record = (where: string, c: OpCost | null, label: string, out: Shape, from: number) =>
    trace.push({ where, label: c?.label ?? label, out, ops: Array.from({ length: b.ops.length - from }, (_, i) => from + i) });
  for (const c of cost.ops) {
    const from = b.ops.length;
    switch (c.kind) {
      case 'conv':
      case 'expand':
      case 'depthwise':
      case 'project': {
        const depthwise = c.kind === 'depthwise';
        const k = c.kind === 'expand' || c.kind === 'project' ? 1 : block.k;
        const s = c.kind === 'conv' || depthwise ? stride : 1;
        const module = c.kind === 'conv' || depthwise ? 'main' : c.kind;
        const act = c.kind === 'project' ? null : block.act;
        const r = convBnAct(b, `${p}.${module}`, y, shape, k, s, c.out.c, act, depthwise);
        y = r.t;
        shape = r.out;
        break;
      }
      case 'se':
        y = squeezeExcite(b, `${p}.se`, y, shape, seWidth(cost.in.c, block.se));
        break;
      case 'shortcut':
        continue; // emitted with the residual below (it reads the layer's input)
      default:
        throw new ExportError(`exporter bug: unexpected op kind ${c.kind} in a layer`);
    }
    checkShape(`${p} ${c.label}`, shape, c);
    record(`${p}.${c.kind}`, c, '', shape, from);
  }
  if (cost.residual === 'none') return y;
  const from = b.ops.length;
  let skip = x;
  if (cost.residual === 'pool') {
    if (stride > 1) skip = avgPoolCeil(b, `${p}.shortcut`, x, cost.in, stride);
    const pooled: Shape = { h: Math.ceil(cost.in.h / stride), w: Math.ceil(cost.in.w / stride), c: cost.in.c };
    const proj = cost.ops.find((o) => o.kind === 'shortcut');
    if (proj) {
      const r = convBnAct(b, `${p}.shortcut.proj`, skip, pooled, 1, 1, proj.out.c, null, false);
      checkShape(`${p} ${proj.label}`, r.out, proj);
      skip = r.t;
    }
  }
  const out = b.op('ADD', [y, skip], `${p}/add`, NHWC(cost.out), { kind: 'add', act: 'NONE' });
  record(`${p}.residual`, null, cost.residual === 'identity' ? 'identity residual add' : 'pool shortcut add', cost.out, from);
  return out;
}

/** Builds the TFLite graph of `arch` with the given (BN-folded, TFLite-layout) weights. */
export function buildGraph(arch: Arch, weights: Weights, options: ExportOptions = {}): { graph: Graph; trace: TraceEntry[] } {
  const cost = costOf(arch);
  const b = new Builder(weights);
  const trace: TraceEntry[] = [];
  const input = b.tensor('input', NHWC(cost.input));
  let x = input;
  let shape = cost.input;
  if (arch.stem && cost.stem) {
    const r = convBnAct(b, 'stem', x, shape, arch.stem.k, arch.stem.s, arch.stem.f, arch.stem.act, false);
    checkShape('stem', r.out, cost.stem);
    trace.push({ where: 'stem', label: cost.stem.label, out: r.out, ops: b.ops.map((_, i) => i) });
    x = r.t;
    shape = r.out;
  }
  cost.blocks.forEach((bc, bi) => {
    bc.layers.forEach((lc, li) => {
      x = layerOps(b, arch.blocks[bi], bi, li, x, lc, trace);
      shape = lc.out;
    });
  });
  let isVector = false;
  for (const h of cost.head) {
    const from = b.ops.length;
    if (h.kind === 'head') {
      const r = convBnAct(b, 'head.conv', x, shape, 1, 1, h.out.c, headAct(arch), false);
      x = r.t;
      shape = r.out;
    } else if (h.kind === 'pool') {
      if (arch.head?.pool === 'max') {
        const pooled = b.op('MAX_POOL_2D', [x], 'head/pool', [1, 1, 1, shape.c], { kind: 'pool2d', padding: 'VALID', strideW: 1, strideH: 1, filterW: shape.w, filterH: shape.h, act: 'NONE' });
        x = b.op('RESHAPE', [pooled, b.ints('shape_vector', [2], [1, shape.c])], 'head/flatten', [1, shape.c], { kind: 'reshape', newShape: [1, shape.c] });
      } else {
        x = b.op('MEAN', [x, b.ints('axes_hw', [2], [1, 2])], 'head/pool', [1, shape.c], { kind: 'reducer', keepDims: false });
      }
      shape = h.out;
      isVector = true;
    } else if (h.kind === 'fc') {
      const n = h.out.c;
      x = b.op('FULLY_CONNECTED', [x, b.weight('head.fc.weight', [n, shape.c]), b.weight('head.fc.bias', [n])], 'logits', [1, n], { kind: 'fc', act: 'NONE' });
      shape = h.out;
    } else {
      throw new ExportError(`exporter bug: unexpected head op ${h.kind}`);
    }
    checkShape(`head ${h.label}`, shape, h);
    trace.push({ where: `head.${h.kind}`, label: h.label, out: shape, ops: Array.from({ length: b.ops.length - from }, (_, i) => from + i) });
  }
  if (options.softmax) {
    if (!arch.head?.classes) throw new ExportError('softmax needs a classifier: this arch has no FC layer (head.classes is not set)');
    const from = b.ops.length;
    x = b.op('SOFTMAX', [x], 'probabilities', [1, shape.c], { kind: 'softmax', beta: 1 });
    trace.push({ where: 'softmax', label: 'softmax (beta 1)', out: shape, ops: [from] });
  }
  const used = new Set<string>(b.tensors.filter((t) => t.data instanceof Float32Array && weights.has(t.name)).map((t) => t.name));
  const unused = [...weights.keys()].filter((k) => !used.has(k));
  if (unused.length) throw new ExportError(`the weights have tensors this arch does not use (${unused.slice(0, 3).join(', ')}${unused.length > 3 ? ', ...' : ''}): they belong to a different arch`);
  b.tensors[x].name = isVector || arch.head ? b.tensors[x].name : 'features';
  return {
    graph: {
      tensors: b.tensors, ops: b.ops, inputs: [input], outputs: [x], name: arch.name || 'main',
      description: options.description ?? `mnas-studio export of ${arch.name || 'a model'} (${cost.input.h}x${cost.input.w}x${cost.input.c}, float32)`,
    },
    trace,
  };
}
