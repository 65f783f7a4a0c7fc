// The latency predictor: a model's latency on a device profile as the sum of its units
// (stem, each layer, head), each from the profile's lookup table when measured, else from the
// fitted fallback, then the profile's whole-model correction. Pure (no I/O) and cheap: one
// string key and one Map lookup per layer.
import type { Arch } from '../../language/arch';
import { costOf, type ModelCost } from '../model';
import { dot } from './fit';
import { type PlacedUnit, unitsOf } from './keys';
import type { CompiledProfile } from './profile';

export interface LayerEstimate {
  block: number | 'stem' | 'head';
  index: number;
  key: string;
  ms: number;
  from: 'table' | 'fallback';
}

export interface LatencyEstimate {
  profile: string;
  approximate: boolean;
  /** Predicted end-to-end latency, ms. */
  ms: number;
  /** Per block of the model (scaled like the total; the fixed overhead is not in any block). */
  perBlock: number[];
  stemMs: number;
  headMs: number;
  /** The profile's fixed per-model overhead, ms. */
  overheadMs: number;
  perLayer: LayerEstimate[];
  /** Share of units (0..1) found in the lookup table; the rest come from the fallback fit. */
  coverage: number;
  /** Uncertainty of `ms`, ± percent. */
  uncertaintyPct: number;
}

type UnitLike = PlacedUnit | { kind: PlacedUnit['kind']; key: string; x: number[] };

/** The fallback fit's (unscaled) milliseconds for a unit, whether or not the table has it. */
export const fallbackMs = (p: CompiledProfile, u: UnitLike): number => Math.max(0, dot(p.coef[u.kind], u.x));

/** Raw (unscaled) milliseconds of one unit and where they came from. */
export function unitMs(p: CompiledProfile, u: UnitLike): { ms: number; from: 'table' | 'fallback'; spread: number; n: number } {
  const t = p.table.get(u.key);
  if (t) return { ms: t.ms, from: 'table', spread: t.spread, n: t.n };
  return { ms: fallbackMs(p, u), from: 'fallback', spread: 0, n: 0 };
}

/** The two sums the whole-model correction weighs (fit.ts, fitWholeModel): units as looked up, and every unit's fallback. */
export function unitSums(p: CompiledProfile, arch: Arch, cost: ModelCost = costOf(arch)): { units: number; fallback: number } {
  let units = 0;
  let fallback = 0;
  for (const u of unitsOf(arch, cost)) { units += unitMs(p, u).ms; fallback += fallbackMs(p, u); }
  return { units, fallback };
}

export function estimate(p: CompiledProfile, arch: Arch, cost: ModelCost = costOf(arch)): LatencyEstimate {
  const { scale, ms: overheadMs, fitScale = 0 } = p.profile.overhead;
  const units = unitsOf(arch, cost);
  const perBlock = new Array<number>(arch.blocks.length).fill(0);
  const perLayer: LayerEstimate[] = [];
  let stemMs = 0;
  let headMs = 0;
  let hits = 0;
  let fallbackAbs = 0;
  let noiseVar = 0;
  for (const u of units) {
    const r = unitMs(p, u);
    const ms = scale * r.ms + (fitScale ? fitScale * fallbackMs(p, u) : 0);
    if (r.from === 'table') {
      hits++;
      // Standard error of a trimmed mean, from the p10-p90 spread (about 2.56 sigma).
      const sigma = scale * r.spread / 2.56;
      noiseVar += (sigma * sigma) / Math.max(1, r.n);
    } else {
      fallbackAbs += ms * p.relErr[u.kind];
    }
    perLayer.push({ block: u.block, index: u.index, key: u.key, ms, from: r.from });
    if (u.block === 'stem') stemMs += ms;
    else if (u.block === 'head') headMs += ms;
    else perBlock[u.block] += ms;
  }
  const total = overheadMs + stemMs + headMs + perBlock.reduce((a, b) => a + b, 0);
  const modelRel = p.profile.accuracy.rmsePct / 100;
  const rel = total > 0 ? Math.sqrt(modelRel * modelRel + (fallbackAbs / total) ** 2 + noiseVar / (total * total)) : 0;
  return {
    profile: p.profile.name,
    approximate: p.profile.approximate,
    ms: total,
    perBlock,
    stemMs,
    headMs,
    overheadMs,
    perLayer,
    coverage: units.length ? hits / units.length : 1,
    uncertaintyPct: 100 * rel,
  };
}
