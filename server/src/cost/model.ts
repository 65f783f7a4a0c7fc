// The cost model: output shapes, exact trainable params and mult-adds, per op, layer, block
// and model. The one place for these numbers: hover, code lens, CLI, search and export all
// call `costOf`. Conventions reproduce the tensorflow/tpu MnasNet code and torchvision:
// 'same' padding (ceil(H/s)); BN adds gamma+beta; convs followed by BN have no bias; SE
// convs and the FC have biases; mult-adds count convs, SE convs and the FC only.
import type { Arch, BlockArch } from '../language/arch';

export interface Shape { h: number; w: number; c: number }

export type OpKind = 'stem' | 'conv' | 'expand' | 'depthwise' | 'se' | 'project' | 'shortcut' | 'head' | 'pool' | 'fc';

export interface OpCost {
  kind: OpKind;
  /** A short description: "3x3 depthwise, s2". */
  label: string;
  in: Shape;
  out: Shape;
  params: number;
  multAdds: number;
}

export interface LayerCost {
  /** 0-based repeat index inside its block. */
  index: number;
  in: Shape;
  out: Shape;
  /** How the residual is made: none, identity add, or pooled (and projected) shortcut. */
  residual: 'none' | 'identity' | 'pool';
  ops: OpCost[];
  params: number;
  multAdds: number;
}

export interface BlockCost {
  name: string;
  in: Shape;
  out: Shape;
  layers: LayerCost[];
  params: number;
  multAdds: number;
}

export interface ModelCost {
  name: string;
  input: Shape;
  output: Shape;
  stem: OpCost | null;
  blocks: BlockCost[];
  head: OpCost[];
  params: number;
  multAdds: number;
  /**
   * Latency estimate for the selected device profile, filled by the latency predictor
   * (device issue); the cost model itself leaves it undefined.
   */
  latencyMs?: number;
}

const bn = (c: number) => 2 * c;
const outShape = (s: Shape, stride: number, c: number): Shape => ({
  h: Math.ceil(s.h / stride), w: Math.ceil(s.w / stride), c,
});

function conv(kind: OpKind, label: string, input: Shape, k: number, stride: number, cout: number): OpCost {
  const out = outShape(input, stride, cout);
  return { kind, label, in: input, out, params: k * k * input.c * cout + bn(cout), multAdds: k * k * input.c * cout * out.h * out.w };
}
function depthwise(input: Shape, k: number, stride: number): OpCost {
  const out = outShape(input, stride, input.c);
  return {
    kind: 'depthwise', label: kernelLabel('depthwise', k, stride), in: input, out,
    params: k * k * input.c + bn(input.c), multAdds: k * k * input.c * out.h * out.w,
  };
}
/** Squeeze-and-excitation on `at` channels with inner width r (two 1x1 convs with bias). */
function se(at: Shape, r: number): OpCost {
  const c = at.c;
  return { kind: 'se', label: seLabel(c, r), in: at, out: at, params: c * r + r + r * c + c, multAdds: c * r + r * c };
}

/**
 * Op labels by their parameters, each text built once: every op of every cost has a label, and
 * the ops of a model, a file or a search repeat a few ("3x3 depthwise, s2"). With the closures
 * and growable arrays gone too, layerCost allocates a third less (4.9 -> 3.2 MB for the 5,000-line
 * file). Small whole parameters make a numeric key (-1: none, built each time).
 */
const labels = new Map<number, string>();
const LABELS_KEPT = 4096;
const small = (n: number, below: number) => Number.isInteger(n) && n >= 0 && n < below;
function kept(key: number, text: string): string {
  if (key >= 0) {
    if (labels.size >= LABELS_KEPT) labels.clear();
    labels.set(key, text);
  }
  return text;
}
/** "3x3 conv", "5x5 depthwise, s2". */
function kernelLabel(what: 'conv' | 'depthwise', k: number, stride: number): string {
  const key = small(k, 1024) && small(stride, 1024) ? (what === 'conv' ? 1 : 2) * 2 ** 20 + k * 1024 + stride : -1;
  return labels.get(key) ?? kept(key, `${k}x${k} ${what}${stride > 1 ? `, s${stride}` : ''}`);
}
/** "1x1 expand x6" (e in eighths). */
function expandLabel(e: number): string {
  const key = small(e * 8, 2 ** 16) ? 3 * 2 ** 20 + e * 8 : -1;
  return labels.get(key) ?? kept(key, `1x1 expand x${e}`);
}
/** "SE 72->6->72". */
function seLabel(c: number, r: number): string {
  const key = small(c, 2 ** 22) && small(r, 2 ** 22) ? 2 ** 50 + c * 2 ** 22 + r : -1;
  return labels.get(key) ?? kept(key, `SE ${c}->${r}->${c}`);
}

/** SE inner width: from the layer's input filters, not its expanded width (TF MnasNet). */
export function seWidth(inputFilters: number, ratio: number): number {
  return Math.max(1, Math.floor(inputFilters * ratio));
}

/**
 * The ops of one layer, in order. Written for the allocation it makes: the hot loop of every
 * analysis (each layer of each model) and of each sampled child, so no closures and exact arrays.
 */
export function layerCost(block: BlockArch, index: number, input: Shape): LayerCost {
  const stride = index === 0 ? block.s : 1;
  let ops: OpCost[];
  if (block.op === 'conv') {
    const c = conv('conv', kernelLabel('conv', block.k, stride), input, block.k, stride, block.f);
    ops = block.se > 0 ? [c, se(c.out, seWidth(input.c, block.se))] : [c];
  } else {
    const expand = block.op === 'mbconv' && block.e !== 1
      ? conv('expand', expandLabel(block.e), input, 1, 1, Math.round(input.c * block.e)) : undefined;
    const dw = depthwise(expand ? expand.out : input, block.k, stride);
    const excite = block.se > 0 ? se(dw.out, seWidth(input.c, block.se)) : undefined;
    const project = conv('project', block.op === 'sepconv' ? '1x1 pointwise' : '1x1 project', dw.out, 1, 1, block.f);
    if (expand) ops = excite ? [expand, dw, excite, project] : [expand, dw, project];
    else ops = excite ? [dw, excite, project] : [dw, project];
  }
  const out = ops[ops.length - 1].out;
  const sameShape = input.h === out.h && input.w === out.w && input.c === out.c;
  let residual: LayerCost['residual'] = 'none';
  if (block.skip !== 'none' && sameShape) residual = 'identity';
  else if (block.skip === 'pool') {
    residual = 'pool';
    // Pooled shortcut: average pooling with the layer's stride (not counted), and a 1x1
    // projection conv + BN when the channel count changes.
    if (input.c !== out.c) {
      const pooled = outShape(input, stride, input.c);
      ops.push(conv('shortcut', `pool shortcut${stride > 1 ? `, s${stride}` : ''}, 1x1 ${input.c}->${out.c}`, pooled, 1, 1, out.c));
    }
  }
  let params = 0;
  let multAdds = 0;
  for (const o of ops) { params += o.params; multAdds += o.multAdds; }
  return { index, in: input, out, residual, ops, params, multAdds };
}

export function blockCost(block: BlockArch, input: Shape): BlockCost {
  const layers: LayerCost[] = [];
  let x = input;
  let params = 0;
  let multAdds = 0;
  for (let i = 0; i < block.x; i++) {
    const l = layerCost(block, i, x);
    layers.push(l);
    x = l.out;
    params += l.params;
    multAdds += l.multAdds;
  }
  return { name: block.name, in: input, out: x, layers, params, multAdds };
}

export function costOf(arch: Arch): ModelCost {
  const input: Shape = { ...arch.input };
  let x = input;
  let stem: OpCost | null = null;
  if (arch.stem) {
    stem = conv('stem', kernelLabel('conv', arch.stem.k, arch.stem.s), x, arch.stem.k, arch.stem.s, arch.stem.f);
    x = stem.out;
  }
  const blocks: BlockCost[] = [];
  for (const b of arch.blocks) {
    const c = blockCost(b, x);
    blocks.push(c);
    x = c.out;
  }
  const head: OpCost[] = [];
  if (arch.head) {
    if (arch.head.f !== null) {
      const h = conv('head', `1x1 conv ${arch.head.f}`, x, 1, 1, arch.head.f);
      head.push(h);
      x = h.out;
    }
    const pooled: Shape = { h: 1, w: 1, c: x.c };
    head.push({ kind: 'pool', label: `global ${arch.head.pool} pool`, in: x, out: pooled, params: 0, multAdds: 0 });
    x = pooled;
    if (arch.head.classes !== null) {
      const n = arch.head.classes;
      const fc: OpCost = { kind: 'fc', label: `FC ${x.c}->${n}`, in: x, out: { h: 1, w: 1, c: n }, params: x.c * n + n, multAdds: x.c * n };
      head.push(fc);
      x = fc.out;
    }
  }
  // Summed as before (stem + blocks + head, each group from 0): past 2^53 the order rounds.
  let blockParams = 0, blockMultAdds = 0, headParams = 0, headMultAdds = 0;
  for (const b of blocks) { blockParams += b.params; blockMultAdds += b.multAdds; }
  for (const o of head) { headParams += o.params; headMultAdds += o.multAdds; }
  const params = (stem?.params ?? 0) + blockParams + headParams;
  const multAdds = (stem?.multAdds ?? 0) + blockMultAdds + headMultAdds;
  return { name: arch.name, input, output: x, stem, blocks, head, params, multAdds };
}
