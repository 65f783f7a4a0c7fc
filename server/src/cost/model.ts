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
    kind: 'depthwise', label: `${k}x${k} depthwise${stride > 1 ? `, s${stride}` : ''}`, in: input, out,
    params: k * k * input.c + bn(input.c), multAdds: k * k * input.c * out.h * out.w,
  };
}
/** Squeeze-and-excitation on `at` channels with inner width r (two 1x1 convs with bias). */
function se(at: Shape, r: number): OpCost {
  const c = at.c;
  return { kind: 'se', label: `SE ${c}->${r}->${c}`, in: at, out: at, params: c * r + r + r * c + c, multAdds: c * r + r * c };
}

/** SE inner width: from the layer's input filters, not its expanded width (TF MnasNet). */
export function seWidth(inputFilters: number, ratio: number): number {
  return Math.max(1, Math.floor(inputFilters * ratio));
}

export function layerCost(block: BlockArch, index: number, input: Shape): LayerCost {
  const stride = index === 0 ? block.s : 1;
  const ops: OpCost[] = [];
  let x = input;
  const push = (op: OpCost) => { ops.push(op); x = op.out; };
  const kk = `${block.k}x${block.k}`;
  const sTxt = stride > 1 ? `, s${stride}` : '';
  if (block.op === 'conv') {
    push(conv('conv', `${kk} conv${sTxt}`, x, block.k, stride, block.f));
    if (block.se > 0) push(se(x, seWidth(input.c, block.se)));
  } else {
    if (block.op === 'mbconv' && block.e !== 1) {
      const expanded = Math.round(input.c * block.e);
      push(conv('expand', `1x1 expand x${block.e}`, x, 1, 1, expanded));
    }
    push(depthwise(x, block.k, stride));
    if (block.se > 0) push(se(x, seWidth(input.c, block.se)));
    push(conv('project', block.op === 'sepconv' ? '1x1 pointwise' : '1x1 project', x, 1, 1, block.f));
  }
  const out = x;
  const sameShape = input.h === out.h && input.w === out.w && input.c === out.c;
  let residual: LayerCost['residual'] = 'none';
  if (block.skip !== 'none' && sameShape) residual = 'identity';
  else if (block.skip === 'pool') {
    residual = 'pool';
    // Pooled shortcut: average pooling with the layer's stride (not counted), and a 1x1
    // projection conv + BN when the channel count changes.
    if (input.c !== out.c) {
      const pooled = outShape(input, stride, input.c);
      ops.push(conv('shortcut', `pool shortcut${sTxt}, 1x1 ${input.c}->${out.c}`, pooled, 1, 1, out.c));
    }
  }
  return {
    index, in: input, out, residual, ops,
    params: ops.reduce((a, o) => a + o.params, 0),
    multAdds: ops.reduce((a, o) => a + o.multAdds, 0),
  };
}

export function blockCost(block: BlockArch, input: Shape): BlockCost {
  const layers: LayerCost[] = [];
  let x = input;
  for (let i = 0; i < block.x; i++) {
    const l = layerCost(block, i, x);
    layers.push(l);
    x = l.out;
  }
  return {
    name: block.name, in: input, out: x, layers,
    params: layers.reduce((a, l) => a + l.params, 0),
    multAdds: layers.reduce((a, l) => a + l.multAdds, 0),
  };
}

export function costOf(arch: Arch): ModelCost {
  const input: Shape = { ...arch.input };
  let x = input;
  let stem: OpCost | null = null;
  if (arch.stem) {
    stem = conv('stem', `${arch.stem.k}x${arch.stem.k} conv${arch.stem.s > 1 ? `, s${arch.stem.s}` : ''}`, x, arch.stem.k, arch.stem.s, arch.stem.f);
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
  const params = (stem?.params ?? 0) + blocks.reduce((a, b) => a + b.params, 0) + head.reduce((a, o) => a + o.params, 0);
  const multAdds = (stem?.multAdds ?? 0) + blocks.reduce((a, b) => a + b.multAdds, 0) + head.reduce((a, o) => a + o.multAdds, 0);
  return { name: arch.name, input, output: x, stem, blocks, head, params, multAdds };
}
