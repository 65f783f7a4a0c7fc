// The MnasNet search loop: sample a batch of children (LSTM controller, or uniform for the
// random baseline), evaluate each (proxy accuracy, full-size latency), reward, PPO update,
// checkpoint. Every step is journaled first, so a run killed at any point resumes exactly:
// no completed child lost, none counted twice, the controller from its last checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Arch, type ModelSpec, toArch } from '../language/arch';
import { decisions as spaceDecisions, type ResolvedSpace, sample } from '../language/space';
import { printModel } from '../language/print';
import { costOf } from '../cost/model';
import { type DatasetRequest, prepareDataset } from '../train/datasets';
import type { DataSpec, TrainRecipe } from '../train/trainer';
import { loadTf } from '../platform/tfjs';
import { writeAtomic } from '../util/atomicWrite';
import { Journal } from '../util/journal';
import { Rng } from '../util/rng';
import { Controller } from './controller/controller';
import { hyperOf } from './controller/hyper';
import { STALE_WEIGHTING, type StaleWeighting } from './controller/ppo';
import { ChildFailedError, type Evaluator, type EvaluatorFactory, type TrainedChild } from './evaluator';
import { proxySpec } from './proxy';
import { reward as rewardOf } from './reward';
import { type OpenedRun, openRun, type RunOptions } from './openRun';
import {
  type BatchRecord, type ChildRecord, type FailedRecord, type JournalEntry, type RunInfo, runPaths, runRelative, type TrainedRecord, type UpdateRecord,
  writeSummaries,
} from './runFolder';
import { replayJournal } from './runJournal';
import { SearchInputError } from './searchInput';
import type { ResumePlan, SearchEvent } from './events';
import { resolveTarget } from './target';

export interface SearchOptions extends RunOptions {
  /**
   * Who trains and times the children: an Evaluator (the caller closes it), or a factory the
   * engine calls once the run is open and closes at the end. The CLI picks one:
   * `localEvaluator()` (evaluator.ts) or `queueEvaluator()` (queue/queueEvaluator.ts).
   */
  evaluator: Evaluator | EvaluatorFactory;
  /** Dataset cache folder (default the user cache). */
  cacheDir?: string;
  onEvent?: (e: SearchEvent) => void;
  signal?: AbortSignal;
  /**
   * How `overlap on` updates weigh children sampled by an earlier policy (default STALE_WEIGHTING,
   * ppo.ts); synchronous updates always use plain PPO. The overlap-ppo benchmark compares them.
   */
  staleWeighting?: StaleWeighting;
}

export interface SearchResult {
  dir: string;
  status: 'done' | 'stopped';
  children: ChildRecord[];
  failed: FailedRecord[];
  /** Milliseconds spent in controller sampling, PPO updates and journal writes. */
  overheadMs: { sample: number; update: number; journal: number };
  /**
   * CPU milliseconds of this process in the same steps, plus the summaries rewritten after each
   * update (results.csv, pareto.json, best/): what one controller can sustain (queue-scale bench).
   */
  cpuMs: { sample: number; update: number; journal: number; summaries: number };
  evaluationMs: number;
}

/** CPU time of this process so far, ms (user + system). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Same architecture, same key: a child sampled twice is trained once. */
function archKey(spec: ModelSpec): string {
  return JSON.stringify(spec.blocks.map((b) => ({ ...b, name: '', e: b.op === 'mbconv' ? b.e : 1 })));
}

/**
 * The RL controller, new or from the run's last checkpoint (controller.json), or none for the
 * random baseline; tf only loads for RL. `checkpointStep` is the journal step the checkpoint
 * was written at (a batch whose children all failed has no update).
 */
async function openController(info: RunInfo, checkpoint: string): Promise<{ controller?: Controller; checkpointStep: number; checkpointChildren?: number[]; backend: string }> {
  if (info.strategy !== 'rl') return { checkpointStep: 0, backend: 'none (random search)' };
  const { tf, backend } = await loadTf();
  if (fs.existsSync(checkpoint)) {
    let ckpt: { step: number; children?: number[]; controller: Parameters<typeof Controller.fromJSON>[1] };
    try {
      ckpt = JSON.parse(fs.readFileSync(checkpoint, 'utf8'));
    } catch (e) {
      throw new SearchInputError(`${checkpoint}: not valid JSON (${(e as Error).message}); the checkpoint is damaged. Start a new run.`);
    }
    return { controller: Controller.fromJSON(tf, ckpt.controller), checkpointStep: ckpt.step, checkpointChildren: ckpt.children, backend };
  }
  const decisions = spaceDecisions(info.space).map((d) => ({ key: d.key, options: d.options }));
  return { controller: new Controller(tf, decisions, { seed: info.seed, ...hyperOf(info.config.controller) }), checkpointStep: 0, backend };
}

/** The dataset as a queue worker prepares it itself instead of reading this host's cache. */
function datasetRequestOf(info: RunInfo, data: DataSpec): DatasetRequest {
  const d = info.config.dataset;
  return {
    name: d.name as DatasetRequest['name'], train: data.train, test: data.test, seed: info.seed,
    ...(d.path ? { path: path.resolve(path.dirname(info.file), d.path) } : {}),
    ...(d.resolution !== undefined ? { resolution: d.resolution } : {}),
    ...(d.channels !== undefined ? { channels: d.channels } : {}),
  };
}

export async function runSearch(opts: SearchOptions): Promise<SearchResult> {
  const opened = openRun(opts);
  let begun = false;
  try {
    return await search(opts, opened, () => { begun = true; });
  } catch (e) {
    // A new run that could not start (its dataset, the evaluator, Redis) has nothing to resume:
    // no empty folder is left behind.
    if (!begun && opened.created) fs.rmSync(opened.dir, { recursive: true, force: true });
    throw e;
  }
}

async function search(opts: SearchOptions, opened: OpenedRun, begin: () => void): Promise<SearchResult> {
  const started = Date.now();
  const emit = (e: SearchEvent) => opts.onEvent?.(e);
  const { dir, info, resumed, reference } = opened;
  const p = runPaths(dir);
  const config = info.config;
  const space: ResolvedSpace = info.space;
  const decisions = spaceDecisions(space);

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

  const { controller, checkpointStep, checkpointChildren, backend: controllerBackend } = await openController(info, p.controller);
  // A run from before the setting existed has none: it resumes synchronous.
  const overlap = config.controller.overlap === true;

  // Rebuild the state from the journal.
  const { children, failed, trained, batches, updated, used } = replayJournal(p.journal);
  const rng = batches.length ? Rng.fromState(batches[batches.length - 1].rng) : new Rng(info.seed);
  let pending = !overlap && batches.length && !updated.has(batches[batches.length - 1].step) ? batches[batches.length - 1] : undefined;
  let step = updated.size;
  let recovered: UpdateRecord | undefined;
  if (controller && overlap) {
    if (checkpointStep === step + 1 && checkpointChildren) {
      // Killed between the checkpoint and its journal line: the update, and which children it used, are in the checkpoint.
      recovered = { type: 'update', step: checkpointStep, stats: { recovered: 1 }, children: checkpointChildren };
      for (const id of checkpointChildren) used.add(id);
      step = checkpointStep;
    } else if (checkpointStep !== step) {
      throw new SearchInputError(`${p.controller} is at step ${checkpointStep} but the journal has ${step} updates; the run folder is inconsistent. Start a new run.`);
    }
  } else if (controller) {
    if (pending && checkpointStep === pending.step) {
      // Killed between the checkpoint and its journal line: the update is already applied.
      recovered = { type: 'update', step: pending.step, stats: { recovered: 1 } };
      pending = undefined;
      step = checkpointStep;
    } else if (checkpointStep !== step) {
      throw new SearchInputError(`${p.controller} is at step ${checkpointStep} but the journal has ${step} updates; the run folder is inconsistent. Start a new run.`);
    }
  }
  // Counted once here and kept up by draw(): an overlap run journals a batch line per child or so.
  let sampledCount = batches.reduce((a, b) => a + b.samples.length, 0);
  let nextId = batches.length ? Math.max(...batches.flatMap((b) => b.samples.map((s) => s.id))) + 1 : 0;
  const startedCount = () => sampledCount;
  const doneCount = () => children.size + failed.size;
  /** Sampled children without a result yet (an overlap run resubmits them all). */
  const openSamples = () => batches.flatMap((b) => b.samples.map((x) => ({ sample: x, step: b.step }))).filter(({ sample: x }) => !children.has(x.id) && !failed.has(x.id));
  if (resumed && opts.budget !== undefined) {
    const open = openSamples();
    checkBudget(opts.budget, info, doneCount(), startedCount(), overlap && open.length ? { type: 'batch', step: step + 1, rng: rng.state, samples: open.map((o) => o.sample) } : pending);
  }

  const onWarning = (message: string) => emit({ event: 'warning', message });
  const owned = typeof opts.evaluator === 'function';
  const evaluator: Evaluator = typeof opts.evaluator === 'function'
    ? await opts.evaluator({ dir, latency: config.latency, baseDir: path.dirname(info.file), onWarning })
    : opts.evaluator;
  const datasetRequest = datasetRequestOf(info, data);
  if (!resumed && config.target?.kind === 'relative') {
    // T = factor x the reference model on this run's latency source, measured once; run.json keeps it.
    try {
      const t = await resolveTarget(config.target, reference, (arch) => evaluator.measureLatency(arch));
      config.targetMs = t.targetMs;
      info.target = t.record;
    } catch (e) {
      if (owned) await evaluator.close().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
      throw new SearchInputError(`${info.file}: search ${info.search}: ${(e as Error).message}`);
    }
  }
  /** Children being trained, and trained ones waiting for their latency: what a stop ends. */
  const training = new Set<number>();
  const timing = new Set<number>();
  const onAbort = () => {
    emit({ event: 'stopping', training: [...training].sort((a, b) => a - b), timing: [...timing].sort((a, b) => a - b) });
    evaluator.abandon?.();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  info.backend = { trainer: evaluator.backend, controller: controllerBackend, latency: config.latency.kind };
  info.dataset = { split: data.split, train: data.train, test: data.test, classes: data.classes, shape: data.shape };
  writeAtomic(p.info, JSON.stringify(info, null, 2) + '\n');
  const journal = new Journal(p.journal);
  if (recovered) journal.append(recovered);
  begin();

  const overheadMs = { sample: 0, update: 0, journal: 0 };
  const cpuMs = { sample: 0, update: 0, journal: 0, summaries: 0 };
  let evaluationMs = 0;
  const byKey = new Map<string, ChildRecord>();
  /** Evaluations under way, so a duplicate within a batch waits for the first instead of training again. */
  const inflight = new Map<string, Promise<ChildRecord | FailedRecord | undefined>>();
  for (const c of children.values()) if (c.cachedFrom === undefined) byKey.set(archKey(c.spec), c);
  const best = () => [...children.values()].reduce<ChildRecord | null>((a, c) => (!a || c.reward > a.reward ? c : a), null);
  const log = (entry: JournalEntry) => {
    const t0 = performance.now();
    const c0 = cpuNow();
    journal.append(entry);
    overheadMs.journal += performance.now() - t0;
    cpuMs.journal += cpuNow() - c0;
  };
  const summarise = () => {
    const c0 = cpuNow();
    writeSummaries(dir, [...children.values()], [...failed.values()]);
    cpuMs.summaries += cpuNow() - c0;
  };

  emit({ event: 'start', run: dir, search: info.search, strategy: info.strategy, total: info.children, done: doneCount(), resumed, backend: info.backend, target: { ms: config.targetMs, ...(info.target ? { relative: info.target } : {}) } });
  for (const message of opened.warnings) emit({ event: 'warning', message });
  if (resumed && opts.budget !== undefined && startedCount() === opts.budget && !pending) {
    emit({ event: 'warning', message: `this run already has its ${opts.budget} children: nothing to do (--budget counts the run's children in all; give more than ${opts.budget} to add some).` });
  }
  let status: 'done' | 'stopped' = 'done';
  /** Draws n children (the controller, or uniform for random search) and journals them as one batch record. */
  const draw = (n: number): BatchRecord => {
    const t0 = performance.now();
    const c0 = cpuNow();
    const firstId = nextId;
    const drawn = controller
      ? controller.sample(n, rng)
      : Array.from({ length: n }, () => {
        const actions = decisions.map((d) => rng.int(d.options));
        return { actions, logProb: -decisions.reduce((a, d) => a + Math.log(d.options), 0) };
      });
    overheadMs.sample += performance.now() - t0;
    cpuMs.sample += cpuNow() - c0;
    const batch: BatchRecord = { type: 'batch', step: step + 1, rng: rng.state, samples: drawn.map((s, i) => ({ id: firstId + i, actions: s.actions, logProb: s.logProb })) };
    log(batch);
    batches.push(batch);
    nextId += n;
    sampledCount += n;
    return batch;
  };
  /** One PPO update on these finished children (each with the log-prob its sampling policy gave it), checkpoint, journal line, summaries. */
  const updateOn = (ids: number[], sampled: Map<number, { actions: number[]; logProb: number }>, nextStep: number, named: boolean) => {
    const items = ids.filter((id) => children.has(id)).map((id) => ({ actions: sampled.get(id)!.actions, logProbOld: sampled.get(id)!.logProb, reward: children.get(id)!.reward }));
    let stats: Record<string, number> = { children: items.length };
    if (controller) {
      if (items.length > 0) {
        const u0 = performance.now();
        const c0 = cpuNow();
        stats = { ...controller.update(items, overlap ? opts.staleWeighting ?? STALE_WEIGHTING : undefined) } as unknown as Record<string, number>;
        overheadMs.update += performance.now() - u0;
        cpuMs.update += cpuNow() - c0;
      } else {
        stats = { skipped: 1 }; // every child failed: nothing to learn from
      }
      const j0 = performance.now();
      const c0 = cpuNow();
      writeAtomic(p.controller, JSON.stringify({ step: nextStep, rng: rng.state, ...(named ? { children: ids } : {}), controller: controller.toJSON() }));
      overheadMs.journal += performance.now() - j0;
      cpuMs.journal += cpuNow() - c0;
    }
    step = nextStep;
    log({ type: 'update', step, stats, ...(named ? { children: ids } : {}) } satisfies UpdateRecord);
    emit({ event: 'update', step, stats });
    summarise();
  };
  const record = (r: ChildRecord | FailedRecord) => {
    if (r.type === 'child') {
      children.set(r.id, r);
      const b = best()!;
      emit({ event: 'child', id: r.id, step: r.step, name: r.name, accuracy: r.accuracy, latencyMs: r.latencyMs, reward: r.reward, params: r.params, multAdds: r.multAdds, cached: r.cachedFrom !== undefined, done: doneCount(), total: info.children, best: b.reward, seconds: r.trainSeconds });
    } else {
      failed.set(r.id, r);
      emit({ event: 'failed', id: r.id, step: r.step, error: r.error, done: doneCount(), total: info.children });
    }
  };
  /**
   * `overlap on`: as many children out as the evaluator can train at once, plus a batch; each
   * one that finishes is replaced by a fresh sample from the current policy, and every `batch`
   * finished children make one update. Each child's log-prob under the policy that sampled it is
   * journaled with its batch record, so PPO's ratios after a resume are the ones it would have used.
   */
  const overlapLoop = async (): Promise<'done' | 'stopped'> => {
    const B = config.controller.batch;
    const sampled = new Map<number, { actions: number[]; logProb: number }>();
    for (const b of batches) for (const x of b.samples) sampled.set(x.id, x);
    // Finished children no update has used yet, in the order they finished (the journal's).
    const ready = [...children.keys()].filter((id) => !used.has(id));
    const running = new Map<number, Promise<void>>();
    let fatal: unknown;
    const submit = (x: BatchRecord['samples'][number], batchStep: number) => {
      sampled.set(x.id, x);
      running.set(x.id, evaluateChild(x, batchStep).then((r) => {
        if (!r) return;
        record(r);
        if (r.type === 'child') ready.push(r.id);
      }, (e) => { fatal ??= e; }).finally(() => running.delete(x.id)));
    };
    for (const o of openSamples()) submit(o.sample, o.step);
    // What can run at once plus a batch waiting in the queue: workers that finish while the
    // controller updates take a waiting child instead of waiting for it. A batch while the
    // capacity is unknown (no worker yet).
    const window = () => {
      const c = evaluator.capacity?.() ?? 0;
      return c > 0 ? c + B : B;
    };
    for (;;) {
      if (fatal) throw fatal;
      if (opts.signal?.aborted) break;
      while (ready.length >= B && !opts.signal?.aborted) updateOn(ready.splice(0, B), sampled, step + 1, true);
      if (opts.signal?.aborted) break;
      const room = Math.min(window() - running.size, info.children - startedCount());
      if (room > 0) {
        const batch = draw(room);
        for (const x of batch.samples) submit(x, batch.step);
        continue;
      }
      if (running.size === 0) {
        if (ready.length) updateOn(ready.splice(0), sampled, step + 1, true);
        return 'done';
      }
      const w0 = performance.now();
      await Promise.race(running.values());
      evaluationMs += performance.now() - w0;
    }
    // Stopped: what is in flight ends now ('stopped'); what finished is journaled.
    await Promise.allSettled([...running.values()]);
    return 'stopped';
  };
  try {
    if (overlap) status = await overlapLoop();
    else while (pending || startedCount() < info.children) {
      if (opts.signal?.aborted) { status = 'stopped'; break; }
      let batch = pending;
      if (!batch) batch = draw(Math.min(config.controller.batch, info.children - startedCount()));
      pending = undefined;
      const todo = batch.samples.filter((s) => !children.has(s.id) && !failed.has(s.id));
      const t0 = performance.now();
      await Promise.all(todo.map(async (s) => {
        if (opts.signal?.aborted) return;
        const r = await evaluateChild(s, batch!.step);
        if (r) record(r);
      }));
      evaluationMs += performance.now() - t0;
      if (opts.signal?.aborted || batch.samples.some((s) => !children.has(s.id) && !failed.has(s.id))) { status = 'stopped'; break; }

      // PPO on the batch's successful children; then checkpoint, then the journal line.
      updateOn(batch.samples.map((x) => x.id), new Map(batch.samples.map((x) => [x.id, x])), batch.step, false);
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (status === 'stopped' && evaluator.kill) evaluator.kill();
    else if (owned) await evaluator.close();
    journal.close();
    controller?.dispose();
  }
  writeSummaries(dir, [...children.values()], [...failed.values()]);
  const b = best();
  const resume = status === 'stopped' ? resumePlan(batches, children, failed, trained, info.children) : undefined;
  emit({ event: 'done', run: dir, status, children: children.size, failed: failed.size, best: b && { id: b.id, name: b.name, reward: b.reward, accuracy: b.accuracy, latencyMs: b.latencyMs }, seconds: (Date.now() - started) / 1000, ...(resume ? { resume } : {}) });
  return { dir, status, children: [...children.values()].sort((x, y) => x.id - y.id), failed: [...failed.values()], overheadMs, cpuMs, evaluationMs };

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
      // Trained before a stop or a kill: only its latency is left (if its weights are still there).
      const before = trained.get(s.id);
      const keep = before && (!before.train.weightsPath || fs.existsSync(before.train.weightsPath)) ? before : undefined;
      (keep ? timing : training).add(s.id);
      const onTrained = (t: TrainedChild) => {
        const entry: TrainedRecord = { type: 'trained', id: s.id, step: batchStep, time: new Date().toISOString(), ...t };
        log(entry);
        trained.set(s.id, entry);
        training.delete(s.id);
        timing.add(s.id);
        emit({ event: 'trained', id: s.id, accuracy: t.accuracy, seconds: t.train.trainSeconds });
      };
      try {
        const r = await evaluator.evaluate({
          id: s.id, proxy, full, data, recipe, seed: info.seed * 100_003 + s.id, outDir: path.join(p.children, String(s.id)), dataset: datasetRequest,
          ...(keep ? { trained: { accuracy: keep.accuracy, train: keep.train, attempts: keep.attempts, ...(typeof keep.worker === 'string' ? { worker: keep.worker } : {}) } } : {}),
        }, (pr) => emit({ event: 'progress', id: s.id, epoch: pr.epoch, step: pr.step, steps: pr.steps, loss: pr.loss }), onTrained);
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
        // Stopped: not a failure; --resume evaluates it (only its latency if it was trained).
        if (opts.signal?.aborted) return undefined;
        if (!(e instanceof ChildFailedError)) throw e;
        record = { ...base, type: 'failed', error: e.message };
      } finally {
        training.delete(s.id);
        timing.delete(s.id);
        inflight.delete(key);
        settle(undefined);
      }
    }
    // A result that came in is kept, stop or not: it cost a training.
    log(record);
    return record;
  }
}

/** --resume's budget counts the run's children in all; it cannot be below what the run has started. */
function checkBudget(budget: number, info: RunInfo, done: number, started: number, pending: BatchRecord | undefined): void {
  if (budget < done) {
    throw new SearchInputError(`--budget ${budget}: this run already has ${done} children (of ${info.children}). --budget counts the run's children in all: ` +
      `give more than ${done} to add some (--budget ${done + 4} adds 4), or leave it out to finish its ${info.children}.`);
  }
  if (budget < started && pending) {
    const open = pending.samples.map((x) => x.id);
    throw new SearchInputError(`--budget ${budget}: this run has started ${started} children; its last batch (children ${open[0]}-${open[open.length - 1]}) is unfinished and ` +
      `is finished first. --budget counts the run's children in all: give at least ${started}.`);
  }
  info.children = budget;
}

/** What --resume of a stopped run redoes: the unfinished children of its last batch (trained ones are only timed), then new samples. */
function resumePlan(batches: BatchRecord[], children: Map<number, ChildRecord>, failed: Map<number, FailedRecord>, trained: Map<number, TrainedRecord>, total: number): ResumePlan {
  const open = batches.flatMap((b) => b.samples.map((x) => x.id)).filter((id) => !children.has(id) && !failed.has(id));
  const time = open.filter((id) => trained.has(id));
  const train = open.filter((id) => !trained.has(id));
  const sample = Math.max(0, total - batches.reduce((a, b) => a + b.samples.length, 0));
  const ids = (xs: number[]) => (xs.length === 1 ? `child ${xs[0]}` : `children ${xs.join(', ')}`);
  const parts = [
    ...(train.length ? [`trains ${ids(train)}`] : []),
    ...(time.length ? [`measures the latency of ${ids(time)} (trained before the stop)`] : []),
    ...(sample ? [`samples the ${sample} more the budget asks for`] : []),
  ];
  const said = parts.length ? parts.join(', then ') : 'has nothing left to do';
  return { train, time, sample, note: `--resume ${said}.` };
}
