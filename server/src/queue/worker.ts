// `mnas worker`: takes child evaluations from the Redis queue. Training jobs run on a pool of
// PyTorch worker processes (as in a local search); latency jobs run on this host (`latency
// local`) or on the phones attached to it (one BullMQ worker per phone model, as many at once
// as it has phones of that model). What it serves is advertised in Redis (registry.ts).
//
// Failure semantics are BullMQ's: a job whose trainer died or errored is retried (the job's
// attempts, possibly on another host); a worker killed outright leaves a stalled job that
// another worker's stalled check puts back in the queue after the lock expires; a payload that
// fails validation fails at once (UnrecoverableError), never retried.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Job, type Processor, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { AdbClient, parseServerAddress } from '../device/adb/client';
import type { BenchOptions } from '../device/adb/bench';
import type { LatencySource } from '../latency/source';
import { openLatencySource } from '../latency/open';
import { trainSummary } from '../search/evaluator';
import { type DatasetRequest, defaultCacheDir, prepareDataset } from '../train/datasets';
import type { TrainerBackend } from '../train/createTrainer';
import type { DataSpec } from '../train/trainer';
import { TrainerPool } from '../train/trainerPool';
import { connectRedis, prefixOf, redactUrl, redisOptions, type RedisSettings, reportOutages, resolveUrl } from './connection';
import {
  checkFullTrainJob, checkLatencyJob, checkTrainJob, type FullTrainJobResult, type LatencyJobResult, PayloadError, type TrainJobData, type TrainJobResult,
} from './payload';
import { FULL_ARTIFACTS, uploadArtifacts } from './artifacts';
import { advertise, type Registration, type WorkerAd, type WorkerDevice } from './registry';
import { describeTarget, latencyQueue, TRAIN_FULL_QUEUE, TRAIN_QUEUE } from './topology';

export interface QueueWorkerOptions extends RedisSettings {
  /** Children trained at once (default: one per 2 cores); 0 = no training, latency only. */
  concurrency?: number;
  /** Intra-op threads per child (default cores / concurrency). */
  threads?: number;
  backend?: TrainerBackend;
  python?: string;
  /** Serve `latency local` jobs (time on this host); default true. */
  localLatency?: boolean;
  /** Phones to serve: 'all' attached ones (default), 'none', or serials. */
  devices?: 'all' | 'none' | string[];
  /** adb server HOST:PORT (default the local one). */
  adb?: string;
  /** TFLite benchmark_model for the phones (default MNAS_BENCHMARK_MODEL). */
  binary?: string;
  /** benchmark_model settings for the phones (defaults as `mnas bench`). */
  bench?: Pick<BenchOptions, 'warmup' | 'repeats' | 'rounds' | 'cooldownMs' | 'threads'>;
  /** Where trained weights go (default the user cache's worker folder). */
  workDir?: string;
  /** Folders that `folder` / `cifar10` / `idx` datasets named by jobs may be read from. */
  dataRoots?: string[];
  /** Dataset cache (default the user cache). */
  cacheDir?: string;
  /** How often attached phones are listed again (phones that come, go, come back), ms (default 30000). */
  rescanMs?: number;
  /** BullMQ job lock, ms: a killed worker's job is taken over after about this long (default 30000). */
  lockMs?: number;
  id?: string;
  log?: (line: string) => void;
  /**
   * Scale measurements only (the queue-scale bench): no training; each training job waits a
   * seeded time around this many seconds and returns an accuracy computed from the architecture
   * (train/standInTrainer.ts). Everything else (Redis, BullMQ, payload checks, latency) is real.
   */
  standInSeconds?: number;
}

const VERSION = '0.1.0';

export class QueueWorker {
  private readonly workers: Worker[] = [];
  /** Open latency sources by target ("local", "adb:MODEL"); a stale one closes when its last measurement ends. */
  private readonly latency = new Map<string, { source: Promise<LatencySource>; busy: number; stale: boolean }>();
  /** The BullMQ worker of each latency target, paused while this host has no phone of that model. */
  private readonly byTarget = new Map<string, Worker>();
  private rescanTimer?: NodeJS.Timeout;
  private readonly datasets = new Map<string, Promise<DataSpec>>();
  private registration?: Registration;
  /** A rescan in progress (listing the adb server's devices takes a round trip per phone). */
  private scanning = false;
  /** Phones lost mid-job so far: a rescan that started before a loss discards its listing. */
  private losses = 0;
  private closing?: Promise<void>;

  private constructor(
    private readonly opts: QueueWorkerOptions,
    readonly ad: Omit<WorkerAd, 'heartbeat'>,
    private readonly redis: Redis,
    private readonly pool: TrainerPool | undefined,
    private phones: WorkerDevice[],
    private readonly prefix: string,
  ) {}

  static async start(opts: QueueWorkerOptions): Promise<QueueWorker> {
    const prefix = prefixOf(opts);
    const url = redactUrl(resolveUrl(opts));
    const redis = await connectRedis(opts, '--redis');
    const cores = os.availableParallelism?.() ?? os.cpus().length;
    let pool: TrainerPool | undefined;
    let phones: WorkerDevice[] = [];
    try {
      pool = opts.concurrency === 0 ? undefined : await TrainerPool.start({
        size: opts.concurrency, threads: opts.threads, backend: opts.backend, python: opts.python, onWarning: opts.log, standInSeconds: opts.standInSeconds,
      });
      phones = await findPhones(opts);
    } catch (e) {
      await pool?.close();
      redis.disconnect();
      throw e;
    }
    const threads = pool?.threads ?? opts.threads ?? cores;
    const host = os.hostname();
    const models = modelsOf(phones);
    const latency = latencyTargets(opts, models);
    const ad = {
      id: opts.id ?? `${host}-${process.pid}`, host, pid: process.pid, started: new Date().toISOString(),
      backend: pool ? pool.backend : null, cores, concurrency: pool ? pool.size : 0, threads, latency, devices: phones, version: VERSION,
    };
    const w = new QueueWorker(opts, ad, redis, pool, phones, prefix);
    reportOutages(redis, (down, why) => opts.log?.(down ? `Redis at ${url} is unreachable (${why}); waiting for it` : 'Redis is back'));
    try {
      w.listen(prefix, models);
      w.registration = await advertise(redis, prefix, ad);
    } catch (e) {
      await w.close();
      throw e;
    }
    opts.log?.(`worker ${ad.id} on ${url}: ${pool ? `training ${pool.size} at a time (${pool.backend}, ${threads} thread${threads === 1 ? '' : 's'} each)` : 'no training'}; ` +
      `latency: ${latency.length ? latency.join(', ') : 'none'}${phones.length ? ` (${phones.map((d) => d.serial).join(', ')})` : ''}`);
    return w;
  }

  private listen(prefix: string, models: string[]): void {
    const connection = redisOptions(this.opts);
    const lockDuration = this.opts.lockMs ?? 30_000;
    const common = { connection, prefix, lockDuration, stalledInterval: lockDuration, maxStalledCount: 1 };
    // While Redis is away every connection reports each reconnect: one line per message a minute.
    const said = new Map<string, number>();
    const once = (line: string) => {
      const now = Date.now();
      if ((said.get(line) ?? 0) > now - 60_000) return;
      said.set(line, now);
      this.opts.log?.(line);
    };
    this.addQueue = (target: string, queue: string, concurrency: number, processor: Processor) => {
      const worker = new Worker(queue, processor, { ...common, concurrency });
      worker.on('error', (e) => once(`queue ${queue}: ${e.message}`));
      worker.on('failed', (job, e) => this.opts.log?.(`job ${job?.id ?? '?'} failed: ${e.message}`));
      this.workers.push(worker);
      this.byTarget.set(target, worker);
    };
    if (this.pool) this.addQueue('train', TRAIN_QUEUE, this.pool.size, (job) => this.train(job));
    if (this.pool) this.addQueue('train-full', TRAIN_FULL_QUEUE, this.pool.size, (job) => this.trainFull(job));
    if (this.ad.latency.includes('local')) this.addQueue('local', latencyQueue({ kind: 'local' }), 1, (job) => this.time(job));
    for (const model of models) this.servePhones(model);
    if (this.opts.devices !== 'none') {
      this.rescanTimer = setInterval(() => void this.rescan(), this.opts.rescanMs ?? 30_000);
      this.rescanTimer.unref();
    }
  }

  private addQueue!: (target: string, queue: string, concurrency: number, processor: Processor) => void;

  /** Takes latency jobs for this phone model, as many at once as this host has such phones. */
  private servePhones(model: string): void {
    const target = phoneTarget(model);
    const n = this.phones.filter((d) => d.model === model).length;
    const w = this.byTarget.get(target);
    if (!w) this.addQueue(target, latencyQueue({ kind: 'adb', model }), n, (job) => this.time(job));
    else {
      w.concurrency = n;
      if (w.isPaused()) w.resume();
    }
  }

  /** What this host serves now: the advertisement follows the phones, published at once. */
  private advertisePhones(): void {
    this.ad.devices = this.phones;
    this.ad.latency = latencyTargets(this.opts, modelsOf(this.phones));
    void this.registration?.publish().catch(() => undefined); // Redis away: the heartbeat publishes it when back
  }

  /** Stops taking a phone model's jobs (no phone of it left here); they go to other hosts. */
  private dropModel(model: string, why: string): void {
    this.losses++;
    this.phones = this.phones.filter((d) => d.model !== model);
    this.advertisePhones();
    this.retire(phoneTarget(model));
    this.stopServing(model, why);
  }

  private stopServing(model: string, why: string): void {
    void this.byTarget.get(phoneTarget(model))?.pause(true);
    this.opts.log?.(`no ${model} left on this host (${why}): its latency jobs go to other workers until one is back`);
  }

  /** Marks a latency source stale: it is closed when its last measurement ends, the next job opens a fresh one. */
  private retire(target: string): void {
    const e = this.latency.get(target);
    if (!e) return;
    e.stale = true;
    this.latency.delete(target);
    if (e.busy === 0) void e.source.then((x) => x.close(), () => undefined);
  }

  /** Phones plugged in, unplugged or back: serve what is attached now. One listing at a time. */
  private async rescan(): Promise<void> {
    if (this.closing || this.scanning) return;
    this.scanning = true;
    try {
      const seen = this.losses;
      let now: WorkerDevice[];
      try {
        now = await findPhones({ ...this.opts, lenient: true });
      } catch {
        return; // adb server away: keep what we have; jobs on lost phones fail over on their own
      }
      // A phone lost while adb was listing (dropModel): the listing predates the loss and may
      // still show that phone ready. Serving it again would take its model's jobs back from the
      // hosts that have one; the next tick lists again.
      if (this.closing || seen !== this.losses) return;
      const key = (ds: WorkerDevice[], m: string) => ds.filter((d) => d.model === m).map((d) => d.serial).sort().join();
      const models = new Set([...this.phones, ...now].map((d) => d.model));
      const before = this.phones;
      this.phones = now;
      let changed = false;
      for (const m of models) {
        if (key(before, m) === key(now, m)) continue;
        changed = true;
        this.retire(phoneTarget(m));
        if (now.some((d) => d.model === m)) {
          this.servePhones(m);
          this.opts.log?.(`serving ${m}: ${key(now, m)}`);
        } else {
          this.stopServing(m, 'unplugged');
        }
      }
      if (changed) this.advertisePhones();
    } finally {
      this.scanning = false;
    }
  }

  private async train(job: Job): Promise<TrainJobResult> {
    this.opts.log?.(`took ${job.id}`);
    const data = validated(() => checkTrainJob(job.data));
    const spec = await this.dataset(data);
    const outDir = path.join(this.opts.workDir ?? path.join(path.dirname(defaultCacheDir()), 'worker'), data.run, String(data.child));
    let last = 0;
    const r = await this.pool!.train({ arch: data.arch, data: spec, recipe: data.recipe, seed: data.seed, outDir }, (p) => {
      // Progress events cross Redis: a few per second at most.
      const now = Date.now();
      if (now - last < 500) return;
      last = now;
      void job.updateProgress({ epoch: p.epoch, step: p.step, steps: p.steps, loss: p.loss }).catch(() => undefined);
    });
    this.opts.log?.(`trained ${job.id}: accuracy ${(100 * r.accuracy).toFixed(2)}% in ${r.trainSeconds.toFixed(1)} s`);
    // The trained files go back to the controller's run folder; this host keeps no copy then.
    const artifacts = await uploadArtifacts(this.redis, this.prefix, String(job.id), outDir);
    if (artifacts.length) fs.rmSync(outDir, { recursive: true, force: true });
    return { accuracy: r.accuracy, train: trainSummary(r), worker: this.ad.id, host: this.ad.host, artifacts };
  }

  /**
   * A full training (mnas train --queue): one long job. Its folder is kept until the result is
   * stored, so a retry on this host continues the checkpoint instead of starting over.
   */
  private async trainFull(job: Job): Promise<FullTrainJobResult> {
    this.opts.log?.(`took ${job.id}`);
    const data = validated(() => checkFullTrainJob(job.data));
    const spec = await this.dataset(data);
    const outDir = path.join(this.opts.workDir ?? path.join(path.dirname(defaultCacheDir()), 'worker'), data.run, `${data.child}-full`);
    let last = 0;
    const r = await this.pool!.trainFull({ arch: data.arch, data: spec, recipe: data.recipe, seed: data.seed, outDir, resume: true }, (e) => {
      // Epoch ends always cross Redis; progress within an epoch a few times per second at most.
      const now = Date.now();
      if (e.event === 'progress' && now - last < 500) return;
      last = now;
      void job.updateProgress(e).catch(() => undefined);
    });
    this.opts.log?.(`trained ${job.id} fully: accuracy ${(100 * r.accuracy).toFixed(2)}% in ${r.trainSeconds.toFixed(1)} s`);
    const artifacts = await uploadArtifacts(this.redis, this.prefix, String(job.id), outDir, FULL_ARTIFACTS);
    if (artifacts.length) fs.rmSync(outDir, { recursive: true, force: true });
    const { weightsPath: _w, lastWeightsPath: _l, ...result } = r;
    return { result, worker: this.ad.id, host: this.ad.host, artifacts };
  }

  /** The worker prepares the dataset itself; it must match what the controller prepared. */
  private dataset(job: Pick<TrainJobData, 'dataset' | 'expect'>): Promise<DataSpec> {
    const d = job.dataset;
    const key = JSON.stringify(d);
    let spec = this.datasets.get(key);
    if (!spec) {
      spec = (async () => {
        if (d.path) checkDataRoot(d, this.opts.dataRoots ?? []);
        return prepareDataset({ ...d, cacheDir: this.opts.cacheDir });
      })();
      this.datasets.set(key, spec);
      spec.catch(() => this.datasets.delete(key));
    }
    return spec.then((s) => {
      const same = s.classes === job.expect.classes && s.shape.join() === job.expect.shape.join();
      if (!same) {
        throw new UnrecoverableError(`dataset ${d.name} on ${this.ad.host} is ${s.classes} classes of ${s.shape.join('x')}, ` +
          `the controller's is ${job.expect.classes} of ${job.expect.shape.join('x')}: the hosts hold different data at ${d.path ?? d.name}`);
      }
      return s;
    }, (e: Error) => { throw new UnrecoverableError(`dataset ${d.name}: ${e.message}`); });
  }

  private async time(job: Job): Promise<LatencyJobResult> {
    this.opts.log?.(`took ${job.id}`);
    const data = validated(() => checkLatencyJob(job.data));
    const key = describeTarget(data.target);
    if (!this.ad.latency.includes(key)) throw new Error(`worker ${this.ad.id} does not serve latency ${key} (now); the job goes back to the queue`);
    let entry = this.latency.get(key);
    if (!entry) {
      const t = data.target;
      const phones = t.kind === 'adb' ? this.phones.filter((d) => d.model === t.model) : [];
      if (t.kind === 'adb' && phones.length === 0) throw new Error(`no ${t.model} on ${this.ad.host} any more; the job goes back to the queue`);
      const source = t.kind === 'local'
        ? openLatencySource({ kind: 'local' }, { python: this.opts.python })
        : import('../latency/adbLatency').then(({ AdbLatency }) => AdbLatency.open(phones[0].serial, {
          ...this.opts.bench, adb: this.opts.adb, binary: this.opts.binary, python: this.opts.python, only: phones.map((d) => d.serial), log: this.opts.log,
        }));
      const fresh = { source, busy: 0, stale: false };
      entry = fresh;
      this.latency.set(key, fresh);
      source.catch(() => { if (this.latency.get(key) === fresh) this.latency.delete(key); });
    }
    const e = entry;
    e.busy++;
    try {
      const src = await e.source;
      const latency = await src.measure(data.arch).catch((err: Error) => {
        // Every phone of the model went away from this host: stop taking its jobs, hand this one back.
        const pool = (src as Partial<{ pool: { size: number; model: string } }>).pool;
        if (pool && pool.size === 0 && data.target.kind === 'adb') {
          this.dropModel(data.target.model, err.message);
          throw new Error(`every ${data.target.model} on ${this.ad.host} went away (${err.message}); the job goes back to the queue`);
        }
        throw err;
      });
      this.opts.log?.(`timed ${job.id}: ${latency.ms.toFixed(3)} ms (${latency.source})`);
      return { latency: { ...latency, source: `${latency.source} on ${this.ad.host}` }, worker: this.ad.id, host: this.ad.host };
    } finally {
      e.busy--;
      if (e.stale && e.busy === 0) void e.source.then((x) => x.close(), () => undefined);
    }
  }

  /** Stops taking jobs, lets the running ones finish (force: abandons them to the stalled check), withdraws the ad. */
  close(force = false): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.rescanTimer);
      await this.registration?.withdraw();
      await Promise.all(this.workers.map((w) => w.close(force).catch(() => undefined)));
      if (force) this.pool?.kill();
      else await this.pool?.close();
      await Promise.all([...this.latency.values()].map((e) => e.source.then((x) => x.close(), () => undefined)));
      this.redis.disconnect();
    })();
    return this.closing;
  }
}

const phoneTarget = (model: string) => describeTarget({ kind: 'adb', model });
const modelsOf = (phones: WorkerDevice[]) => [...new Set(phones.map((d) => d.model))];

/** The latency targets a worker serves: "local" unless --no-local-latency, and "adb:MODEL" per phone model. */
function latencyTargets(opts: QueueWorkerOptions, models: string[]): string[] {
  return [...(opts.localLatency === false ? [] : [describeTarget({ kind: 'local' })]), ...models.map(phoneTarget)];
}

function validated<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PayloadError) throw new UnrecoverableError(`rejected: ${e.message}`);
    throw e;
  }
}

/** A job may only name dataset folders under the worker's --data roots. */
export function checkDataRoot(d: DatasetRequest, roots: string[]): void {
  const abs = path.resolve(d.path!);
  const real = realPath(abs);
  const inside = roots.some((root) => {
    const rel = path.relative(realPath(path.resolve(root)), real);
    return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
  });
  if (!inside) {
    throw new UnrecoverableError(`the job's dataset folder ${abs} is not under this worker's data folders (${roots.length ? roots.join(', ') : 'none given'}): ` +
      `start the worker with --data ${path.dirname(abs)} (or a parent), with the same data at the same path as on the controller's host`);
  }
}

/** realpath of the longest existing prefix, plus the rest: a missing folder behind a symlink resolves through it. */
function realPath(p: string): string {
  const rest: string[] = [];
  let cur = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return p;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

async function findPhones(opts: QueueWorkerOptions & { lenient?: boolean }): Promise<WorkerDevice[]> {
  const want = opts.devices ?? 'all';
  if (want === 'none') return [];
  const client = new AdbClient(opts.adb ? parseServerAddress(opts.adb) : {});
  let all;
  try {
    all = await client.listDevices();
  } catch (e) {
    // No adb server: no phones here, unless some were asked for by serial.
    if (want === 'all') return [];
    throw e;
  }
  const ready = all.filter((d) => d.state === 'device' && d.model);
  if (want === 'all') return ready.map((d) => ({ serial: d.serial, model: d.model!, abi: d.abi }));
  // Rescans: the asked-for phones that are ready now.
  if (opts.lenient) return ready.filter((d) => want.includes(d.serial)).map((d) => ({ serial: d.serial, model: d.model!, abi: d.abi }));
  return want.map((serial) => {
    const d = all.find((x) => x.serial === serial);
    if (!d) throw new Error(`--devices ${serial}: not on the adb server ${client.address} (it has: ${all.map((x) => x.serial).join(', ') || 'none'}); see \`mnas devices\``);
    if (d.state !== 'device' || !d.model) throw new Error(`--devices ${serial}: ${d.message ?? d.state}`);
    return { serial: d.serial, model: d.model, abi: d.abi };
  });
}
