// Summary of repeated measurements: trimmed mean (10% cut at each end) and spread (p90 - p10),
// the same definitions as the rest of the product (search/latency.ts, tfliteRuntime.ts summarize).
import { trimmedMean } from '../../cost/latency/fit';

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
