// What a benchmark module returns, and the small statistics every benchmark reports.
// The runner (bench/run.ts) adds date, commit and machine, then writes bench/results/<name>.json
// in the format of docs/benchmarks.md.

export interface Metric {
  name: string;
  value: number;
  unit: string;
  /** A goal such as "< 50" (same unit as `value`); absent for report-only figures. */
  goal?: string;
  /** Whether `value` meets `goal`; absent when there is no goal. */
  met?: boolean;
}

export interface BenchResult {
  /** The benchmark's name: its file is bench/<benchmark>.bench.ts. */
  benchmark: string;
  metrics?: Metric[];
  notes?: string;
  /** Set instead of metrics when the benchmark cannot run here (why). */
  skipped?: string;
  /** Extra machine facts (backend, Python version...), merged into the recorded machine. */
  machine?: Record<string, string | number>;
}

export interface Summary { n: number; min: number; median: number; p95: number; max: number; mean: number }

/** Nearest-rank percentile of sorted values (p in [0, 100]). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(samples: readonly number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0],
    median: percentile(s, 50),
    p95: percentile(s, 95),
    max: s[s.length - 1],
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** Rounds for display in JSON (times in ms to 0.001 ms). */
export const round = (v: number, digits = 3): number => Number(v.toFixed(digits));

/** A metric with an upper-bound goal: `met` is value < limit. */
export function below(name: string, value: number, unit: string, limit: number): Metric {
  return { name, value: round(value), unit, goal: `< ${limit}`, met: value < limit };
}

/** A report-only metric (no goal). */
export function report(name: string, value: number, unit: string): Metric {
  return { name, value: round(value), unit };
}

/** Runs `fn` `warmups` times unmeasured, then `repeats` times, returning each duration in ms. */
export async function time(fn: () => unknown | Promise<unknown>, warmups: number, repeats: number): Promise<number[]> {
  for (let i = 0; i < warmups; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}
