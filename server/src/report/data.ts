// What a results view shows, prepared from a run folder's run.json and journal entries (or from
// live search events): every child as a point (latency, accuracy, controller step), the Pareto
// front, the reward curve with its moving average, the top-k table, a random baseline's curve.
// Pure and synchronous: the VS Code results panel and `mnas report --html` both call it, so the
// two views cannot disagree. Per-child detail (blocks and per-block cost) is detail.ts: it needs
// the cost model, which the extension leaves to the language server.
import type { ChildRecord, FailedRecord, RunInfo } from '../search/runFolder';

export interface ReportChild {
  id: number;
  step: number;
  name: string;
  accuracy: number;
  latencyMs: number;
  latencySource: string;
  params: number;
  multAdds: number;
  reward: number;
  /** Results reused from an earlier child with the same architecture. */
  cachedFrom: number | null;
  pareto: boolean;
}

/** One fully trained network (mnas train): the paper's table row. */
export interface FinalRow {
  kind: 'child' | 'baseline';
  /** Child id; null for the skeleton. */
  id: number | null;
  name: string;
  params: number;
  multAdds: number;
  latencyMs: number | null;
  proxyAccuracy: number | null;
  /** Held-out test accuracy after full training (best epoch's weights). */
  accuracy: number;
  underTarget: boolean;
  epochs: number;
}

/** Full-training results of a run and the verdict: the best child under T against the skeleton. */
export interface FinalTable {
  rows: FinalRow[];
  /** The best fully trained child under the target (by full accuracy) and the skeleton, when both exist. */
  comparison: { child: FinalRow; baseline: FinalRow; accuracyGain: number; latencyRatio: number | null } | null;
  /** Why there is no comparison, for people. */
  note: string;
  dataset: string;
  recipe: string;
}

export interface CurvePoint { index: number; id: number; reward: number; avg: number }

export type RunStatus = 'running' | 'done' | 'stopped' | 'incomplete';

export interface ReportData {
  run: string;
  search: string;
  strategy: 'rl' | 'random';
  seed: number;
  status: RunStatus;
  total: number;
  targetMs: number;
  rewardPreset: string;
  backend: string;
  dataset: string;
  children: ReportChild[];
  failed: { id: number; error: string }[];
  /** Ids of the Pareto front, fastest first. */
  front: number[];
  curve: CurvePoint[];
  /** The reward curve of a random-search run of the same search, when one exists. */
  baseline: { run: string; curve: CurvePoint[] } | null;
  /** Best children by reward, architectures counted once. */
  top: ReportChild[];
  window: number;
  /** Fully trained networks of the run (mnas train), or null when none. */
  final: FinalTable | null;
}

export interface ChildDetail {
  id: number;
  name: string;
  model: string;
  params: number;
  multAdds: number;
  blocks: { name: string; op: string; k: number; e: number; s: number; f: number; x: number; se: number; skip: string; out: string; params: number; multAdds: number }[];
}

/** The fields of run.json a report needs (a subset of RunInfo, so old or partial files still load). */
export type ReportRunInfo = Pick<RunInfo, 'search' | 'strategy' | 'seed' | 'children'> & {
  config?: Partial<Pick<RunInfo['config'], 'targetMs'>> & { reward?: { preset?: string } };
  backend?: Partial<RunInfo['backend']>;
  dataset?: Partial<RunInfo['dataset']>;
};

export const DEFAULT_TOP_K = 10;
export const DEFAULT_WINDOW = 5;

/** Trailing moving average over `window` values (fewer at the start). */
export function movingAverage(values: number[], window = DEFAULT_WINDOW): number[] {
  const w = Math.max(1, Math.floor(window));
  const out: number[] = [];
  let sum = 0;
  values.forEach((v, i) => {
    sum += v;
    if (i >= w) sum -= values[i - w];
    out.push(sum / Math.min(i + 1, w));
  });
  return out;
}

/** Non-dominated children (no other child is both at most as slow and more accurate), fastest first. */
export function paretoIds(children: Pick<ReportChild, 'id' | 'accuracy' | 'latencyMs'>[]): number[] {
  const sorted = [...children].sort((a, b) => a.latencyMs - b.latencyMs || b.accuracy - a.accuracy || a.id - b.id);
  const front: number[] = [];
  let best = -Infinity;
  for (const c of sorted) {
    if (c.accuracy > best) {
      front.push(c.id);
      best = c.accuracy;
    }
  }
  return front;
}

export function rewardCurve(children: Pick<ReportChild, 'id' | 'reward'>[], window = DEFAULT_WINDOW): CurvePoint[] {
  const ordered = [...children].sort((a, b) => a.id - b.id);
  const avg = movingAverage(ordered.map((c) => c.reward), window);
  return ordered.map((c, i) => ({ index: i + 1, id: c.id, reward: c.reward, avg: avg[i] }));
}

export function toReportChild(c: Pick<ChildRecord, 'id' | 'step' | 'name' | 'accuracy' | 'latencyMs' | 'params' | 'multAdds' | 'reward'> & { latencySource?: string; cachedFrom?: number }): ReportChild {
  return {
    id: c.id, step: c.step, name: c.name, accuracy: c.accuracy, latencyMs: c.latencyMs, latencySource: c.latencySource ?? '',
    params: c.params, multAdds: c.multAdds, reward: c.reward, cachedFrom: c.cachedFrom ?? null, pareto: false,
  };
}

export interface PrepareOptions {
  run: string;
  info: ReportRunInfo;
  /** Journal entries in order; anything that is not a child or failed record is ignored. */
  entries: readonly { type?: string }[];
  status?: RunStatus;
  baseline?: { run: string; entries: readonly { type?: string }[] } | null;
  topK?: number;
  window?: number;
  final?: FinalTable | null;
}

function childrenOf(entries: readonly { type?: string }[]): { children: ReportChild[]; failed: { id: number; error: string }[] } {
  const byId = new Map<number, ReportChild>();
  const failed = new Map<number, { id: number; error: string }>();
  for (const e of entries) {
    if (e.type === 'child') {
      const c = e as ChildRecord;
      byId.set(c.id, toReportChild(c));
      failed.delete(c.id);
    } else if (e.type === 'failed') {
      const f = e as FailedRecord;
      if (!byId.has(f.id)) failed.set(f.id, { id: f.id, error: f.error });
    }
  }
  return { children: [...byId.values()].sort((a, b) => a.id - b.id), failed: [...failed.values()].sort((a, b) => a.id - b.id) };
}

/** The whole report of one run. */
export function prepareReport(o: PrepareOptions): ReportData {
  const window = o.window ?? DEFAULT_WINDOW;
  const { children, failed } = childrenOf(o.entries);
  const front = paretoIds(children);
  const onFront = new Set(front);
  for (const c of children) c.pareto = onFront.has(c.id);
  const top = children.filter((c) => c.cachedFrom === null).sort((a, b) => b.reward - a.reward || a.id - b.id).slice(0, o.topK ?? DEFAULT_TOP_K);
  const done = children.length + failed.length;
  const status: RunStatus = o.status ?? (done >= o.info.children ? 'done' : 'incomplete');
  const b = o.info.backend ?? {};
  const d = o.info.dataset ?? {};
  return {
    run: o.run,
    search: o.info.search,
    strategy: o.info.strategy,
    seed: o.info.seed,
    status,
    total: o.info.children,
    targetMs: o.info.config?.targetMs ?? 0,
    rewardPreset: o.info.config?.reward?.preset ?? '',
    backend: [b.trainer, b.controller && `controller ${b.controller}`, b.latency && `latency ${b.latency}`].filter(Boolean).join('; '),
    dataset: d.split ?? '',
    children,
    failed,
    front,
    curve: rewardCurve(children, window),
    baseline: o.baseline ? { run: o.baseline.run, curve: rewardCurve(childrenOf(o.baseline.entries).children, window) } : null,
    top,
    window,
    final: o.final ?? null,
  };
}
