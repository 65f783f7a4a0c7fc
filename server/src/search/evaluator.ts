// Child evaluation behind one interface: train the proxy-scale network for ACC(m), time the
// full-size network for LAT(m). The local implementation is a pool of PyTorch worker
// processes sized to the machine; the queue-backed one (queue/queueEvaluator.ts) hands the
// same jobs to `mnas worker` processes on other machines through Redis.
import PQueue from 'p-queue';
import type { Arch } from '../language/arch';
import type { LatencySource as LatencySetting } from '../language/searchConfig';
import type { DatasetRequest } from '../train/datasets';
import type { TrainerBackend } from '../train/createTrainer';
import type { DataSpec, TrainProgress, TrainRecipe, TrainResult } from '../train/trainer';
import { TrainerDiedError, TrainerPool } from '../train/trainerPool';
import { openLatencySource } from '../latency/open';
import type { LatencySource } from '../latency/source';
import type { LatencyMeasurement } from '../util/timing';
import type { TrainedChild } from './runFolder';

export type { TrainedChild };

export interface ChildJob {
  id: number;
  /** The network trained on the proxy task. */
  proxy: Arch;
  /** The full-size network whose latency counts. */
  full: Arch;
  data: DataSpec;
  recipe: TrainRecipe;
  seed: number;
  outDir: string;
  /** How to prepare `data` elsewhere: what a queue worker is sent instead of local paths. */
  dataset?: DatasetRequest;
  /** Trained before a stop (journaled): only its latency is left to measure. */
  trained?: TrainedChild;
}


export interface ChildEvaluation {
  accuracy: number;
  train: TrainedChild['train'];
  latency: LatencyMeasurement;
  /** 1, or 2 when the first attempt's worker died. */
  attempts: number;
  /** Queue runs: the job ids (the journal's key on the queue) and the workers that did them. */
  jobs?: { train: string; latency?: string };
  workers?: { train: string; latency?: string };
}

export class ChildFailedError extends Error {}

export interface Evaluator {
  readonly backend: string;
  /** `onTrained` hears of the training result before the latency is measured (where both happen here). */
  evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void, onTrained?: (t: TrainedChild) => void): Promise<ChildEvaluation>;
  /** Latency alone, on the same source as the children's (a relative target's reference model). */
  measureLatency(arch: Arch): Promise<LatencyMeasurement>;
  /** Children it can train at once now (the pool's trainers, the queue's live training slots): what `overlap on` keeps busy. */
  capacity?(): number;
  /**
   * The search was stopped: end the children in flight now; they fail with 'stopped' and are not
   * journaled (what finished before is). The local pool kills its training workers and drops the
   * measurements not done; the queue stops waiting (its jobs stay in Redis for --resume).
   */
  abandon?(): void;
  /**
   * The search stopped: end at once what `close` would wind down (the local pool kills its
   * workers). Called instead of `close`; evaluators without it are closed as usual.
   */
  kill?(): void;
  close(): Promise<void>;
}

/** What an evaluator is built for: the opened run (on --resume its settings come from run.json). */
export interface EvaluatorContext {
  /** The run folder. */
  dir: string;
  latency: LatencySetting;
  /** The .mnas file's folder: relative paths (profiles) resolve against it. */
  baseDir: string;
  onWarning: (message: string) => void;
}

/** Builds the evaluator once the run is open; the engine closes what a factory built. */
export type EvaluatorFactory = (run: EvaluatorContext) => Promise<Evaluator>;

export interface LocalEvaluatorOptions {
  /** Training workers in parallel; default 1 per 2 cores (each uses all its threads). */
  workers?: number;
  /** Intra-op threads per training worker; default cores / workers. */
  threads?: number;
  python?: string;
  /** Child-training backend: torch (PyTorch worker), tfjs, or auto (torch when available). */
  backend?: TrainerBackend;
  onWarning?: (message: string) => void;
  latency: LatencySetting;
  latencyRepeats?: number;
  /** The .mnas file's folder: relative profile paths resolve against it. */
  baseDir?: string;
}

export class LocalEvaluator implements Evaluator {
  private readonly timing = new PQueue({ concurrency: 1 });
  /** Rejects every evaluation still waiting once the search is stopped. */
  private readonly stopped: Promise<never>;
  private stop!: () => void;
  private halted = false;

  private constructor(
    private readonly opts: LocalEvaluatorOptions,
    private readonly pool: TrainerPool,
    private latency: LatencySource,
  ) {
    this.stopped = new Promise<never>((_, reject) => { this.stop = () => reject(new ChildFailedError('stopped')); });
    this.stopped.catch(() => undefined);
  }

  static async start(opts: LocalEvaluatorOptions): Promise<LocalEvaluator> {
    const latency = await openLatencySource(opts.latency, { python: opts.python, repeats: opts.latencyRepeats, baseDir: opts.baseDir });
    try {
      const pool = await TrainerPool.start({ size: opts.workers, threads: opts.threads, backend: opts.backend, python: opts.python, onWarning: opts.onWarning });
      return new LocalEvaluator(opts, pool, latency);
    } catch (e) {
      await latency.close();
      throw e;
    }
  }

  get backend(): string {
    return this.pool.backend;
  }

  capacity(): number {
    return this.pool.size;
  }

  /** Training worker pids (tests kill them to check the retry). */
  get pids(): number[] {
    return this.pool.pids;
  }

  async evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void, onTrained?: (t: TrainedChild) => void): Promise<ChildEvaluation> {
    const trained = job.trained ?? await Promise.race([this.train(job, onProgress), this.stopped]);
    if (!job.trained) onTrained?.(trained);
    // A stop ends the wait at once, whatever the latency source is doing.
    const latency = await Promise.race([this.timing.add(() => this.measure(job.full)) as Promise<LatencyMeasurement>, this.stopped]);
    return { ...trained, latency };
  }

  private async train(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void): Promise<TrainedChild> {
    for (let attempts = 1; ; attempts++) {
      try {
        const r = await this.pool.train({ arch: job.proxy, data: job.data, recipe: job.recipe, seed: job.seed, outDir: job.outDir }, onProgress);
        return { accuracy: r.accuracy, train: trainSummary(r), attempts };
      } catch (e) {
        // A worker that died mid-child (killed, out of memory) was replaced: retry once.
        if (!(e instanceof TrainerDiedError)) throw new ChildFailedError(`training failed: ${(e as Error).message}`);
        if (e.message === 'stopped') throw new ChildFailedError('stopped');
        if (attempts >= 2) throw new ChildFailedError(`the training worker died twice on this child: ${e.message}`);
      }
    }
  }

  measureLatency(arch: Arch): Promise<LatencyMeasurement> {
    return this.timing.add(() => this.measure(arch)) as Promise<LatencyMeasurement>;
  }

  private async measure(arch: Arch): Promise<LatencyMeasurement> {
    if (this.halted) throw new ChildFailedError('stopped');
    try {
      return await this.latency.measure(arch);
    } catch (e) {
      if (this.halted) throw new ChildFailedError('stopped');
      // One retry on a fresh latency worker, as for training.
      await this.latency.close().catch(() => undefined);
      this.latency = await openLatencySource(this.opts.latency, { python: this.opts.python, repeats: this.opts.latencyRepeats, baseDir: this.opts.baseDir });
      try {
        return await this.latency.measure(arch);
      } catch (e2) {
        throw new ChildFailedError(`latency measurement failed twice: ${(e as Error).message}; ${(e2 as Error).message}`);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.latency.close()]);
  }

  /** Stops now: kills the training workers and the latency source; every child in flight fails with 'stopped'. */
  abandon(): void {
    if (this.halted) return;
    this.halted = true;
    this.stop();
    this.pool.kill();
    void this.latency.close().catch(() => undefined);
  }

  /** The search stopped: nothing is left to wind down gently. */
  kill(): void {
    this.abandon();
  }
}

/** A search's local pool: `runSearch({ evaluator: localEvaluator({ workers: 2 }) })`. */
export function localEvaluator(opts: Omit<LocalEvaluatorOptions, 'latency' | 'baseDir' | 'onWarning'> = {}): EvaluatorFactory {
  return (run) => LocalEvaluator.start({ ...opts, latency: run.latency, baseDir: run.baseDir, onWarning: run.onWarning });
}

/** The part of a training result a child record keeps. */
export function trainSummary(r: TrainResult): ChildEvaluation['train'] {
  const { trainSeconds, evalSeconds, imagesPerSecond, params, weightsPath, loss, diverged, threads } = r;
  return { trainSeconds, evalSeconds, imagesPerSecond, params, weightsPath, loss, diverged, threads };
}
