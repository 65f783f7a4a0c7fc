// Shared by bench/search-quality.bench.ts (real runs) and bench/search-quality-surrogate.bench.ts:
// the derived quickstart, what a finished run folder says (children, T, entropy per update), the
// figures both report, the trained-children file and the plots.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { decisions as spaceDecisions } from '../../server/src/language/space';
import { type Arch, type ModelSpec, toArch } from '../../server/src/language/arch';
import { readJournal } from '../../server/src/util/journal';
import type { ChildRecord, RunInfo } from '../../server/src/search/runFolder';
import { deriveQuickstart, mean, QUICKSTART, ROOT } from './search';

export const SMOKE = process.env.MNAS_BENCH_SMOKE === '1';
export const IMG = path.join(ROOT, 'docs', 'img');
/** Every really trained child of the real runs, one JSON line each (committed). */
export const CHILDREN_FILE = path.join(ROOT, 'bench', 'results', 'search-quality-children.jsonl');
/** Children trained by the proxy-rank benchmark: the surrogate uses them too when dataset and budget match. */
export const EXTRA_CHILDREN = [path.join(ROOT, 'bench', 'results', 'proxy-rank-children.jsonl')];

/** Controller settings; `overlap` (default off: the paper's synchronous loop) is written out either way. */
export interface Hyper { lr: number; batch: number; overlap?: boolean }
/** The controller settings of the real RL runs: the small-budget defaults under test (docs/search.md). */
export const RL: Hyper = { lr: 0.03, batch: 4 };
/**
 * Children per real run: 24, the common budget the first real runs reached in 35 minutes (a
 * deadline may stop every run at the same smaller count).
 */
export const CHILDREN = SMOKE ? 8 : 24;

/**
 * The proxy width the real runs add when the quickstart sets none (its comment promises scaled-down
 * children; the proxy-rank benchmark's half width ranks children as well at a quarter of the cost).
 */
export const PROXY_WIDTH = /dataset[^{]*\{[^}]*\bwidth\b/.test(fs.readFileSync(QUICKSTART, 'utf8')) ? undefined : 0.5;

export type Kind = 'rl' | 'random' | 'rl-hard' | 'rl-overlap';
export interface Run {
  kind: Kind;
  seed: number;
  dir: string;
  children: ChildRecord[];
  targetMs: number;
  /** Controller entropy after each update, by children sampled so far. */
  entropy: { children: number; entropy: number }[];
  /** Entropy of the uniform policy (random search): sum over decisions of ln(options). */
  uniformEntropy: number;
  batch: number;
}

/** The quickstart with a budget, controller settings, reward and (optionally) target set here. */
export function derive(name: string, children: number, h: Hyper, reward: 'soft' | 'hard', targetMs?: number): string {
  return deriveQuickstart(name, [
    ...(PROXY_WIDTH ? [[/\n(\s*)test (\d+)\n/, `\n$1test $2\n$1width ${PROXY_WIDTH}\n`]] as [RegExp, string][] : []),
    [/children \d+/, `children ${children}`],
    [/controller \{[^}]*\}/, `controller {\n    seed 1\n    lr ${h.lr}\n    batch ${h.batch}\n    overlap ${h.overlap ? 'on' : 'off'}\n  }`],
    [/reward soft/, `reward ${reward}`],
    ...(targetMs !== undefined ? [[/target [^\n]+/, `target ${targetMs.toPrecision(4)}ms`]] as [RegExp, string][] : []),
    // Smoke: a few hundred images per child, so the harness runs in minutes on a loaded machine.
    ...(SMOKE ? [[/train \d+/, 'train 500'], [/test \d+/, 'test 300']] as [RegExp, string][] : []),
  ]);
}

export function runInfo(dir: string): RunInfo {
  return JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunInfo;
}

/** What a search left in its folder; only children with id < `limit` (a common budget) count. */
export function readRun(kind: Kind, seed: number, dir: string, children: ChildRecord[], limit = Infinity): Run {
  const info = runInfo(dir);
  const uniformEntropy = spaceDecisions(info.space).reduce((a, d) => a + Math.log(d.options), 0);
  const batch = info.config.controller.batch;
  const entropy: Run['entropy'] = [];
  for (const e of readJournal(path.join(dir, 'journal.jsonl')).entries as { type: string; step: number; stats?: Record<string, number> }[]) {
    if (e.type === 'update' && e.stats?.entropy !== undefined && e.step * batch <= limit) entropy.push({ children: e.step * batch, entropy: e.stats.entropy });
  }
  const kept = children.filter((c) => c.id < limit).sort((a, b) => a.id - b.id);
  return { kind, seed, dir, children: kept, targetMs: info.config.targetMs, entropy, uniformEntropy, batch };
}

/**
 * How stale each child was when an update used it: the updates made between its sampling and the
 * update that learnt from it (0 in the synchronous loop; `overlap on` journals which children
 * each update used, and each child's batch record says which policy sampled it).
 */
export function staleness(dir: string, limit = Infinity): number[] {
  const entries = readJournal(path.join(dir, 'journal.jsonl')).entries as { type: string; step: number; samples?: { id: number }[]; children?: number[] }[];
  const sampledAt = new Map<number, number>();
  const out: number[] = [];
  for (const e of entries) {
    if (e.type === 'batch') for (const x of e.samples ?? []) sampledAt.set(x.id, e.step);
    // An update line names its children only under overlap; synchronous updates use their own batch.
    if (e.type === 'update' && e.children) for (const id of e.children) if (id < limit && sampledAt.has(id)) out.push(e.step - sampledAt.get(id)!);
    if (e.type === 'update' && !e.children) for (const [id, s] of sampledAt) if (s === e.step && id < limit) out.push(0);
  }
  return out;
}

/** Mean reward of the last quarter of the run's children (sample order). */
export const lastQuarter = (r: Run): number => mean(r.children.slice(-Math.max(1, Math.floor(r.children.length / 4))).map((c) => c.reward));
export const best = (r: Run): number => Math.max(...r.children.map((c) => c.reward));
/** Share of values in [lo, hi]. */
export const share = (xs: number[], lo: number, hi: number): number => xs.filter((x) => x >= lo && x <= hi).length / xs.length;
/** Latency over T of every sampled child (repeats included: they are what the controller chose). */
export const ratios = (rs: Run[]): number[] => rs.flatMap((r) => r.children.map((c) => c.latencyMs / r.targetMs));

/** Dataset, training budget and recipe: children's accuracies are comparable only when these match. */
export function datasetKey(info: RunInfo): Record<string, unknown> {
  const d = info.config.dataset;
  const r = info.recipe as { lr?: number; optimizer?: string; schedule?: string };
  return {
    name: d.name, train: d.train, test: d.test, width: d.width ?? 1, resolution: d.resolution ?? null, epochs: info.config.budget.epochs, batch: info.config.budget.batch,
    lr: r.lr ?? null, optimizer: r.optimizer ?? null, schedule: r.schedule ?? null,
  };
}

/** A really trained child as the surrogate reads it, from either file format. */
export interface TrainedChild {
  source: string;
  /** The full-size network. */
  arch: Arch;
  /** datasetKey() of its training. */
  dataset: Record<string, unknown>;
  accuracy: number;
  latencyMs?: number;
  targetMs?: number;
  /** The training's seed (runs derive it as seed * 100003 + child): equal seeds, equal result. */
  trainSeed?: number;
  /** What search-quality's rows keep of the training (reused trainings report them again). */
  trainSeconds?: number;
  imagesPerSecond?: number;
  proxyParams?: number;
}
/** One line per really trained (not cache-reused) child of the runs. */
export function childRows(runs: Run[]): Record<string, unknown>[] {
  return runs.flatMap((r) => {
    const info = runInfo(r.dir);
    return r.children.filter((c) => c.cachedFrom === undefined).map((c) => ({
      source: 'search-quality', run: `${r.kind}-s${r.seed}`, strategy: info.strategy, rewardPreset: info.config.reward.preset, seed: r.seed, child: c.id,
      dataset: datasetKey(info), targetMs: r.targetMs, accuracy: c.accuracy, latencyMs: c.latencyMs, latencySpread: c.latencySpread,
      latencySource: c.latencySource, params: c.params, multAdds: c.multAdds, proxyParams: c.proxyParams, reward: c.reward,
      trainSeconds: c.trainSeconds, imagesPerSecond: c.imagesPerSecond, time: c.time, spec: c.spec,
    }));
  });
}

/**
 * Reads a children file: this benchmark's lines (`spec`, `dataset` as datasetKey()) or the
 * proxy-rank benchmark's (`arch` full size, flat dataset fields, `recipe`, `seed` = training seed).
 */
export function readChildren(file: string): TrainedChild[] {
  if (!fs.existsSync(file)) return [];
  const source = path.basename(file, '.jsonl');
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).flatMap((l): TrainedChild[] => {
    const c = JSON.parse(l) as {
      accuracy?: number; spec?: ModelSpec; arch?: Arch; dataset?: string | Record<string, unknown>; latencyMs?: number; targetMs?: number; seed: number; child: number;
      train?: number; test?: number; width?: number; resolution?: number; epochs?: number; batch?: number; recipe?: { lr?: number; optimizer?: string; schedule?: string };
      trainSeconds?: number; imagesPerSecond?: number; proxyParams?: number;
    };
    if (typeof c.accuracy !== 'number') return [];
    if (c.spec && c.dataset && typeof c.dataset === 'object') {
      return [{
        source, arch: toArch(c.spec), dataset: c.dataset, accuracy: c.accuracy, latencyMs: c.latencyMs, targetMs: c.targetMs, trainSeed: c.seed * 100_003 + c.child,
        trainSeconds: c.trainSeconds, imagesPerSecond: c.imagesPerSecond, proxyParams: c.proxyParams,
      }];
    }
    if (c.arch && typeof c.dataset === 'string') {
      const r = c.recipe ?? {};
      const dataset = {
        name: c.dataset, train: c.train, test: c.test, width: c.width ?? 1, resolution: c.resolution ?? null, epochs: c.epochs, batch: c.batch,
        lr: r.lr ?? null, optimizer: r.optimizer ?? null, schedule: r.schedule ?? null,
      };
      return [{ source, arch: c.arch, dataset, accuracy: c.accuracy, trainSeed: c.seed }];
    }
    return [];
  });
}

export const sameDataset = (a: Record<string, unknown>, b: Record<string, unknown>): boolean => Object.keys(a).every((k) => a[k] === b[k]);

export async function svg(spec: TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  fs.mkdirSync(IMG, { recursive: true });
  fs.writeFileSync(path.join(IMG, file), await view.toSVG());
  view.finalize();
}

export function movingAverage(xs: number[], w: number): number[] {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < xs.length; i++) {
    s += xs[i];
    if (i >= w) s -= xs[i - w];
    out.push(s / Math.min(i + 1, w));
  }
  return out;
}

/** Histogram rows of log2(LAT/T), clipped to [-3, 3]. */
export function histogramRows(label: string, xs: number[]): { reward: string; log2ratio: number }[] {
  return xs.map((x) => ({ reward: label, log2ratio: Math.max(-3, Math.min(3, Math.log2(x))) }));
}

/** Soft vs hard (and more) as stacked histograms of LAT/T on a log2 axis with T marked. */
export async function latencyHistogram(rows: { reward: string; log2ratio: number }[], title: string, file: string): Promise<void> {
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    data: { values: rows },
    facet: { row: { field: 'reward', type: 'nominal', title: null, sort: null, header: { labelAngle: 0, labelAlign: 'left', labelLimit: 260 } } },
    spec: {
      width: 420, height: 70,
      layer: [
        { mark: 'bar', encoding: { x: { field: 'log2ratio', type: 'quantitative', bin: { extent: [-3, 3], step: 0.25 }, title: 'log2(LAT / T): 0 = at the target, -1 = half of T' }, y: { aggregate: 'count', type: 'quantitative', title: 'children' } } },
        { mark: { type: 'rule', color: 'black', strokeDash: [4, 3] }, encoding: { x: { datum: 0 } } },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec, file);
}

/** Entropy of the controller over time, as a share of the uniform policy's. */
export async function entropyPlot(runs: Run[], title: string, file: string, label: (r: Run) => string): Promise<void> {
  const rows = runs.flatMap((r) => r.entropy.map((e) => ({ run: label(r), children: e.children, share: e.entropy / r.uniformEntropy })));
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520, height: 200,
    data: { values: rows },
    layer: [
      { mark: { type: 'line' }, encoding: { x: { field: 'children', type: 'quantitative', title: 'children sampled' }, y: { field: 'share', type: 'quantitative', title: 'entropy / uniform entropy', scale: { domain: [0, 1.05] } }, color: { field: 'run', type: 'nominal' } } },
      { mark: { type: 'rule', color: 'grey', strokeDash: [4, 3] }, encoding: { y: { datum: 1 } } },
    ],
  } as TopLevelSpec, file);
}
