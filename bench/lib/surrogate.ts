// The surrogate side of bench/search-quality.bench.ts (NAS-Bench-301's method): an encoding of
// architectures, a regressor fitted on really trained children (bench/lib/surrogate.py, run by
// Debian's python3-sklearn), and an Evaluator that answers a search with the surrogate's accuracy
// and a device profile's predicted latency, so RL and random can be compared over thousands of
// children that could never be trained here. Everything it produces is a SURROGATE figure.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Arch, ModelSpec } from '../../server/src/language/arch';
import { toArch } from '../../server/src/language/arch';
import { costOf } from '../../server/src/cost/model';
import type { ProfileLatency } from '../../server/src/latency/profileLatency';
import type { ChildEvaluation, ChildJob, Evaluator } from '../../server/src/search/evaluator';
import { Rng } from '../../server/src/util/rng';
import type { LatencyMeasurement } from '../../server/src/util/timing';
import { PYTHON, ROOT } from './search';

/**
 * Fixed-length encoding of a network: per block [mbconv, expansion, kernel, SE ratio, log2 filters,
 * layers], then log10 params and log10 mult-adds of the whole network. Every space derived from one
 * skeleton gives vectors of one length (blocks are in skeleton order).
 */
export function archFeatures(arch: Arch): number[] {
  const cost = costOf(arch);
  const perBlock = arch.blocks.flatMap((b) => [b.op === 'mbconv' ? 1 : 0, b.op === 'mbconv' ? b.e : 1, b.k, b.se, Math.log2(b.f), b.x]);
  return [...perBlock, Math.log10(cost.params), Math.log10(Math.max(1, cost.multAdds))];
}

/** The same architecture, the same group: repeats of it never straddle a train/test split. */
export function archGroup(arch: Arch): string {
  return JSON.stringify(arch.blocks.map((b) => [b.op, b.op === 'mbconv' ? b.e : 1, b.k, b.se, b.f, b.x, b.s, b.skip]));
}

export interface SurrogateRow { x: number[]; y: number; group: string }

export interface SurrogateModelScore { cv_spearman: number; test_spearman: number; test_r2: number; test_rmse: number }

export interface SurrogateSummary {
  /** The model chosen by 5-fold CV Spearman on the training part. */
  chosen: string;
  models: Record<string, SurrogateModelScore>;
  train: number;
  test: number;
  groups: number;
  /** Seed-to-seed standard deviation of one training, from architectures trained more than once. */
  noise_sd: number;
  pairs: number;
}

/** A fitted surrogate served by one Python process; requests are answered in order. */
export class Surrogate {
  private chain: Promise<unknown> = Promise.resolve();
  private constructor(private readonly proc: ChildProcessWithoutNullStreams, private readonly lines: AsyncIterator<string>, readonly summary: SurrogateSummary) {}

  /** Scores every model on held-out architectures and serves the best; with `model`, fits only that one on all rows. */
  static async fit(rows: SurrogateRow[], seed: number, python = PYTHON, model?: string): Promise<Surrogate> {
    const proc = spawn(python, [path.join(ROOT, 'bench', 'lib', 'surrogate.py')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    proc.stdin.write(JSON.stringify({ rows, seed, ...(model ? { model } : {}) }) + '\n');
    const first = await lines.next();
    if (first.done) {
      await new Promise((r) => proc.once('close', r));
      throw new Error(`surrogate.py exited without a fit (${python}; needs python3-sklearn): ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
    }
    return new Surrogate(proc, lines, JSON.parse(first.value) as SurrogateSummary);
  }

  predict(xs: number[][]): Promise<number[]> {
    const next = this.chain.then(async () => {
      this.proc.stdin.write(JSON.stringify({ x: xs }) + '\n');
      const r = await this.lines.next();
      if (r.done) throw new Error('surrogate.py exited');
      return (JSON.parse(r.value) as { y: number[] }).y;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    this.proc.stdin.end();
    if (this.proc.exitCode === null) await new Promise((r) => this.proc.once('close', r));
  }
}

/**
 * Answers a search's children from a surrogate: accuracy = the surrogate's prediction for the
 * full-size network's encoding, plus (when `noiseSd` > 0) seeded Gaussian noise of one training's
 * seed-to-seed spread, as NAS-Bench-301's noisy surrogate; latency = the profile's prediction.
 * Nothing is trained; the child record's training fields are zero.
 */
export class SurrogateEvaluator implements Evaluator {
  readonly backend: string;
  constructor(private readonly surrogate: Surrogate, private readonly latency: ProfileLatency, private readonly opts: { noiseSd: number; seed: number }) {
    this.backend = `SURROGATE (${surrogate.summary.chosen} on ${surrogate.summary.groups} trained architectures; latency ${latency.name})`;
  }

  async evaluate(job: ChildJob): Promise<ChildEvaluation> {
    const [mean] = await this.surrogate.predict([archFeatures(job.full)]);
    const rng = new Rng(this.opts.seed * 1_000_003 + job.id);
    const noise = this.opts.noiseSd > 0 ? this.opts.noiseSd * gaussian(rng) : 0;
    const accuracy = Math.min(1, Math.max(0, mean + noise));
    const latency = await this.latency.measure(job.full);
    return {
      accuracy, latency, attempts: 1,
      train: { trainSeconds: 0, evalSeconds: 0, imagesPerSecond: 0, params: costOf(job.proxy).params, weightsPath: '', loss: [], diverged: false, threads: 0 },
    };
  }

  /** A relative target's reference: the profile's prediction, like every child's latency here. */
  measureLatency(arch: Arch): Promise<LatencyMeasurement> {
    return this.latency.measure(arch);
  }

  close(): Promise<void> { return Promise.resolve(); }
}

/** Box-Muller from the search's own seeded generator. */
function gaussian(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Encodes a child spec the way the surrogate sees it (full size). */
export function specFeatures(spec: ModelSpec): number[] {
  return archFeatures(toArch(spec));
}
