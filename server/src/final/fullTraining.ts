// From a search to a deployable model: train chosen networks fully (final/recipe.ts) on the
// whole dataset of the search, with the space's skeleton trained the same way as the baseline,
// and record each result beside what it trained (final/store.ts). Runs on the local trainer
// pool, or as one long job per network on the Redis queue (`mnas worker`), like children.
//
// Which children: `top` K of a run, ranked by reward with the children under the latency
// target first (what the paper did with its best 15), or the ids asked for. Their latency is
// the search's measurement; the skeleton is timed on the run's own latency source. The trained
// network is the child at its own width, at the data's resolution and classes (the proxy
// network without the search's proxy width multiplier).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelSpec, toArch } from '../language/arch';
import { printModel } from '../language/print';
import type { SearchConfig } from '../language/searchConfig';
import { costOf } from '../cost/model';
import type { RedisSettings } from '../queue/connection';
import type { DatasetRequest } from '../train/datasets';
import { runQueueId } from '../queue/topology';
import { proxySpec } from '../search/proxy';
import { readRunJournal } from '../search/runJournal';
import { openLatencySource } from '../latency/open';
import type { LatencySource } from '../latency/source';
import type { LatencyMeasurement } from '../util/timing';
import { type ChildRecord, type RunInfo, runPaths } from '../search/runFolder';
import type { TrainerBackend } from '../train/createTrainer';
import { prepareDataset } from '../train/datasets';
import type { DataSpec, FullTrainEvent, FullTrainResult, TrainRecipe } from '../train/trainer';
import type { FullTrainingEvent } from './events';
import { TrainerDiedError, TrainerPool } from '../train/trainerPool';
import { fullDataset } from './dataset';
import type { FullExecutor, FullJob, FullRequest, ProxyRequest } from './executor';
import { fullRecipe, type RecipeOptions } from './recipe';
import { FULL_FILES, FULL_FORMAT, fullDir, type FullRecord, type FullTarget, hasCheckpoint, readFullRecord, writeFullRecord } from './store';

export class FullTrainingError extends Error {}

/** Rounds of timing of every network in one session (median kept). */
export const LATENCY_ROUNDS = 3;

export type { FullExecutor, FullJob, FullRequest, ProxyRequest };

export interface FullTrainingOptions {
  /** A run folder: its top children (and its skeleton, unless `baseline` is false). */
  run?: string;
  top?: number;
  /** Children of the run by id (the panel's "Train fully" on one child). */
  children?: number[];
  baseline?: boolean;
  /** A model of a .mnas file instead of a run: its spec, its file, and a search of that file for data and latency. */
  model?: { spec: ModelSpec; file: string; config: SearchConfig | null; out: string };
  recipe?: RecipeOptions;
  seed?: number;
  resume?: boolean;
  sizes?: { train?: number; test?: number };
  /** Dataset override: a `dataset` setting as a search has it. */
  dataset?: SearchConfig['dataset'];
  python?: string;
  workers?: number;
  backend?: TrainerBackend;
  cacheDir?: string;
  /** Train on `mnas worker` processes through this Redis queue instead of the local pool. */
  queue?: RedisSettings & { attempts?: number };
  /** An executor other than the local pool and the queue (tests). */
  executor?: FullExecutor;
  onEvent?: (e: FullTrainingEvent) => void;
  signal?: AbortSignal;
}

/** The children a full training takes by default: under the target first, then by reward; each architecture once. */
export function rankForTraining(children: ChildRecord[], targetMs: number): ChildRecord[] {
  const unique = children.filter((c) => c.cachedFrom === undefined);
  const under = (c: ChildRecord) => (c.latencyMs <= targetMs ? 0 : 1);
  return [...unique].sort((a, b) => under(a) - under(b) || b.reward - a.reward || a.id - b.id);
}

/** The network a full training builds: the child at its own width, at the data's resolution and classes. */
export function trainedSpec(spec: ModelSpec, config: Pick<SearchConfig, 'dataset'>, data: Pick<DataSpec, 'shape' | 'classes'>): ModelSpec {
  const proxied = proxySpec(spec, { ...(config as SearchConfig), dataset: { ...config.dataset, width: undefined } }, data as DataSpec);
  return { ...proxied, width: spec.width };
}

function readRun(run: string): { info: RunInfo; children: ChildRecord[] } {
  const p = runPaths(run);
  if (!fs.existsSync(p.info)) throw new FullTrainingError(`${run} is not a run folder (no run.json). Pass the folder \`mnas search\` created, e.g. mnas-runs/Quickstart-rl-20261206-011500.`);
  let info: RunInfo;
  try {
    info = JSON.parse(fs.readFileSync(p.info, 'utf8')) as RunInfo;
  } catch (e) {
    throw new FullTrainingError(`${p.info}: not valid JSON (${(e as Error).message}).`);
  }
  const byId = new Map<number, ChildRecord>();
  for (const e of readRunJournal(p.journal)) if (e.type === 'child') byId.set(e.id, e);
  return { info, children: [...byId.values()] };
}

export async function runFullTraining(o: FullTrainingOptions): Promise<{ status: 'done' | 'stopped' | 'failed'; records: FullRecord[] }> {
  const started = Date.now();
  const emit = (e: FullTrainingEvent) => o.onEvent?.(e);
  let config: Pick<SearchConfig, 'dataset' | 'latency'> & Partial<SearchConfig>;
  let baseDir: string;
  let seed: number;
  /** The search's proxy task, to measure the skeleton's proxy accuracy as the children's was. */
  let proxy: { recipe: TrainRecipe; dataset: DatasetRequest; seed: number } | null = null;
  const jobs: FullJob[] = [];
  const skipped: { key: string; why: string }[] = [];
  let out: string;

  if (o.run) {
    const run = path.resolve(o.run);
    out = run;
    const { info, children } = readRun(run);
    config = info.config;
    baseDir = path.dirname(info.file);
    seed = o.seed ?? info.seed;
    const d = info.config.dataset;
    proxy = {
      recipe: info.recipe as unknown as TrainRecipe, seed: info.seed * 100_003,
      dataset: {
        name: d.name as DatasetRequest['name'], train: info.dataset.train, test: info.dataset.test, seed: info.seed,
        ...(d.path ? { path: path.resolve(baseDir, d.path) } : {}),
        ...(d.resolution !== undefined ? { resolution: d.resolution } : {}), ...(d.channels !== undefined ? { channels: d.channels } : {}),
      },
    };
    let chosen: ChildRecord[];
    if (o.children?.length) {
      chosen = o.children.map((id) => {
        const c = children.find((x) => x.id === id);
        if (!c) throw new FullTrainingError(`${run}: no child ${id} in its journal (a failed or not yet evaluated child cannot be trained). See \`mnas report ${o.run}\`.`);
        return c.cachedFrom !== undefined ? children.find((x) => x.id === c.cachedFrom) ?? c : c;
      });
    } else {
      chosen = rankForTraining(children, info.config.targetMs).slice(0, o.top ?? 3);
      if (chosen.length === 0) throw new FullTrainingError(`${run}: no evaluated child yet; run or resume the search first.`);
    }
    for (const c of chosen) {
      const target: FullTarget = { kind: 'child', id: c.id };
      jobs.push({
        key: `child ${c.id}`, target, name: c.name, spec: c.spec, dir: fullDir(run, target), proxyAccuracy: c.accuracy,
        latency: { ms: c.latencyMs, spread: c.latencySpread, source: c.latencySource, median: c.latencyMs, min: c.latencyMs, max: c.latencyMs, repeats: 0 },
      });
    }
    if (o.baseline !== false) {
      const target: FullTarget = { kind: 'baseline' };
      jobs.push({ key: 'baseline', target, name: info.space.skeleton.name, spec: info.space.skeleton, dir: fullDir(run, target), proxyAccuracy: null, latency: null });
    }
  } else if (o.model) {
    out = path.resolve(o.model.out);
    const cfg = o.model.config;
    if (!cfg && !o.dataset) throw new FullTrainingError(`${o.model.file} has no search section to take the dataset from: pass --dataset (e.g. --dataset mnist).`);
    config = { dataset: o.dataset ?? cfg!.dataset, latency: cfg?.latency ?? { kind: 'local' } };
    baseDir = path.dirname(path.resolve(o.model.file));
    seed = o.seed ?? cfg?.seed ?? 1;
    jobs.push({ key: o.model.spec.name, target: { kind: 'model' }, name: o.model.spec.name, spec: o.model.spec, dir: out, proxyAccuracy: null, latency: null });
  } else {
    throw new FullTrainingError('nothing to train: give a run folder (with --top K) or a .mnas file with --model NAME.');
  }
  if (o.dataset) config = { ...config, dataset: o.dataset };

  // Already trained: kept (delete full.json to train again). Started: resumed only when asked.
  const todo: FullJob[] = [];
  for (const j of jobs) {
    if (readFullRecord(j.dir) && !(o.resume && hasCheckpoint(j.dir))) {
      skipped.push({ key: j.key, why: `already trained (${path.join(j.dir, FULL_FILES.result)}); delete it to train again` });
    } else if (hasCheckpoint(j.dir) && !o.resume) {
      throw new FullTrainingError(`${j.key} has an unfinished full training in ${j.dir} (${FULL_FILES.checkpoint}): continue it with --resume, or delete that file to start over.`);
    } else {
      todo.push(j);
    }
  }

  const choice = await fullDataset(config.dataset, seed, baseDir, o.sizes);
  let data: DataSpec;
  try {
    data = await prepareDataset({ ...choice.request, cacheDir: o.cacheDir });
  } catch (e) {
    throw new FullTrainingError(`the dataset cannot be prepared: ${(e as Error).message}`);
  }
  const recipe = fullRecipe(data, o.recipe);
  const onWarning = (message: string) => emit({ event: 'warning', message });
  const executor: FullExecutor = o.executor ?? (o.queue
    ? await (await import('./queueExecutor')).QueueFullExecutor.start({ ...o.queue, run: runQueueId(out), latency: config.latency, baseDir, onWarning })
    : await LocalFullExecutor.start({ python: o.python, workers: o.workers, backend: o.backend, latency: config.latency, baseDir }));
  const records: FullRecord[] = [];
  let failed = 0;
  const onAbort = () => executor.kill();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  emit({ event: 'start', out, jobs: todo.map((j) => ({ key: j.key, name: j.name, dir: j.dir, resume: hasCheckpoint(j.dir) })), skipped, backend: executor.backend, dataset: `${data.split}; ${choice.note}`, recipe });
  let timed: Map<string, LatencyMeasurement>;
  try {
    timed = await timeTogether(todo);
  } catch (e) {
    await executor.close();
    throw new FullTrainingError(`timing the networks failed: ${(e as Error).message}`);
  }
  try {
    await Promise.all(todo.map(async (job) => {
      try {
        const rec = await trainOne(job);
        if (rec) records.push(rec);
      } catch (e) {
        if (o.signal?.aborted) return;
        failed++;
        emit({ event: 'failed', key: job.key, error: (e as Error).message });
      }
    }));
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    if (!o.signal?.aborted) await executor.close();
  }
  const status = o.signal?.aborted ? 'stopped' : failed ? 'failed' : 'done';
  emit({ event: 'done', status, trained: records.length, failed, seconds: (Date.now() - started) / 1000 });
  return { status, records };

  /**
   * Every network of the table timed in the same session, in alternating rounds (median of
   * LATENCY_ROUNDS), so the skeleton and the children are compared under the same load; the
   * search's figure for a child is kept beside it. On the queue only the skeleton is timed.
   */
  async function timeTogether(list: FullJob[]): Promise<Map<string, LatencyMeasurement>> {
    const samples = new Map<string, LatencyMeasurement[]>();
    const which = list.filter((j) => executor.retimes || !j.latency);
    for (let r = 0; r < LATENCY_ROUNDS && which.length; r++) {
      for (const j of which) {
        if (o.signal?.aborted) break;
        samples.set(j.key, [...(samples.get(j.key) ?? []), await executor.measure(j.spec)]);
      }
    }
    const out = new Map<string, LatencyMeasurement>();
    for (const j of list) {
      const got = [...(samples.get(j.key) ?? [])].sort((a, b) => a.ms - b.ms);
      const pick = got.length ? got[Math.floor(got.length / 2)] : j.latency;
      if (pick) out.set(j.key, pick);
    }
    return out;
  }

  async function trainOne(job: FullJob): Promise<FullRecord | null> {
    const arch = toArch(trainedSpec(job.spec, config, data));
    const full = toArch(job.spec);
    const cost = costOf(full);
    // Timed with the others (timeTogether); the skeleton's proxy accuracy is measured with the
    // search's own proxy recipe, so the table compares like with like.
    const latency = timed.get(job.key) ?? job.latency ?? await executor.measure(job.spec);
    let proxyAccuracy = job.proxyAccuracy;
    if (proxyAccuracy === null && proxy && job.target.kind === 'baseline') {
      const pdata = await prepareDataset({ ...proxy.dataset, cacheDir: o.cacheDir });
      const parch = toArch(proxySpec(job.spec, config as SearchConfig, pdata));
      proxyAccuracy = await executor.trainProxy(job, { arch: parch, data: pdata, dataset: proxy.dataset, recipe: proxy.recipe, seed: proxy.seed });
    }
    if (o.signal?.aborted) return null;
    emit({ event: 'begin', key: job.key, name: job.name, epochs: recipe.epochs });
    const r = await executor.trainFull(job, { arch, data, dataset: choice.request, recipe, seed, resume: !!o.resume }, (e) => {
      if (e.event === 'progress') emit({ ...e, key: job.key });
      else if (e.event === 'resumed') emit({ event: 'resumed', key: job.key, epoch: e.epoch, epochs: e.epochs });
      else if (e.event === 'epoch') {
        emit({ event: 'epoch', key: job.key, epoch: e.epoch, epochs: e.epochs, loss: e.loss, trainAccuracy: e.trainAccuracy, valAccuracy: e.valAccuracy, valAccuracyEma: e.valAccuracyEma, seconds: e.seconds, elapsed: e.elapsed, best: e.best });
      }
    });
    const rec: FullRecord = {
      format: FULL_FORMAT, version: 1, target: job.target, name: job.name, model: printModel(job.spec), arch,
      params: cost.params, multAdds: cost.multAdds, latencyMs: latency.ms, latencySpread: latency.spread, latencySource: latency.source,
      searchLatencyMs: job.latency?.ms ?? null,
      proxyAccuracy, accuracy: r.accuracy, lastAccuracy: r.lastAccuracy, valAccuracy: r.valAccuracy, bestEpoch: r.bestEpoch, bestSource: r.bestSource,
      epochs: r.epochs, recipe, dataset: { name: data.name, train: data.train, test: r.testImages, split: data.split, valImages: r.valImages },
      seed, trainSeconds: r.trainSeconds, backend: executor.backend,
      ...(r.job ? { job: r.job } : {}), ...(r.worker ? { worker: r.worker } : {}), time: new Date().toISOString(),
    };
    writeFullRecord(job.dir, rec);
    emit({ event: 'trained', key: job.key, name: job.name, accuracy: r.accuracy, lastAccuracy: r.lastAccuracy, proxyAccuracy, latencyMs: latency.ms, dir: job.dir });
    return rec;
  }
}

/** The local pool (PyTorch workers) and the run's latency source on this machine. */
export class LocalFullExecutor implements FullExecutor {
  private latency?: Promise<LatencySource>;

  private constructor(private readonly pool: TrainerPool, private readonly opts: { python?: string; latency: SearchConfig['latency']; baseDir: string }) {}

  static async start(o: { python?: string; workers?: number; backend?: TrainerBackend; latency: SearchConfig['latency']; baseDir: string }): Promise<LocalFullExecutor> {
    const pool = await TrainerPool.start({ size: o.workers, backend: o.backend ?? 'torch', python: o.python });
    return new LocalFullExecutor(pool, o);
  }

  readonly retimes = true;

  get backend(): string { return `${this.pool.backend}, ${this.pool.size} at a time, ${this.pool.threads} thread${this.pool.threads === 1 ? '' : 's'} each`; }

  async trainFull(job: FullJob, req: FullRequest, onEvent: (e: FullTrainEvent) => void): Promise<FullTrainResult> {
    try {
      return await this.pool.trainFull({ arch: req.arch, data: req.data, recipe: req.recipe, seed: req.seed, outDir: job.dir, resume: req.resume }, onEvent);
    } catch (e) {
      if (e instanceof TrainerDiedError) throw new FullTrainingError(`the training worker died (${e.message}); its last checkpoint is kept: run again with --resume`);
      throw e;
    }
  }

  async trainProxy(job: FullJob, req: ProxyRequest): Promise<number> {
    const r = await this.pool.train({ arch: req.arch, data: req.data, recipe: req.recipe, seed: req.seed, outDir: job.dir });
    return r.accuracy;
  }

  measure(spec: ModelSpec): Promise<LatencyMeasurement> {
    this.latency ??= openLatencySource(this.opts.latency, { python: this.opts.python, baseDir: this.opts.baseDir });
    return this.latency.then((l) => l.measure(toArch(spec)));
  }

  kill(): void {
    this.pool.kill();
    void this.latency?.then((l) => l.close(), () => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.latency?.then((l) => l.close(), () => undefined)]);
  }
}
