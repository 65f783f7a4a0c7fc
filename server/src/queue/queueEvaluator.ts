// The Evaluator of `mnas search --queue URL`: each child becomes a training job and a latency
// job on BullMQ queues in Redis, taken by `mnas worker` processes on any number of machines.
// The engine, the journal and resume are the local run's; only where the work happens differs.
//
// Results arrive through QueueEvents; a reconcile pass every few seconds also reads each
// pending job's state from Redis, so nothing hangs on a lost event: a job that Redis lost
// (restarted without persistence) is enqueued again, a finished one is picked up even when the
// controller was down when it finished (resume), a failed one (attempts used up, stalled twice,
// bad payload) fails its child with the worker's error.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { Arch } from '../language/arch';
import type { LatencySource as LatencySetting } from '../language/searchConfig';
import type { TrainProgress } from '../train/trainer';
import { ChildFailedError, type ChildEvaluation, type ChildJob, type Evaluator, type EvaluatorFactory, type TrainedChild } from '../search/evaluator';
import { openLatencySource } from '../latency/open';
import type { LatencySource } from '../latency/source';
import type { LatencyMeasurement } from '../util/timing';
import { downloadArtifacts, FULL_ARTIFACTS } from './artifacts';
import { connectRedis, prefixOf, redactUrl, redisOptions, type RedisSettings, reportOutages, resolveUrl } from './connection';
import {
  checkFullTrainResult, checkLatencyResult, checkTrainResult, type FullTrainJobData, type FullTrainJobResult, type LatencyJobData, type LatencyTarget, PAYLOAD_VERSION, type TrainJobData, type TrainJobResult,
} from './payload';
import { listWorkers, type WorkerAd } from './registry';
import { jobId, latencyQueue, runQueueId, TARGET_REFERENCE_CHILD, TRAIN_FULL_QUEUE, TRAIN_QUEUE } from './topology';

export interface QueueEvaluatorOptions extends RedisSettings {
  /** The run's queue id (topology.runQueueId). */
  run: string;
  latency: LatencySetting;
  /** The .mnas file's folder: a `profile` latency is computed here from it. */
  baseDir?: string;
  /** Tries per job before its child is recorded as failed (default 2: one retry). */
  attempts?: number;
  /** How often pending jobs' states are read from Redis, ms (default 2000). */
  reconcileMs?: number;
  onWarning?: (message: string) => void;
}

interface Pending {
  queue: Queue;
  id: string;
  name: string;
  data: TrainJobData | LatencyJobData | FullTrainJobData;
  resolve: (r: { value: unknown; attempts: number }) => void;
  reject: (e: Error) => void;
  onProgress?: (p: unknown) => void;
  settled: boolean;
}

const KEEP_SECONDS = 7 * 24 * 3600;

export class QueueEvaluator implements Evaluator {
  readonly backend: string;
  private readonly pending = new Map<string, Pending>();
  private readonly queues = new Map<string, { queue: Queue; events: QueueEvents }>();
  private readonly timer: NodeJS.Timeout;
  private reconciling = false;
  private target?: Promise<LatencyTarget>;
  private closed = false;
  private readonly warned = new Set<string>();
  /** Training slots of the live workers, as last read from their ads (capacity()). */
  private trainSlots = 0;
  private lastSlotsRead = 0;

  private constructor(
    private readonly opts: QueueEvaluatorOptions,
    private readonly redis: Redis,
    private readonly prefix: string,
    /** A `profile` latency needs no device: computed in this process. */
    private readonly inline: LatencySource | undefined,
  ) {
    this.backend = `queue ${redactUrl(resolveUrl(opts))}`;
    this.timer = setInterval(() => void this.reconcile(), opts.reconcileMs ?? 2000);
    this.timer.unref();
  }

  static async start(opts: QueueEvaluatorOptions): Promise<QueueEvaluator> {
    const prefix = prefixOf(opts);
    const redis = await connectRedis(opts, '--queue');
    const inline = opts.latency.kind === 'profile' ? await openLatencySource(opts.latency, { baseDir: opts.baseDir }) : undefined;
    const ev = new QueueEvaluator(opts, redis, prefix, inline);
    // Redis away (restart, network): commands wait; say so once per outage.
    reportOutages(redis, (down, why) => opts.onWarning?.(down
      ? `Redis at ${redactUrl(resolveUrl(opts))} is unreachable (${why}); the run waits for it.`
      : 'Redis is back; the run continues.'));
    await ev.queueFor(TRAIN_QUEUE);
    const ws = await ev.workers();
    ev.countSlots(ws);
    if (!ws.some((w) => w.backend)) {
      opts.onWarning?.(`no worker trains children on ${redactUrl(resolveUrl(opts))} yet${ws.length ? ` (${ws.length} latency-only)` : ''}: ` +
        'start `mnas worker --redis URL` on a machine with PyTorch; jobs wait in the queue until then.');
    }
    return ev;
  }

  /**
   * Training slots of the live workers (their ads' concurrency), read again at most every 5 s
   * (the ads' heartbeat): workers that join or leave change what `overlap on` keeps busy.
   */
  capacity(): number {
    if (!this.closed && Date.now() - this.lastSlotsRead > 5000) {
      this.lastSlotsRead = Date.now();
      this.workers().then((ws) => this.countSlots(ws), () => undefined);
    }
    return this.trainSlots;
  }

  private countSlots(ws: WorkerAd[]): void {
    this.lastSlotsRead = Date.now();
    this.trainSlots = ws.filter((w) => w.backend).reduce((a, w) => a + w.concurrency, 0);
  }

  /** Live workers as they advertise themselves. */
  workers(): Promise<WorkerAd[]> {
    return listWorkers(this.redis, this.prefix);
  }

  private async queueFor(name: string): Promise<Queue> {
    let q = this.queues.get(name);
    if (!q) {
      const connection = redisOptions(this.opts);
      const queue = new Queue(name, { connection, prefix: this.prefix });
      const events = new QueueEvents(name, { connection, prefix: this.prefix });
      queue.on('error', () => undefined);
      events.on('error', () => undefined);
      // A failed read is retried by the next reconcile pass.
      const nudge = ({ jobId: id }: { jobId: string }) => { const p = this.pending.get(`${name}/${id}`); if (p) this.settle(p).catch(() => undefined); };
      events.on('completed', nudge);
      events.on('failed', nudge);
      events.on('progress', ({ jobId: id, data }) => this.pending.get(`${name}/${id}`)?.onProgress?.(data));
      q = { queue, events };
      this.queues.set(name, q);
      await events.waitUntilReady();
    }
    return q.queue;
  }

  async evaluate(job: ChildJob, onProgress?: (p: TrainProgress & { pid?: number }) => void, onTrained?: (t: TrainedChild) => void): Promise<ChildEvaluation> {
    if (!job.dataset) throw new ChildFailedError('internal: a queued child needs its dataset request');
    const run = this.opts.run;
    const trainJob = jobId(run, job.id, 'train');
    const train: TrainJobData = {
      v: PAYLOAD_VERSION, run, child: job.id, arch: job.proxy, dataset: job.dataset,
      expect: { shape: job.data.shape, classes: job.data.classes }, recipe: job.recipe, seed: job.seed,
    };
    // Trained before a stop (its `trained` line is in the journal): only its latency is left.
    const trained: Promise<TrainedChild> = job.trained ? Promise.resolve(job.trained)
      : this.submit(await this.queueFor(TRAIN_QUEUE), trainJob, 'train', train, (p) => onProgress?.(p as TrainProgress))
        .then(async ({ value, attempts }) => {
          const t = await this.collectTraining(job, trainJob, checkTrainResult(value), attempts);
          // Journaled at once, as a local run does: a stop while the latency job waits keeps the training.
          onTrained?.(t);
          return t;
        });
    const timed = this.measure(job.id, job.full);
    // Both run at once; wait for both so neither's rejection goes unobserved.
    const [t, l] = await Promise.allSettled([trained, timed]);
    if (t.status === 'rejected') throw asChildError(t.reason, 'training');
    if (l.status === 'rejected') throw asChildError(l.reason, 'latency');
    const { worker, ...result } = t.value;
    return {
      ...result, latency: l.value.latency,
      jobs: { train: trainJob, ...(l.value.job ? { latency: l.value.job } : {}) },
      // A `trained` line always names its worker (one journaled by a local run would not: then none is named).
      ...(worker ? { workers: { train: worker, ...(l.value.worker ? { latency: l.value.worker } : {}) } } : {}),
    };
  }

  /** A checked training result with its files brought into the run folder, as a local run has them. */
  private async collectTraining(job: ChildJob, trainJob: string, result: TrainJobResult, attempts: number): Promise<TrainedChild> {
    if (result.artifacts?.length) {
      await downloadArtifacts(this.redis, this.prefix, trainJob, result.artifacts, job.outDir)
        .catch((e: Error) => this.opts.onWarning?.(`child ${job.id}: its trained files could not be fetched from Redis (${e.message}); they stay on ${result.worker}.`));
    }
    // Only the copy in the run folder counts: the worker's path names a file on another machine.
    const local = path.join(job.outDir, 'weights.pt');
    return { accuracy: result.accuracy, train: { ...result.train, weightsPath: fs.existsSync(local) ? local : '' }, attempts, worker: result.worker };
  }

  /** Latency of one network on the run's latency target (the skeleton of `mnas train --queue`). */
  time(child: number, arch: Arch): Promise<ChildEvaluation['latency']> {
    return this.measure(child, arch).then((r) => r.latency);
  }

  /** Proxy training only (the skeleton's proxy accuracy for `mnas train --queue`). */
  async trainOnly(job: ChildJob): Promise<number> {
    if (!job.dataset) throw new ChildFailedError('internal: a queued child needs its dataset request');
    const data: TrainJobData = {
      v: PAYLOAD_VERSION, run: this.opts.run, child: job.id, arch: job.proxy, dataset: job.dataset,
      expect: { shape: job.data.shape, classes: job.data.classes }, recipe: job.recipe, seed: job.seed,
    };
    const { value } = await this.submit(await this.queueFor(TRAIN_QUEUE), jobId(this.opts.run, job.id, 'train'), 'train', data);
    return checkTrainResult(value).accuracy;
  }

  /**
   * A full training as one long job; its files come back into `outDir` as a child's do. The
   * job id is the run's and the child's, so a controller restarted with --resume collects a
   * job that went on without it.
   */
  async trainFull(data: FullTrainJobData, outDir: string, onEvent?: (e: unknown) => void): Promise<{ result: FullTrainJobResult; attempts: number; job: string }> {
    const id = jobId(this.opts.run, data.child, 'full');
    const { value, attempts } = await this.submit(await this.queueFor(TRAIN_FULL_QUEUE), id, 'train-full', data, onEvent);
    const result = checkFullTrainResult(value);
    if (result.artifacts?.length) {
      await downloadArtifacts(this.redis, this.prefix, id, result.artifacts, outDir, FULL_ARTIFACTS)
        .catch((e: Error) => this.opts.onWarning?.(`${id}: the trained files could not be fetched from Redis (${e.message}); they stay on ${result.worker}.`));
    }
    return { result, attempts, job: id };
  }

  /** The reference model of a relative target: a latency job like a child's, on the same queue. */
  async measureLatency(arch: Arch): Promise<LatencyMeasurement> {
    return (await this.measure(TARGET_REFERENCE_CHILD, arch)).latency;
  }

  private async measure(child: number, arch: Arch): Promise<{ latency: ChildEvaluation['latency']; job?: string; worker?: string }> {
    if (this.inline) return { latency: await this.inline.measure(arch) };
    const target = await this.latencyTarget();
    const id = jobId(this.opts.run, child, 'latency');
    const data: LatencyJobData = { v: PAYLOAD_VERSION, run: this.opts.run, child, arch, target };
    const { value } = await this.submit(await this.queueFor(latencyQueue(target)), id, 'latency', data);
    const r = checkLatencyResult(value);
    return { latency: r.latency, job: id, worker: r.worker };
  }

  /**
   * `latency local` goes to workers that time on their own host; `latency adb "X"` to workers
   * with a phone of X's model (X a serial or a model name, as advertised). Until a worker
   * advertises it, the jobs wait and the run says what it waits for.
   */
  private latencyTarget(): Promise<LatencyTarget> {
    this.target ??= (async () => {
      const setting = this.opts.latency;
      if (setting.kind === 'local') {
        const ws = await this.workers();
        if (!ws.some((w) => w.latency.includes('local'))) this.warnOnce('local', 'no worker times latency locally yet (every `mnas worker` does unless started with --no-local-latency); latency jobs wait in the queue.');
        return { kind: 'local' } as const;
      }
      if (setting.kind !== 'adb') throw new Error(`latency ${setting.kind} needs no queue`);
      for (;;) {
        const ws = await this.workers();
        const devices = ws.flatMap((w) => w.devices);
        const model = devices.find((d) => d.serial === setting.serial)?.model ?? devices.find((d) => d.model === setting.serial)?.model;
        if (model) return { kind: 'adb', model } as const;
        if (this.closed) throw new ChildFailedError('stopped');
        this.warnOnce(`adb:${setting.serial}`, `no worker advertises the phone ${setting.serial} yet: run \`mnas worker --redis URL --devices ${setting.serial}\` on the host it is plugged into; waiting.`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    return this.target;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.onWarning?.(message);
  }

  private submit(queue: Queue, id: string, name: string, data: TrainJobData | LatencyJobData | FullTrainJobData, onProgress?: (p: unknown) => void): Promise<{ value: unknown; attempts: number }> {
    return new Promise((resolve, reject) => {
      if (this.closed) { reject(new ChildFailedError('stopped')); return; }
      const p: Pending = { queue, id, name, data, resolve, reject, onProgress, settled: false };
      this.pending.set(`${queue.name}/${id}`, p);
      this.add(p).then(() => this.settle(p).catch(() => undefined), (e) => this.finish(p, e as Error));
    });
  }

  /** Adds the job; an id already in Redis (resume, or re-adding after a loss) is left as it is. */
  private async add(p: Pending): Promise<void> {
    await p.queue.add(p.name, p.data, {
      jobId: p.id, attempts: this.opts.attempts ?? 2, backoff: { type: 'fixed', delay: 1000 },
      removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS },
    });
  }

  /** Reads the job's state and settles its promise when it is final. */
  private async settle(p: Pending): Promise<void> {
    if (p.settled) return;
    // State first, then the job: completed and failed are final, so what is read after them is
    // the finished job (read the other way round, a job finishing in between has no result yet).
    const state = await p.queue.getJobState(p.id);
    if (p.settled) return;
    if (state === 'unknown') {
      // Redis lost it (restarted without persistence, or flushed): enqueue it again.
      this.opts.onWarning?.(`job ${p.id} is no longer in Redis (restarted without persistence?); enqueued again.`);
      await this.add(p);
      return;
    }
    if (state !== 'completed' && state !== 'failed') return;
    const job = await Job.fromId(p.queue, p.id);
    if (!job || p.settled) return;
    // Attempts started, not attemptsMade: a job taken over from a killed worker (stalled) never
    // failed, yet it ran twice.
    const attempts = Math.max(1, job.attemptsStarted ?? 0, job.attemptsMade);
    if (state === 'completed') this.finish(p, undefined, { value: job.returnvalue, attempts });
    else this.finish(p, new ChildFailedError(`${job.failedReason || 'failed'} (after ${attempts} attempt${attempts === 1 ? '' : 's'} on the queue)`));
  }

  private finish(p: Pending, error?: Error, value?: { value: unknown; attempts: number }): void {
    if (p.settled) return;
    p.settled = true;
    this.pending.delete(`${p.queue.name}/${p.id}`);
    if (error) p.reject(error);
    else p.resolve(value!);
  }

  private async reconcile(): Promise<void> {
    if (this.reconciling || this.closed) return;
    this.reconciling = true;
    try {
      for (const p of [...this.pending.values()]) await this.settle(p).catch(() => undefined);
    } finally {
      this.reconciling = false;
    }
  }

  /** Stop waiting: the children in flight fail with 'stopped'; their jobs stay in Redis for --resume. */
  abandon(): void {
    this.closed = true;
    for (const p of this.pending.values()) this.finish(p, new ChildFailedError('stopped'));
  }

  /** Jobs stay in Redis: workers finish what they hold and `--resume` collects the results. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const p of this.pending.values()) this.finish(p, new ChildFailedError('stopped'));
    await Promise.all([...this.queues.values()].map(async ({ queue, events }) => {
      await events.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
    }));
    await this.inline?.close();
    this.redis.disconnect();
  }
}

function asChildError(e: unknown, what: string): Error {
  if (e instanceof ChildFailedError) return new ChildFailedError(`${what}: ${e.message}`);
  return new ChildFailedError(`${what}: ${(e as Error).message}`);
}

/** A search's evaluator on the queue: `runSearch({ evaluator: queueEvaluator({ url }) })`; the run's queue id is derived from its folder. */
export function queueEvaluator(opts: Omit<QueueEvaluatorOptions, 'run' | 'latency' | 'baseDir' | 'onWarning'>): EvaluatorFactory {
  return (run) => QueueEvaluator.start({ ...opts, run: runQueueId(run.dir), latency: run.latency, baseDir: run.baseDir, onWarning: run.onWarning });
}
