// Statistics of repeated timings, one definition for the whole product: the trimmed mean (10%
// cut at each end) and the spread (p90 - p10) that every latency figure carries, whether it comes
// from a phone, TFLite on this host, PyTorch or a profile.

export interface LatencyMeasurement {
  /** Trimmed mean (10% cut at each end), ms. */
  ms: number;
  median: number;
  min: number;
  max: number;
  /** p90 - p10, ms: the spread reported with every figure. */
  spread: number;
  repeats: number;
  /** What measured it: "local torch 1.13.0 cpu, 1 thread". */
  source: string;
}

/** Trimmed mean: `cut` of the samples dropped at each end (default 10%). */
export function trimmedMean(samples: readonly number[], cut = 0.1): number {
  const s = [...samples].sort((a, b) => a - b);
  const k = Math.floor(s.length * cut);
  const kept = s.slice(k, s.length - k);
  return kept.reduce((a, v) => a + v, 0) / Math.max(1, kept.length);
}

/** Summary of round or run averages (a phone's benchmark_model rounds). */
export interface Summary { ms: number; median: number; min: number; max: number; p10: number; p90: number; spread: number }

export function summarizeMs(values: number[]): Summary {
  if (values.length === 0) throw new Error('no measurements to summarize');
  const o = [...values].sort((a, b) => a - b);
  const n = o.length;
  const q = (p: number) => {
    const x = (n - 1) * p;
    const lo = Math.floor(x);
    return o[lo] + (o[Math.min(n - 1, lo + 1)] - o[lo]) * (x - lo);
  };
  return { ms: trimmedMean(o), median: q(0.5), min: o[0], max: o[n - 1], p10: q(0.1), p90: q(0.9), spread: q(0.9) - q(0.1) };
}
