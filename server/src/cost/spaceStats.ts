// Statistics of a whole search space without enumerating it: a dynamic program over the
// blocks whose state is the feature-map shape a block hands to the next. Min and max are
// exact; the mean is exact up to floating-point summation.
import { blockArch, toArch, type BlockSpec } from '../language/arch';
import { type BlockChoices, type ResolvedSpace, blockChoiceCount, decisions, factorFilters, log10, sample, spaceSize } from '../language/space';
import { blockCost, costOf, type Shape } from './model';

export interface Range { min: number; max: number; mean: number }

export interface SpaceStats {
  name: string;
  /** False when the space was too wide to enumerate per block: ranges come from samples. */
  exact: boolean;
  size: bigint;
  log10Size: number;
  params: Range;
  multAdds: Range;
  blocks: { name: string; choices: bigint; open: string[] }[];
}

interface Acc { pMin: number; pMax: number; mMin: number; mMax: number; pSum: number; mSum: number; count: number }

/** Every concrete block a block's choices allow (activation choices folded into a weight). */
function* blockVariants(base: BlockSpec, c: BlockChoices): Generator<{ block: BlockSpec; weight: number }> {
  const weight = c.act?.length ?? 1;
  for (const op of c.op ?? [base.op]) {
    const es = op === 'mbconv' ? c.e ?? [base.op === 'mbconv' ? base.e : 6] : [1];
    for (const e of es) for (const k of c.k ?? [base.k]) for (const s of c.s ?? [base.s])
      for (const se of c.se ?? [base.se]) for (const skip of c.skip ?? [base.skip])
        for (const f of c.f ? c.f.map((v) => factorFilters(base.f, v)) : [base.f])
          for (const x of c.x ? c.x.map((d) => base.x + d) : [base.x]) {
            yield { block: { ...base, op, e, k, s, se, skip, f, x }, weight };
          }
  }
}

/** Above this many concrete variants in one block, statistics are sampled instead. */
export const MAX_EXACT_VARIANTS = 20_000;
const SAMPLES = 2000;

function variantCount(base: BlockSpec, c: BlockChoices): number {
  const ops = c.op ?? [base.op];
  let n = ops.reduce((a, op) => a + (op === 'mbconv' ? c.e?.length ?? 1 : 1), 0);
  for (const f of ['k', 's', 'se', 'skip', 'f', 'x'] as const) n *= c[f]?.length ?? 1;
  return n;
}

export function spaceStats(space: ResolvedSpace): SpaceStats {
  const sk = space.skeleton;
  if (space.blocks.some((b, i) => variantCount(sk.blocks[i], b.choices) > MAX_EXACT_VARIANTS)) return sampledStats(space);
  const arch = toArch({ ...sk, blocks: [] });
  const base = costOf(arch); // stem only (no blocks), head computed per final state below
  const stemP = base.stem?.params ?? 0;
  const stemM = base.stem?.multAdds ?? 0;
  const start: Shape = base.stem?.out ?? { ...sk.input };
  let states = new Map<string, { shape: Shape; acc: Acc }>([
    [key(start), { shape: start, acc: { pMin: stemP, pMax: stemP, mMin: stemM, mMax: stemM, pSum: stemP, mSum: stemM, count: 1 } }],
  ]);
  space.blocks.forEach((bc, i) => {
    const next = new Map<string, { shape: Shape; acc: Acc }>();
    const variants = [...blockVariants(sk.blocks[i], bc.choices)];
    for (const { shape, acc } of states.values()) {
      for (const { block, weight } of variants) {
        const c = blockCost(blockArch(block, sk), shape);
        merge(next, c.out, acc, c.params, c.multAdds, weight);
      }
    }
    states = next;
  });
  const total: Acc = { pMin: Infinity, pMax: -Infinity, mMin: Infinity, mMax: -Infinity, pSum: 0, mSum: 0, count: 0 };
  for (const { shape, acc } of states.values()) {
    const head = headCost(space, shape);
    total.pMin = Math.min(total.pMin, acc.pMin + head.params);
    total.pMax = Math.max(total.pMax, acc.pMax + head.params);
    total.mMin = Math.min(total.mMin, acc.mMin + head.multAdds);
    total.mMax = Math.max(total.mMax, acc.mMax + head.multAdds);
    total.pSum += acc.pSum + head.params * acc.count;
    total.mSum += acc.mSum + head.multAdds * acc.count;
    total.count += acc.count;
  }
  const size = spaceSize(space);
  return {
    name: space.name,
    exact: true,
    size,
    log10Size: log10(size),
    params: { min: total.pMin, max: total.pMax, mean: total.pSum / total.count },
    multAdds: { min: total.mMin, max: total.mMax, mean: total.mSum / total.count },
    blocks: space.blocks.map((b, i) => ({
      name: b.name,
      choices: blockChoiceCount(b.choices, sk.blocks[i].op),
      open: Object.entries(b.choices).filter(([, v]) => (v as unknown[]).length > 1).map(([k]) => k),
    })),
  };
}

/** Min/max/mean over a fixed-seed sample of the space (for spaces too wide to enumerate). */
function sampledStats(space: ResolvedSpace): SpaceStats {
  const ds = decisions(space);
  let state = 0x9e3779b9;
  const rand = (n: number) => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state % n;
  };
  const p: number[] = [];
  const m: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const c = costOf(toArch(sample(space, ds.map((d) => rand(d.options)))));
    p.push(c.params);
    m.push(c.multAdds);
  }
  const range = (v: number[]): Range => ({ min: Math.min(...v), max: Math.max(...v), mean: v.reduce((a, b) => a + b, 0) / v.length });
  const size = spaceSize(space);
  return {
    name: space.name, exact: false, size, log10Size: log10(size), params: range(p), multAdds: range(m),
    blocks: space.blocks.map((b, i) => ({
      name: b.name, choices: blockChoiceCount(b.choices, space.skeleton.blocks[i].op),
      open: Object.entries(b.choices).filter(([, v]) => (v as unknown[]).length > 1).map(([k]) => k),
    })),
  };
}

function key(s: Shape): string {
  return `${s.h}x${s.w}x${s.c}`;
}

function merge(into: Map<string, { shape: Shape; acc: Acc }>, shape: Shape, prev: Acc, p: number, m: number, weight: number): void {
  const k = key(shape);
  let e = into.get(k);
  if (!e) {
    e = { shape, acc: { pMin: Infinity, pMax: -Infinity, mMin: Infinity, mMax: -Infinity, pSum: 0, mSum: 0, count: 0 } };
    into.set(k, e);
  }
  const a = e.acc;
  a.pMin = Math.min(a.pMin, prev.pMin + p);
  a.pMax = Math.max(a.pMax, prev.pMax + p);
  a.mMin = Math.min(a.mMin, prev.mMin + m);
  a.mMax = Math.max(a.mMax, prev.mMax + m);
  a.pSum += (prev.pSum + p * prev.count) * weight;
  a.mSum += (prev.mSum + m * prev.count) * weight;
  a.count += prev.count * weight;
}

/** Head cost on a given final feature map. */
function headCost(space: ResolvedSpace, shape: Shape): { params: number; multAdds: number } {
  const sk = space.skeleton;
  if (!sk.head) return { params: 0, multAdds: 0 };
  const c = costOf({ name: '', input: shape, stem: null, blocks: [], head: sk.head });
  return { params: c.params, multAdds: c.multAdds };
}
