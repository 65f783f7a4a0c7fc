// The MnasNet search loop: sample a batch of children (LSTM controller, or uniform for the
// random baseline), evaluate each (proxy accuracy, full-size latency), reward, PPO update,
// checkpoint. Every step is journaled first, so a run killed at any point resumes exactly:
// no completed child lost, none counted twice, the controller from its last checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Arch, type ModelSpec, toArch } from '../language/arch';
import { decisions as spaceDecisions, type ResolvedSpace, sample } from '../language/space';
import type { SearchConfig } from '../language/searchConfig';
import { printModel } from '../language/print';
import { costOf } from '../cost/model';
import { prepareDataset } from '../train/datasets';
import type { DataSpec, TrainRecipe } from '../train/trainer';
import type { TrainerBackend } from '../train/createTrainer';
import { loadTf } from '../platform/tfjs';
import { Controller } from './controller';
import { ChildFailedError, type Evaluator, LocalEvaluator } from './evaluator';
import { writeAtomic } from '../util/atomicWrite';
import { Journal, readJournal } from '../util/journal';
import { reward as rewardOf } from './reward';
import { Rng } from '../util/rng';
import {
  type BatchRecord, type ChildRecord, type FailedRecord, type JournalEntry, RUN_FORMAT, type RunInfo, runPaths, runRelative,
  type UpdateRecord, writeSummaries,
} from './runFolder';
import { loadSearch, SearchInputError } from './searchInput';
import type { DatasetRequest } from '../queue/payload';
import type { QueueEvaluatorOptions } from '../queue/queueEvaluator';
import { runQueueId } from '../queue/topology';

export { SearchInputError };

/** Child training recipe for proxy runs (Adam, BN momentum 0.1: see docs/search.md). */
export const DEFAULT_RECIPE: Omit<TrainRecipe, 'epochs' | 'batchSize'> = {
  lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0, schedule: 'constant',
};

export type SearchEvent =
  | { event: 'start'; run: string; search: string; strategy: string; total: number; done: number; resumed: boolean; backend: RunInfo['backend'] }
  | { event: 'child'; id: number; step: number; name: string; accuracy: number; latencyMs: number; reward: number; params: number; multAdds: number; cached: boolean; done: number; total: number; best: number; seconds: number }
  | { event: 'failed'; id: number; step: number; error: string; done: number; total: number }
  | { event: 'update'; step: number; stats: Record<string, number> }
  | { event: 'progress'; id: number; epoch: number; step: number; steps: number; loss: number }
  | { event: 'warning'; message: string }
  | { event: 'done'; run: string; status: 'done' | 'stopped'; children: number; failed: number; best: { id: number; name: string; reward: number; accuracy: number; latencyMs: number } | null; seconds: number };

export interface SearchOptions {
  /** The .mnas file (new runs). */
  file?: string;
  /** Which search of the file; default its only (or first) search. */
  search?: string;
  /** Parent folder of new runs; default ./mnas-runs. */
  out?: string;
  /** A run folder to continue. */
  resume?: string;
  seed?: number;
  /** Total children (overrides the file's budget; on resume, extends the run). */
  budget?: number;
  strategy?: 'rl' | 'random';
  python?: string;
  workers?: number;
  /** Child-training backend (default auto: PyTorch when available). */
  backend?: TrainerBackend;
  /** Dataset cache folder (default the user cache). */
  cacheDir?: string;
  /** An evaluator to use instead of the local PyTorch pool. */
  evaluator?: Evaluator;
  /** Evaluate children on `mnas worker` processes through this Redis queue instead of locally. */
  queue?: Omit<QueueEvaluatorOptions, 'run' | 'latency' | 'baseDir' | 'onWarning'>;
  onEvent?: (e: SearchEvent) => void;
  signal?: AbortSignal;
}

export interface SearchResult {
  dir: string;
  status: 'done' | 'stopped';
  children: ChildRecord[];
  failed: FailedRecord[];
  /** Milliseconds spent in controller sampling, PPO updates and journal writes. */
  overheadMs: { sample: number; update: number; journal: number };
  evaluationMs: number;
}

/** The network trained on the proxy task: proxy input, classes and width. */
export function proxySpec(spec: ModelSpec, config: SearchConfig, data: DataSpec): ModelSpec {
  const [c, h, w] = data.shape;
  const res = config.dataset.resolution;
  return {
    ...spec,
    input: { h: res ?? h, w: res ?? w, c },
    width: spec.width * (config.dataset.width ?? 1),
    head: spec.head ? { ...spec.head, classes: data.classes } : { f: null, pool: 'avg', classes: data.classes, dropout: 0 },
  };
}

/** Same architecture, same key: a child sampled twice is trained once. */
function archKey(spec: ModelSpec): string {
  return JSON.stringify(spec.blocks.map((b) => ({ ...b, name: '', e: b.op === 'mbconv' ? b.e : 1 })));
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function ensureWritable(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    throw new SearchInputError(`cannot write the run folder ${dir}: ${(e as Error).message}. Choose another folder with --out.`);
  }
}

export async function runSearch(opts: SearchOptions): Promise<SearchResult> {
  const started = Date.now();
  const emit = (e: SearchEvent) => opts.onEvent?.(e);
  let info: RunInfo;
  let dir: string;
  const resumed = !!opts.resume;

  if (opts.resume) {
    dir = path.resolve(opts.resume);
    const p = runPaths(dir);
    if (!fs.existsSync(p.info)) throw new SearchInputError(`${dir} is not a run folder (no run.json). Pass the folder \`mnas search\` created, e.g. mnas-runs/Quickstart-20261123-101500.`);
    try {
      info = JSON.parse(fs.readFileSync(p.info, 'utf8')) as RunInfo;
    } catch (e) {
      throw new SearchInputError(`${p.info}: not valid JSON (${(e as Error).message}). The run folder is damaged; start a new run.`);
    }
    if (info.format !== RUN_FORMAT) throw new SearchInputError(`${p.info}: not an mnas run (format ${String(info.format)}).`);
    if (opts.budget && opts.budget !== info.children) {
      info.children = opts.budget;
      writeAtomic(p.info, JSON.stringify(info, null, 2) + '\n');
    }
  } else {
    if (!opts.file) throw new SearchInputError('no .mnas file given: `mnas search FILE` (or --resume RUN).');
    const { config, space } = loadSearch(opts.file, opts.search);
    const seed = opts.seed ?? config.seed;
    const strategy = opts.strategy ?? config.strategy;
    dir = path.resolve(opts.out ?? 'mnas-runs', `${config.name}-${strategy}-${stamp()}`);
    ensureWritable(dir);
    info = {
      format: RUN_FORMAT, version: 1, file: path.resolve(opts.file), search: config.name, config: { ...config, seed, strategy },
      space, decisions: spaceDecisions(space).map((d) => d.key), strategy, seed, children: opts.budget ?? config.budget.children,
      created: new Date().toISOString(), versions: { node: process.version, mnas: '0.1.0' },
      backend: { trainer: '', controller: '', latency: '' },
      dataset: { split: '', train: config.dataset.train, test: config.dataset.test, classes: 0, shape: [] },
      recipe: { ...DEFAULT_RECIPE, epochs: config.budget.epochs, batchSize: config.budget.batch },
    };
  }
  const p = runPaths(dir);
  const config = info.config;
  const space: ResolvedSpace = info.space;
  const decisions = spaceDecisions(space);
  if (decisions.map((d) => d.key).join() !== info.decisions.join()) {
    throw new SearchInputError(`${p.info}: the stored space no longer matches its decisions; the run folder is damaged. Start a new run.`);
  }
  if (decisions.length === 0) throw new SearchInputError(`space ${space.name} leaves nothing open: every field is fixed. Add choice lists such as \`k [3, 5]\`.`);

  let data: DataSpec;
  try {
    data = await prepareDataset({
      name: config.dataset.name, train: config.dataset.train, test: config.dataset.test, seed: info.seed, cacheDir: opts.cacheDir,
      // Dataset paths are written relative to the .mnas file.
      path: config.dataset.path, baseDir: path.dirname(info.file), resolution: config.dataset.resolution, channels: config.dataset.channels,
    });
  } catch (e) {
    throw new SearchInputError(`${info.file}: search ${info.search}: the dataset cannot be prepared: ${(e as Error).message}`);
  }
  const recipe = info.recipe as unknown as TrainRecipe;

  // Controller (RL) or nothing (random); tf only loads for RL.
  let controller: Controller | undefined;
  /** Journal step of the last checkpoint (a batch whose children all failed has no update). */
  let checkpointStep = 0;
  let controllerBackend = 'none (random search)';
  if (info.strategy === 'rl') {
    const { tf, backend } = await loadTf();
    controllerBackend = backend;
    const c = config.controller;
    const hyper = { hidden: c.hidden, embedding: c.hidden, learningRate: c.lr, clip: c.clip, entropyWeight: c.entropy, baselineDecay: c.baselineDecay, ppoEpochs: c.epochs };
    if (fs.existsSync(p.controller)) {
      let ckpt: { step: number; controller: Parameters<typeof Controller.fromJSON>[1] };
      try {
        ckpt = JSON.parse(fs.readFileSync(p.controller, 'utf8'));
      } catch (e) {
        throw new SearchInputError(`${p.controller}: not valid JSON (${(e as Error).message}); the checkpoint is damaged. Start a new run.`);
      }
      controller = Controller.fromJSON(tf, ckpt.controller);
      checkpointStep = ckpt.step;
    } else {
      controller = new Controller(tf, decisions.map((d) => ({ key: d.key, options: d.options })), { seed: info.seed, ...hyper });
    }
  }

  // Rebuild the state from the journal.
  const journalRead = fs.existsSync(p.journal) ? Journal.repair(p.journal) : readJournal(p.journal);
  const entries = journalRead.entries as unknown as JournalEntry[];
  const children = new Map<number, ChildRecord>();
  const failed = new Map<number, FailedRecord>();
  const batches: BatchRecord[] = [];
  const updated = new Set<number>();
  for (const e of entries) {
    if (e.type === 'child') { children.set(e.id, e); failed.delete(e.id); }
    else if (e.type === 'failed') { if (!children.has(e.id)) failed.set(e.id, e); }
    else if (e.type === 'batch') batches.push(e);
    else if (e.type === 'update') updated.add(e.step);
  }
  const journal = new Journal(p.journal);
  const rng = batches.length ? Rng.fromState(batches[batches.length - 1].rng) : new Rng(info.seed);
  let pending = batches.length && !updated.has(batches[batches.length - 1].step) ? batches[batches.length - 1] : undefined;
  let step = updated.size;
  if (controller) {
    if (pending && checkpointStep === pending.step) {
      // Killed between the checkpoint and its journal line: the update is already applied.
      journal.append({ type: 'update', step: pending.step, stats: { recovered: 1 } } satisfies UpdateRecord);
      pending = undefined;
      step = checkpointStep;
    } else if (checkpointStep !== step) {
      throw new SearchInputError(`${p.controller} is at step ${checkpointStep} but the journal has ${step} updates; the run folder is inconsistent. Start a new run.`);
    }
  }

  const onWarning = (message: string) => emit({ event: 'warning', message });
  const evaluator: Evaluator = opts.evaluator ?? (opts.queue
    ? await (await import('../queue/queueEvaluator')).QueueEvaluator.start({
      ...opts.queue, run: runQueueId(dir), latency: config.latency, baseDir: path.dirname(info.file), onWarning,
    })
    : await LocalEvaluator.start({
      python: opts.python, workers: opts.workers, latency: config.latency, backend: opts.backend, baseDir: path.dirname(info.file), onWarning,
    }));
  // What a queue worker prepares itself instead of reading this host's cache.
  const datasetRequest: DatasetRequest = {
    name: config.dataset.name as DatasetRequest['name'], train: data.train, test: data.test, seed: info.seed,
    ...(config.dataset.path ? { path: path.resolve(path.dirname(info.file), config.dataset.path) } : {}),
    ...(config.dataset.resolution !== undefined ? { resolution: config.dataset.resolution } : {}),
    ...(config.dataset.channels !== undefined ? { channels: config.dataset.channels } : {}),
  };
  const onAbort = () => evaluator.abandon?.();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  info.backend = { trainer: evaluator.backend, controller: controllerBackend, latency: config.latency.kind };
  info.dataset = { split: data.split, train: data.train, test: data.test, classes: data.classes, shape: data.shape };
  writeAtomic(p.info, JSON.stringify(info, null, 2) + '\n');

  const overheadMs = { sample: 0, update: 0, journal: 0 };
  let evaluationMs = 0;
  const byKey = new Map<string, ChildRecord>();
  /** Evaluations under way, so a duplicate within a batch waits for the first instead of training again. */
  const inflight = new Map<string, Promise<ChildRecord | FailedRecord | undefined>>();
  for (const c of children.values()) if (c.cachedFrom === undefined) byKey.set(archKey(c.spec), c);
  const startedCount = () => batches.reduce((a, b) => a + b.samples.length, 0);
  const doneCount = () => children.size + failed.size;
  const best = () => [...children.values()].reduce<ChildRecord | null>((a, c) => (!a || c.reward > a.reward ? c : a), null);
  const log = (entry: JournalEntry) => {
    const t0 = performance.now();
    journal.append(entry);
    overheadMs.journal += performance.now() - t0;
  };

  emit({ event: 'start', run: dir, search: info.search, strategy: info.strategy, total: info.children, done: doneCount(), resumed, backend: info.backend });
  let status: 'done' | 'stopped' = 'done';
  try {
    while (pending || startedCount() < info.children) {
      if (opts.signal?.aborted) { status = 'stopped'; break; }
      let batch = pending;
      if (!batch) {
        const n = Math.min(config.controller.batch, info.children - startedCount());
        const t0 = performance.now();
        const firstId = batches.length ? Math.max(...batches.flatMap((b) => b.samples.map((s) => s.id))) + 1 : 0;
        const drawn = controller
          ? controller.sample(n, rng)
          : Array.from({ length: n }, () => {
            const actions = decisions.map((d) => rng.int(d.options));
            return { actions, logProb: -decisions.reduce((a, d) => a + Math.log(d.options), 0) };
          });
        overheadMs.sample += performance.now() - t0;
        batch = { type: 'batch', step: step + 1, rng: rng.state, samples: drawn.map((s, i) => ({ id: firstId + i, actions: s.actions, logProb: s.logProb })) };
        log(batch);
        batches.push(batch);
      }
      pending = undefined;
      const todo = batch.samples.filter((s) => !children.has(s.id) && !failed.has(s.id));
      const t0 = performance.now();
      await Promise.all(todo.map(async (s) => {
        if (opts.signal?.aborted) return;
        const record = await evaluateChild(s, batch!.step);
        if (!record) return;
        if (record.type === 'child') {
          children.set(record.id, record);
          const b = best()!;
          emit({ event: 'child', id: record.id, step: record.step, name: record.name, accuracy: record.accuracy, latencyMs: record.latencyMs, reward: record.reward, params: record.params, multAdds: record.multAdds, cached: record.cachedFrom !== undefined, done: doneCount(), total: info.children, best: b.reward, seconds: record.trainSeconds });
        } else {
          failed.set(record.id, record);
          emit({ event: 'failed', id: record.id, step: record.step, error: record.error, done: doneCount(), total: info.children });
        }
      }));
      evaluationMs += performance.now() - t0;
      if (opts.signal?.aborted || batch.samples.some((s) => !children.has(s.id) && !failed.has(s.id))) { status = 'stopped'; break; }

      // PPO on the batch's successful children; then checkpoint, then the journal line.
      const items = batch.samples.filter((s) => children.has(s.id)).map((s) => ({ actions: s.actions, logProbOld: s.logProb, reward: children.get(s.id)!.reward }));
      let stats: Record<string, number> = { children: items.length };
      if (controller) {
        if (items.length > 0) {
          const u0 = performance.now();
          stats = { ...controller.update(items) } as unknown as Record<string, number>;
          overheadMs.update += performance.now() - u0;
        } else {
          stats = { skipped: 1 }; // every child failed: nothing to learn from
        }
        const j0 = performance.now();
        writeAtomic(p.controller, JSON.stringify({ step: batch.step, rng: rng.state, controller: controller.toJSON() }));
        overheadMs.journal += performance.now() - j0;
      }
      step = batch.step;
      log({ type: 'update', step, stats } satisfies UpdateRecord);
      emit({ event: 'update', step, stats });
      writeSummaries(dir, [...children.values()], [...failed.values()]);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (status === 'stopped' && evaluator instanceof LocalEvaluator) evaluator.kill();
    else if (!opts.evaluator) await evaluator.close();
    journal.close();
    controller?.dispose();
  }
  writeSummaries(dir, [...children.values()], [...failed.values()]);
  const b = best();
  emit({ event: 'done', run: dir, status, children: children.size, failed: failed.size, best: b && { id: b.id, name: b.name, reward: b.reward, accuracy: b.accuracy, latencyMs: b.latencyMs }, seconds: (Date.now() - started) / 1000 });
  return { dir, status, children: [...children.values()].sort((x, y) => x.id - y.id), failed: [...failed.values()], overheadMs, evaluationMs };

  async function evaluateChild(s: BatchRecord['samples'][number], batchStep: number): Promise<ChildRecord | FailedRecord | undefined> {
    const name = `${info.search}_c${String(s.id).padStart(4, '0')}`;
    const spec = sample(space, s.actions, name);
    const full: Arch = toArch(spec);
    const cost = costOf(full);
    const key = archKey(spec);
    const base = { id: s.id, step: batchStep, actions: s.actions, name, time: new Date().toISOString() };
    const running = inflight.get(key);
    if (running) await running;
    const earlier = byKey.get(key);
    let record: ChildRecord | FailedRecord;
    if (earlier) {
      record = { ...earlier, ...base, type: 'child', spec, model: printModel(spec), cachedFrom: earlier.cachedFrom ?? earlier.id, weights: earlier.weights };
    } else {
      const proxy = toArch(proxySpec(spec, config, data));
      let settle!: (r: ChildRecord | FailedRecord | undefined) => void;
      inflight.set(key, new Promise((resolve) => { settle = resolve; }));
      try {
        const r = await evaluator.evaluate({
          id: s.id, proxy, full, data, recipe, seed: info.seed * 100_003 + s.id, outDir: path.join(p.children, String(s.id)), dataset: datasetRequest,
        }, (pr) => emit({ event: 'progress', id: s.id, epoch: pr.epoch, step: pr.step, steps: pr.steps, loss: pr.loss }));
        const rw = rewardOf({
          accuracy: r.accuracy, latencyMs: r.latency.ms, targetMs: config.targetMs, alpha: config.reward.alpha, beta: config.reward.beta,
          params: cost.params, multAdds: cost.multAdds, constraints: config.constraints,
        });
        // Relative to the run folder, so a copied run uses its own files; a path outside it is not recorded.
        const weights = r.train.weightsPath ? runRelative(dir, r.train.weightsPath) : undefined;
        record = {
          ...base, type: 'child', spec, model: printModel(spec), accuracy: r.accuracy, latencyMs: r.latency.ms, latencySpread: r.latency.spread,
          latencySource: r.latency.source, params: cost.params, multAdds: cost.multAdds, proxyParams: r.train.params, reward: rw.reward,
          trainSeconds: r.train.trainSeconds, imagesPerSecond: r.train.imagesPerSecond, attempts: r.attempts,
          ...(weights ? { weights } : {}),
          ...(r.jobs ? { jobs: r.jobs } : {}), ...(r.workers ? { workers: r.workers } : {}),
        };
        byKey.set(key, record);
      } catch (e) {
        if (opts.signal?.aborted) return undefined;
        if (!(e instanceof ChildFailedError)) throw e;
        record = { ...base, type: 'failed', error: e.message };
      } finally {
        inflight.delete(key);
        settle(undefined);
      }
    }
    if (opts.signal?.aborted) return undefined;
    log(record);
    return record;
  }
}
