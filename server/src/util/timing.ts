// Statistics of repeated timings, one definition for the whole product. Load only ever ADDS
// time, to whole stretches of runs, so a median or a trimmed mean rises with it while the minimum
// stays put (docs/device.md, "Timing protocol"). The figure every latency source reports is
// therefore a minimum: of the CPU time per inference on this host (latency/timeLoop.ts), of
// benchmark_model's runs on a phone; a measurement repeats until two interleaved halves of its
// rounds agree on it (both halves found the floor) within a bound, with a cap. Each figure
// carries its spread (p90 - p10) and says which clock and statistic it is.

export interface LatencyMeasurement {
  /** The figure, ms: `statistic` on `clock` (a minimum for every measured source). */
  ms: number;
  median: number;
  min: number;
  max: number;
  /** p90 - p10, ms: the spread reported with every figure. */
  spread: number;
  repeats: number;
  /** What measured it: "local tflite xnnpack (wasm simd, 1 thread), cpu min". */
  source: string;
  /** Which clock and statistic `ms` is (absent on old records: a trimmed mean of wall time). */
  clock?: Clock;
  statistic?: Statistic;
  /** Local timing: the minimum on each clock, ms, and the split-half disagreement of the figure, %. */
  cpuMs?: number;
  wallMs?: number;
  splitHalfPct?: number;
  /** Whether the repeats stopped because the halves agreed (false: at the cap). */
  stable?: boolean;
}

/** Trimmed mean: `cut` of the samples dropped at each end (default 10%). */
export function trimmedMean(samples: readonly number[], cut = 0.1): number {
  const s = [...samples].sort((a, b) => a - b);
  const k = Math.floor(s.length * cut);
  const kept = s.slice(k, s.length - k);
  return kept.reduce((a, v) => a + v, 0) / Math.max(1, kept.length);
}

/** Which clock a figure is on: wall time of the inference, or this process's CPU time. */
export type Clock = 'wall' | 'cpu';

/** How a figure is taken from its samples. */
export type Statistic = 'min' | 'median' | 'trimmed-mean';

/** The statistic a search, calibration and `mnas bench` use. */
export const FIGURE_STATISTIC: Statistic = 'min';

/** Linear-interpolated quantile of ascending values. */
export function quantile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const x = (n - 1) * p;
  const lo = Math.floor(x);
  return sorted[lo] + (sorted[Math.min(n - 1, lo + 1)] - sorted[lo]) * (x - lo);
}

export function statisticOf(samples: readonly number[], statistic: Statistic): number {
  if (samples.length === 0) return NaN;
  if (statistic === 'min') {
    // A loop, not Math.min(...samples): a microsecond-sized unit gives hundreds of thousands of
    // runs, more arguments than the call stack holds (mnas calibrate died on one).
    let m = Infinity;
    for (const x of samples) if (x < m) m = x;
    return m;
  }
  if (statistic === 'median') return quantile([...samples].sort((a, b) => a - b), 0.5);
  return trimmedMean(samples);
}

/**
 * Split-half disagreement of the statistic, in % of it: rounds alternate between two halves
 * (even, odd), each half's statistic over its samples, |a - b| / min(a, b). Small when both halves
 * reached the same figure; interleaving makes a slow stretch of time land in both halves.
 */
export function splitHalfPct(rounds: readonly (readonly number[])[], statistic: Statistic = FIGURE_STATISTIC): number {
  if (rounds.length < 2) return Infinity;
  const a = rounds.filter((_, i) => i % 2 === 0).flat();
  const b = rounds.filter((_, i) => i % 2 === 1).flat();
  const sa = statisticOf(a, statistic);
  const sb = statisticOf(b, statistic);
  return (100 * Math.abs(sa - sb)) / Math.min(sa, sb);
}

/** Summary of samples (ms): the figure, the usual order statistics, spread = p90 - p10. */
export interface SampleSummary {
  ms: number;
  median: number;
  min: number;
  max: number;
  p10: number;
  p90: number;
  spread: number;
  trimmedMean: number;
}

export function summarizeSamples(samples: readonly number[], statistic: Statistic = FIGURE_STATISTIC): SampleSummary {
  if (samples.length === 0) throw new Error('no samples to summarize');
  const o = [...samples].sort((a, b) => a - b);
  const p10 = quantile(o, 0.1);
  const p90 = quantile(o, 0.9);
  return {
    ms: statisticOf(o, statistic), median: quantile(o, 0.5), min: o[0], max: o[o.length - 1], p10, p90,
    spread: p90 - p10, trimmedMean: trimmedMean(o),
  };
}

/** When a measurement has repeated enough. */
export interface StopRule {
  /** Agreement of the split halves, % (default 1). */
  boundPct: number;
  minRounds: number;
  maxRounds: number;
}

export const DEFAULT_STOP: StopRule = { boundPct: 1, minRounds: 10, maxRounds: 200 };

/** 'more' until the halves agree within the bound (after minRounds); 'capped' at maxRounds. */
export function stopState(rounds: readonly (readonly number[])[], rule: StopRule = DEFAULT_STOP, statistic: Statistic = FIGURE_STATISTIC): 'stable' | 'more' | 'capped' {
  if (rounds.length < rule.minRounds) return 'more';
  if (splitHalfPct(rounds, statistic) <= rule.boundPct) return 'stable';
  return rounds.length >= rule.maxRounds ? 'capped' : 'more';
}

/** Summary of round or run values (a phone's benchmark_model rounds): the figure is their minimum. */
export type Summary = Omit<SampleSummary, 'trimmedMean'>;

export function summarizeMs(values: number[]): Summary {
  const { trimmedMean: _t, ...s } = summarizeSamples(values);
  return s;
}
