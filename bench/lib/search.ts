// Shared helpers of the search benchmarks (search-overhead, train-throughput, search-memory,
// search-quality): where generated inputs and run folders go, derived .mnas files, an evaluator
// wrapper that records the jobs it passes on, small statistics and machine facts.
import { spawnSync } from 'node:child_process';
import PQueue from 'p-queue';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ChildEvaluation, ChildFailedError, type ChildJob, type Evaluator, type TrainedChild } from '../../server/src/search/evaluator';
import type { TrainProgress } from '../../server/src/train/trainer';
import type { Arch } from '../../server/src/language/arch';
import type { LatencyMeasurement } from '../../server/src/util/timing';
import { GENERATED, ROOT } from './generate';

export { GENERATED, ROOT };

export const QUICKSTART = path.join(ROOT, 'examples', 'search-quickstart.mnas');
/** Run folders of the search benchmarks (git-ignored). */
export const RUNS = path.join(GENERATED, 'runs');
/** Dataset cache of the search benchmarks (MNAS_CACHE; git-ignored). */
export const CACHE = path.join(GENERATED, 'cache');
export const PYTHON = '/usr/bin/python3';

/** Points MNAS_CACHE at the benchmark cache; returns the dataset folder to pass as cacheDir. */
export function useBenchCache(): string {
  fs.mkdirSync(CACHE, { recursive: true });
  process.env.MNAS_CACHE = CACHE;
  return path.join(CACHE, 'datasets');
}

/** A fresh folder for one benchmark's runs (the previous one is removed). */
export function runsDir(bench: string): string {
  const dir = path.join(RUNS, bench);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Writes a copy of the quickstart with some settings replaced (each `[pattern, replacement]`
 * must match exactly once, so a changed example fails loudly instead of silently).
 */
export function deriveQuickstart(name: string, edits: [RegExp, string][]): string {
  let text = fs.readFileSync(QUICKSTART, 'utf8');
  for (const [re, by] of edits) {
    const hits = text.match(new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g'));
    if (!hits || hits.length !== 1) throw new Error(`deriveQuickstart(${name}): ${re} matched ${hits?.length ?? 0} times in ${QUICKSTART}`);
    text = text.replace(re, by);
  }
  const file = path.join(GENERATED, `${name}.mnas`);
  fs.mkdirSync(GENERATED, { recursive: true });
  fs.writeFileSync(file, `// Derived from examples/search-quickstart.mnas by bench/lib/search.ts; do not edit.\n${text}`);
  return file;
}

/** Passes jobs to another evaluator and keeps each job with its result (ids are per run). */
export class RecordingEvaluator implements Evaluator {
  readonly jobs: { job: ChildJob; result?: ChildEvaluation; ms: number }[] = [];
  constructor(readonly inner: Evaluator) {}
  get backend(): string { return this.inner.backend; }
  async evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void): Promise<ChildEvaluation> {
    const t0 = performance.now();
    const rec: { job: ChildJob; result?: ChildEvaluation; ms: number } = { job, ms: 0 };
    this.jobs.push(rec);
    rec.result = await this.inner.evaluate(job, onProgress);
    rec.ms = performance.now() - t0;
    return rec.result;
  }
  measureLatency(arch: Arch): Promise<LatencyMeasurement> { return this.inner.measureLatency(arch); }
  close(): Promise<void> { return Promise.resolve(); }
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function std(xs: readonly number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1][0] === idx[i][0]) j++;
    for (let k = i; k <= j; k++) r[idx[k][1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

export function pearson(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxx && syy ? sxy / Math.sqrt(sxx * syy) : NaN;
}

export function spearman(xs: readonly number[], ys: readonly number[]): number {
  return pearson(ranks(xs), ranks(ys));
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** 1-, 5- and 15-minute load averages, rounded (the machines are shared). */
export function loadavg(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [Number(a.toFixed(2)), Number(b.toFixed(2)), Number(c.toFixed(2))];
}

/** Python and torch versions of the interpreter the workers use. */
export function pythonFacts(python = PYTHON): Record<string, string> {
  const r = spawnSync(python, ['-c', 'import platform, torch; print(platform.python_version(), torch.__version__)'], { encoding: 'utf8' });
  const [py, torch] = (r.stdout || '').trim().split(/\s+/);
  return { python: py ?? 'unknown', backend: torch ? `torch ${torch} cpu` : 'torch unavailable' };
}

/** Load average sampled every few seconds while a benchmark runs. */
export class LoadSampler {
  private readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 5000) {
    this.samples.push(os.loadavg()[0]);
    this.timer = setInterval(() => this.samples.push(os.loadavg()[0]), everyMs);
    this.timer.unref();
  }
  stop(): { min: number; median: number; max: number } {
    clearInterval(this.timer);
    this.samples.push(os.loadavg()[0]);
    const r = (v: number) => Number(v.toFixed(2));
    return { min: r(Math.min(...this.samples)), median: r(median(this.samples)), max: r(Math.max(...this.samples)) };
  }
}

/**
 * One evaluator shared by several concurrent searches that can all be stopped at once: on
 * `abandon()` (the engine calls it when its signal aborts) every pending evaluation fails with
 * 'stopped' at once instead of waiting for the pool; the caller then kills the inner pool.
 */
export class SharedEvaluator implements Evaluator {
  private stop!: (e: Error) => void;
  private readonly stopped: Promise<never>;
  private readonly slots: PQueue;
  /**
   * `slots`: evaluations passed on at once (the pool's trainers). Waiting children go in order of
   * their id within their run, so runs advance in step: a run whose controller update took longer
   * is not starved by runs that resubmit at once. A child already trained (`job.trained`: only
   * its latency is left) takes no training slot.
   */
  constructor(readonly inner: Evaluator, private readonly size = Infinity) {
    this.stopped = new Promise<never>((_, reject) => { this.stop = reject; });
    this.stopped.catch(() => undefined);
    this.slots = new PQueue({ concurrency: size });
  }
  get backend(): string { return this.inner.backend; }
  /**
   * The pool's trainers: what each search's `overlap on` keeps busy, as it would on that pool
   * alone (every run sharing it sees the whole pool, so each keeps slots + batch children out).
   */
  capacity(): number { return Number.isFinite(this.size) ? this.size : this.inner.capacity?.() ?? 0; }
  evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void, onTrained?: (t: TrainedChild) => void): Promise<ChildEvaluation> {
    const run = job.trained
      ? this.inner.evaluate(job, onProgress, onTrained)
      : this.slots.add(() => this.inner.evaluate(job, onProgress, onTrained), { priority: -job.id }) as Promise<ChildEvaluation>;
    return Promise.race([run, this.stopped]);
  }
  measureLatency(arch: Arch): Promise<LatencyMeasurement> {
    return Promise.race([this.inner.measureLatency(arch), this.stopped]);
  }
  abandon(): void { this.slots.clear(); this.stop(new ChildFailedError('stopped')); }
  close(): Promise<void> { return Promise.resolve(); }
}
