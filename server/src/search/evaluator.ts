// Child evaluation behind one interface: train the proxy-scale network for ACC(m), time the
// full-size network for LAT(m). The local implementation is a pool of PyTorch worker
// processes sized to the machine; a queue-backed implementation (other machines) can
// implement the same interface later.
import * as os from 'node:os';
import PQueue from 'p-queue';
import type { Arch } from '../language/arch';
import type { LatencySource as LatencySetting } from '../language/searchConfig';
import { createTrainer, type TrainerBackend } from '../train/createTrainer';
import type { DataSpec, Trainer, TrainProgress, TrainRecipe, TrainResult } from '../train/trainer';
import { type LatencyMeasurement, type LatencySource, openLatencySource } from './latency';

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
}

export interface ChildEvaluation {
  accuracy: number;
  train: Pick<TrainResult, 'trainSeconds' | 'evalSeconds' | 'imagesPerSecond' | 'params' | 'weightsPath' | 'loss' | 'diverged' | 'threads'>;
  latency: LatencyMeasurement;
  /** 1, or 2 when the first attempt's worker died. */
  attempts: number;
}

export class ChildFailedError extends Error {}

export interface Evaluator {
  readonly backend: string;
  evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void): Promise<ChildEvaluation>;
  close(): Promise<void>;
}

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
  private idle: Trainer[] = [];
  private readonly all = new Set<Trainer>();
  private readonly queue: PQueue;
  private readonly timing = new PQueue({ concurrency: 1 });
  private closed = false;

  private constructor(
    private readonly opts: LocalEvaluatorOptions,
    private readonly threads: number,
    workers: Trainer[],
    private latency: LatencySource,
  ) {
    this.idle = workers;
    for (const w of workers) this.all.add(w);
    this.queue = new PQueue({ concurrency: workers.length });
  }

  static async start(opts: LocalEvaluatorOptions): Promise<LocalEvaluator> {
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    // tfjs trains in this process on one engine: one worker.
    const n = opts.backend === 'tfjs' ? 1 : Math.max(1, opts.workers ?? Math.max(1, Math.floor(cores / 2)));
    const threads = opts.threads ?? Math.max(1, Math.floor(cores / n));
    const latency = await openLatencySource(opts.latency, { python: opts.python, repeats: opts.latencyRepeats, baseDir: opts.baseDir });
    try {
      const workers = await Promise.all(Array.from({ length: n }, () => LocalEvaluator.newTrainer(opts, threads)));
      return new LocalEvaluator(opts, threads, workers, latency);
    } catch (e) {
      await latency.close();
      throw e;
    }
  }

  private static newTrainer(opts: LocalEvaluatorOptions, threads: number): Promise<Trainer> {
    return createTrainer({ backend: opts.backend ?? 'auto', python: opts.python, threads, onWarning: opts.onWarning });
  }

  get backend(): string {
    return this.idle[0]?.backend ?? 'torch';
  }

  /** Training worker pids (tests kill them to check the retry). */
  get pids(): number[] {
    return [...this.all].map((t) => pidOf(t)).filter((p): p is number => p !== undefined);
  }

  evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void): Promise<ChildEvaluation> {
    return this.queue.add(async () => {
      let attempts = 0;
      let trained: TrainResult | undefined;
      while (!trained) {
        attempts++;
        const worker = this.idle.pop()!;
        try {
          trained = await worker.train({ arch: job.proxy, data: job.data, recipe: job.recipe, seed: job.seed, outDir: job.outDir },
            (p) => onProgress?.({ ...p, pid: pidOf(worker) }));
          this.idle.push(worker);
        } catch (e) {
          if (isAlive(worker)) {
            this.idle.push(worker);
            throw new ChildFailedError(`training failed: ${(e as Error).message}`);
          }
          // The worker died mid-child (killed, out of memory): replace it, retry once.
          this.all.delete(worker);
          if (this.closed) throw new ChildFailedError('stopped');
          const fresh = await LocalEvaluator.newTrainer(this.opts, this.threads);
          this.all.add(fresh);
          this.idle.push(fresh);
          if (attempts >= 2) throw new ChildFailedError(`the training worker died twice on this child: ${(e as Error).message}`);
        }
      }
      const latency = await this.timing.add(() => this.measure(job.full));
      const { trainSeconds, evalSeconds, imagesPerSecond, params, weightsPath, loss, diverged, threads } = trained;
      return { accuracy: trained.accuracy, train: { trainSeconds, evalSeconds, imagesPerSecond, params, weightsPath, loss, diverged, threads }, latency, attempts };
    }) as Promise<ChildEvaluation>;
  }

  private async measure(arch: Arch): Promise<LatencyMeasurement> {
    try {
      return await this.latency.measure(arch);
    } catch (e) {
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
    this.closed = true;
    this.queue.clear();
    await Promise.all([...[...this.all].map((w) => w.close()), this.latency.close()]);
  }

  /** Stops now: kills the workers (in-flight children fail and stay unjournaled). */
  kill(): void {
    this.closed = true;
    this.queue.clear();
    for (const w of this.all) (w as Partial<Killable>).kill?.();
    void this.latency.close();
  }
}

/** Process-backed trainers (the PyTorch worker) expose these; in-process ones do not. */
interface Killable { pid?: number; alive: boolean; kill(): void }
const pidOf = (t: Trainer) => (t as Partial<Killable>).pid;
const isAlive = (t: Trainer) => (t as Partial<Killable>).alive ?? true;
