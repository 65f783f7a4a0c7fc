// Layer keys for the latency lookup table, ProxylessNAS-style: one key per distinct
// (op, input shape, output filters, kernel, stride, expansion, SE, residual, activation), plus
// the stem conv and the head (1x1 conv + pool + FC) as units of their own. A key names exactly
// what a one-layer network must contain to measure it, so calibration can rebuild it
// (`unitArch`), and carries the cost-model features the fallback fit uses for unseen keys.
import type { ActName } from '../../language/ast';
import type { Arch, BlockArch, HeadSpec } from '../../language/arch';
import type { LayerCost, ModelCost, OpCost, Shape } from '../model';

/** Op kinds with a fallback fit of their own. */
export const UNIT_KINDS = ['stem', 'conv', 'sepconv', 'mbconv', 'head'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

/**
 * Features of a unit, from the cost model (no measurement): the fallback model is linear in
 * them. Mult-adds split into dense (regular and 1x1 convs, FC) and depthwise, since phones and
 * CPUs run them at very different rates; `act` counts the elements each op reads and writes.
 */
export const FEATURES = ['one', 'denseMAdds', 'dwMAdds', 'params', 'act', 'ops'] as const;
export type FeatureName = (typeof FEATURES)[number];

export interface Unit {
  kind: UnitKind;
  key: string;
  /** Feature values in FEATURES order (mult-adds, params and activations in millions). */
  x: number[];
}

const shp = (s: Shape) => `${s.h}x${s.w}x${s.c}`;
const elems = (s: Shape) => s.h * s.w * s.c;

function features(ops: OpCost[], residual: LayerCost['residual'] | 'n/a', input: Shape, output: Shape): number[] {
  let dense = 0;
  let dw = 0;
  let params = 0;
  let act = 0;
  let n = 0;
  for (const o of ops) {
    if (o.kind === 'depthwise') dw += o.multAdds;
    else dense += o.multAdds;
    params += o.params;
    act += elems(o.in) + elems(o.out);
    n++;
  }
  // An add reads two maps and writes one; a pooled shortcut's pooling is not in `ops`.
  if (residual === 'identity' || residual === 'pool') { act += 3 * elems(output); n++; }
  if (residual === 'pool' && (input.h !== output.h || input.w !== output.w)) { act += elems(input) + elems(output); n++; }
  return [1, dense / 1e6, dw / 1e6, params / 1e6, act / 1e6, n];
}

/** The key of one layer of `block` (`index` is its repeat index; only the first is strided). */
export function layerKey(block: BlockArch, layer: LayerCost): string {
  const stride = layer.index === 0 ? block.s : 1;
  const e = block.op === 'mbconv' ? `e${block.e}` : 'e1';
  return `${block.op}|${shp(layer.in)}|f${layer.out.c}|k${block.k}|s${stride}|${e}|se${block.se}|${layer.residual}|${block.act}`;
}

export function layerUnit(block: BlockArch, layer: LayerCost): Unit {
  return { kind: block.op, key: layerKey(block, layer), x: features(layer.ops, layer.residual, layer.in, layer.out) };
}

export function stemUnit(arch: Arch, stem: OpCost): Unit {
  const s = arch.stem!;
  return { kind: 'stem', key: `stem|${shp(stem.in)}|f${s.f}|k${s.k}|s${s.s}|${s.act}`, x: features([stem], 'n/a', stem.in, stem.out) };
}

export function headUnit(arch: Arch, head: OpCost[]): Unit {
  const h = arch.head!;
  const input = head[0].in;
  return {
    kind: 'head',
    key: `head|${shp(input)}|f${h.f ?? 'none'}|${h.pool}|c${h.classes ?? 'none'}|${h.act ?? 'relu'}`,
    x: features(head, 'n/a', input, head[head.length - 1].out),
  };
}

/** Where a unit sits in the model: the stem, a layer of block `block`, or the head. */
export interface PlacedUnit extends Unit { block: number | 'stem' | 'head'; index: number }

/** Every unit of a model, in order. `cost` must be costOf(arch). */
export function unitsOf(arch: Arch, cost: ModelCost): PlacedUnit[] {
  const out: PlacedUnit[] = [];
  if (cost.stem && arch.stem) out.push({ ...stemUnit(arch, cost.stem), block: 'stem', index: 0 });
  cost.blocks.forEach((b, i) => {
    for (const l of b.layers) out.push({ ...layerUnit(arch.blocks[i], l), block: i, index: l.index });
  });
  if (arch.head && cost.head.length) out.push({ ...headUnit(arch, cost.head), block: 'head', index: 0 });
  return out;
}

/**
 * The one-unit network that measures `key`: the layer alone (its effective residual written as
 * the skip that produces it), the stem conv alone, or the head alone on its input map.
 */
export function unitArch(key: string): Arch {
  const p = key.split('|');
  const shape = (s: string): Shape => {
    const [h, w, c] = s.split('x').map(Number);
    return { h, w, c };
  };
  const num = (s: string, prefix: string) => Number(s.slice(prefix.length));
  if (p[0] === 'stem') {
    return { name: 'unit', input: shape(p[1]), stem: { f: num(p[2], 'f'), k: num(p[3], 'k'), s: num(p[4], 's'), act: p[5] as ActName }, blocks: [], head: null };
  }
  if (p[0] === 'head') {
    const head: HeadSpec = {
      f: p[2] === 'fnone' ? null : num(p[2], 'f'), pool: p[3] as HeadSpec['pool'],
      classes: p[4] === 'cnone' ? null : num(p[4], 'c'), dropout: 0, act: p[5] as ActName,
    };
    return { name: 'unit', input: shape(p[1]), stem: null, blocks: [], head };
  }
  const [op, inS, f, k, s, e, se, residual, act] = p;
  const block: BlockArch = {
    name: 'u', op: op as BlockArch['op'], e: num(e, 'e'), k: num(k, 'k'), s: num(s, 's'), f: num(f, 'f'), x: 1,
    se: num(se, 'se'), skip: residual === 'identity' ? 'identity' : residual === 'pool' ? 'pool' : 'none', act: act as ActName,
  };
  return { name: 'unit', input: shape(inS), stem: null, blocks: [block], head: null };
}
