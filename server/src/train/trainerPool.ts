// A fixed pool of child trainers (PyTorch worker processes, or one in-process tfjs trainer):
// one child per trainer at a time. A trainer that dies mid-child (killed, out of memory) is
// replaced by a fresh one and the child fails with TrainerDiedError; whoever owns the retry
// policy (the local evaluator, or BullMQ's attempts in a queue worker) decides what comes next.
// Trainer processes are registered with the host's timing lock: a model timed on this host
// pauses them (host/timingLock.ts), and the pool's watch resumes one a dead timer left stopped.
import * as os from 'node:os';
import PQueue from 'p-queue';
import { registerTrainer, watchTrainers } from '../platform/hostLock';
import { createTrainer, type TrainerBackend } from './createTrainer';
import { StandInTrainer } from './standInTrainer';
import type { FullTrainEvent, FullTrainRequest, FullTrainResult, Trainer, TrainProgress, TrainRequest, TrainResult } from './trainer';

export class TrainerDiedError extends Error {}

export interface TrainerPoolOptions {
  /** Trainers (children at once); default one per 2 cores; tfjs: always 1. */
  size?: number;
  /** Intra-op threads per trainer; default cores / size. */
  threads?: number;
  backend?: TrainerBackend;
  python?: string;
  onWarning?: (message: string) => void;
  /** Scale measurements only: trainers that train nothing and wait ~this many seconds (standInTrainer.ts). */
  standInSeconds?: number;
}

export class TrainerPool {
  private readonly idle: Trainer[];
  private readonly all = new Set<Trainer>();
  private readonly queue: PQueue;
  private readonly registered = new Map<Trainer, () => void>();
  private readonly stopWatch: () => void;
  private closed = false;

  private constructor(private readonly opts: TrainerPoolOptions, trainers: Trainer[]) {
    this.idle = trainers;
    for (const t of trainers) this.add(t);
    this.queue = new PQueue({ concurrency: trainers.length });
    this.stopWatch = watchTrainers(() => this.pids);
  }

  private add(t: Trainer): void {
    this.all.add(t);
    const pid = pidOf(t);
    if (pid !== undefined) this.registered.set(t, registerTrainer(pid));
  }

  private remove(t: Trainer): void {
    this.all.delete(t);
    this.registered.get(t)?.();
    this.registered.delete(t);
  }

  private unregisterAll(): void {
    this.stopWatch();
    for (const u of this.registered.values()) u();
    this.registered.clear();
  }

  static async start(opts: TrainerPoolOptions): Promise<TrainerPool> {
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    // tfjs trains in this process on one engine: one trainer.
    const size = opts.backend === 'tfjs' ? 1 : Math.max(1, opts.size ?? Math.floor(cores / 2));
    const sized = { ...opts, size, threads: opts.threads ?? Math.max(1, Math.floor(cores / size)) };
    const trainers = await Promise.all(Array.from({ length: size }, () => TrainerPool.newTrainer(sized)));
    return new TrainerPool(sized, trainers);
  }

  private static newTrainer(opts: TrainerPoolOptions): Promise<Trainer> {
    if (opts.standInSeconds !== undefined) return Promise.resolve(new StandInTrainer(opts.standInSeconds));
    return createTrainer({ backend: opts.backend ?? 'auto', python: opts.python, threads: opts.threads, onWarning: opts.onWarning });
  }

  get size(): number {
    return this.opts.size!;
  }

  get threads(): number {
    return this.opts.threads!;
  }

  get backend(): string {
    return [...this.all][0]?.backend ?? 'torch';
  }

  /** Trainer process ids (tests kill them to check the retry). */
  get pids(): number[] {
    return [...this.all].map((t) => pidOf(t)).filter((p): p is number => p !== undefined);
  }

  /** Trains on the next free trainer. Rejects with TrainerDiedError if that trainer died. */
  train(req: TrainRequest, onProgress?: (p: TrainProgress & { pid?: number }) => void): Promise<TrainResult> {
    return this.use((trainer) => trainer.train(req, (p) => onProgress?.({ ...p, pid: pidOf(trainer) })));
  }

  /** A full training (one long job) on the next free trainer; same failure rules as `train`. */
  trainFull(req: FullTrainRequest, onEvent?: (e: FullTrainEvent) => void): Promise<FullTrainResult> {
    return this.use((trainer) => {
      if (!trainer.trainFull) throw new Error(`full training needs the PyTorch worker; this pool trains with ${trainer.backend} (use --backend torch)`);
      return trainer.trainFull(req, onEvent);
    });
  }

  private use<T>(work: (trainer: Trainer) => Promise<T>): Promise<T> {
    return this.queue.add(async () => {
      if (this.closed) throw new TrainerDiedError('stopped');
      const trainer = this.idle.pop()!;
      try {
        const r = await work(trainer);
        this.idle.push(trainer);
        return r;
      } catch (e) {
        if (isAlive(trainer)) {
          this.idle.push(trainer);
          throw e;
        }
        this.remove(trainer);
        if (this.closed) throw new TrainerDiedError('stopped');
        const fresh = await TrainerPool.newTrainer(this.opts);
        this.add(fresh);
        this.idle.push(fresh);
        throw new TrainerDiedError((e as Error).message);
      }
    }) as Promise<T>;
  }

  // Neither close nor kill clears the queue: a cleared request would never settle (its caller
  // would wait forever); each waiting one starts, sees `closed` and fails with 'stopped'.

  async close(): Promise<void> {
    this.closed = true;
    this.unregisterAll();
    await Promise.all([...this.all].map((t) => t.close()));
  }

  /** Stops now: kills the trainer processes; children in training and waiting fail with 'stopped'. */
  kill(): void {
    this.closed = true;
    this.unregisterAll();
    for (const t of this.all) (t as Partial<Killable>).kill?.();
  }
}

/** Process-backed trainers (the PyTorch worker) expose these; in-process ones do not. */
interface Killable { pid?: number; alive: boolean; kill(): void }
const pidOf = (t: Trainer) => (t as Partial<Killable>).pid;
const isAlive = (t: Trainer) => (t as Partial<Killable>).alive ?? true;
