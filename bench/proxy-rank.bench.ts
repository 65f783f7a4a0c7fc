// Does the proxy task rank architectures? 30 seeded random children of the quickstart space,
// each trained twice (two training seeds, the same data split) on several proxy budgets with the
// real PyTorch trainer pool the search uses: Spearman between the two accuracy rankings, and the
// spread across children over the spread across seeds (std of per-child means / mean per-child
// seed std). MNIST and Fashion-MNIST side by side at one budget, and Fashion-MNIST at a few
// budgets, so the quickstart's settings are chosen from figures (docs/search.md).
// Every trained child is appended to bench/results/proxy-rank-children.jsonl (arch, actions,
// dataset, budget, seeds, accuracy, params, mult-adds, seconds): the record of really trained
// children, which a re-run reuses and tops up (MNAS_PROXY_RANK_FRESH=1 trains everything again;
// MNAS_PROXY_RANK_MINUTES=0 only recomputes the figures). Children are trained child by child
// across this run's budgets, and no new training starts after the time cap (MNAS_PROXY_RANK_MINUTES,
// default 25), so a run cut short still compares budgets on the same children. The figures cover
// every budget in the results file (earlier runs' too). Writes docs/img/proxy-rank.svg.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vega from 'vega';
import PQueue from 'p-queue';
import { compile, type TopLevelSpec } from 'vega-lite';
import { load } from '../server/src/cli/load';
import { costOf } from '../server/src/cost/model';
import { type Arch, toArch } from '../server/src/language/arch';
import type { SearchConfig } from '../server/src/language/searchConfig';
import { decisions, type ResolvedSpace, sample } from '../server/src/language/space';
import { proxySpec } from '../server/src/search/proxy';
import { DEFAULT_RECIPE } from '../server/src/search/openRun';
import { mulberry32, prepareDataset } from '../server/src/train/datasets';
import { TrainerPool } from '../server/src/train/trainerPool';
import { Rng } from '../server/src/util/rng';
import { type BenchResult, type Metric, report } from './lib/result';
import { LoadSampler, loadavg, mean, pythonFacts, QUICKSTART, ROOT, RUNS, spearman, std, useBenchCache } from './lib/search';

const CHILDREN = Number(process.env.MNAS_PROXY_RANK_CHILDREN ?? 30);
const MINUTES = Number(process.env.MNAS_PROXY_RANK_MINUTES ?? 25);
/** Training seeds, as the engine derives them: SEED * 100003 + child. */
const SEEDS = [1, 2];
/** The data split's seed (the quickstart's search seed): both training seeds see the same data. */
const DATA_SEED = 1;
const SAMPLE_SEED = 2026;
const GOAL = 0.8;
/** Every trained child, one JSON line each (MNAS_PROXY_RANK_FILE elsewhere for a trial run). */
export const CHILDREN_FILE = process.env.MNAS_PROXY_RANK_FILE ? path.resolve(process.env.MNAS_PROXY_RANK_FILE) : path.join(ROOT, 'bench', 'results', 'proxy-rank-children.jsonl');
const IMG = path.join(ROOT, 'docs', 'img');

/** A proxy budget: the dataset block's settings, the epochs, and the recipe's learning-rate schedule. */
export interface Budget { dataset: 'mnist' | 'fashion-mnist'; train: number; test: number; epochs: number; width: number; schedule: 'constant' | 'cosine' }

/** The budgets compared, in training order (MNAS_PROXY_RANK_BUDGETS="fashion-mnist:2000:1000:1:0.5:cosine,..." overrides). */
const BUDGETS: Budget[] = process.env.MNAS_PROXY_RANK_BUDGETS
  ? process.env.MNAS_PROXY_RANK_BUDGETS.split(',').map((b) => {
    const [dataset, train, test, epochs, width, schedule] = b.split(':');
    return { dataset: dataset as Budget['dataset'], train: Number(train), test: Number(test), epochs: Number(epochs), width: Number(width ?? 1), schedule: (schedule ?? 'constant') as Budget['schedule'] };
  })
  : [
    // The quickstart's proxy, the same scored on 1,000 images, and Fashion-MNIST at about the same time per child.
    { dataset: 'mnist', train: 4000, test: 6000, epochs: 1, width: 0.5, schedule: 'cosine' },
    { dataset: 'mnist', train: 4000, test: 1000, epochs: 1, width: 0.5, schedule: 'cosine' },
    { dataset: 'fashion-mnist', train: 4000, test: 10000, epochs: 1, width: 0.5, schedule: 'cosine' },
  ];

export const budgetName = (b: Budget) => `${b.dataset} ${b.train}/${b.test} e${b.epochs}${b.width !== 1 ? ` w${b.width}` : ''} ${b.schedule}`;
const metricName = (b: Budget) => `${b.dataset.replace('-', '')}_${b.train}_${b.test}_e${b.epochs}${b.width !== 1 ? `_w${b.width}` : ''}_${b.schedule}`;

/** One trained child, as kept in the results file. */
export interface ChildRun {
  bench: 'proxy-rank';
  date: string;
  commit: string;
  /** The space and the decisions taken (in `decisions(space)` order). */
  space: string;
  child: number;
  actions: number[];
  /** The full-size network (what latency would be measured on). */
  arch: Arch;
  params: number;
  multAdds: number;
  /** The trained (proxy) network: `width` applied, head sized to the dataset. */
  proxyParams: number;
  proxyMultAdds: number;
  dataset: string;
  train: number;
  test: number;
  dataSeed: number;
  epochs: number;
  batch: number;
  width: number;
  schedule: Budget['schedule'];
  recipe: Record<string, unknown>;
  seed: number;
  accuracy: number;
  trainAccuracy: number;
  diverged: boolean;
  trainSeconds: number;
  evalSeconds: number;
  threads: number;
  load1: number;
}

const keyOf = (r: { actions: number[]; dataset: string; train: number; test: number; epochs: number; width: number; schedule: string; seed: number; dataSeed: number; batch: number }) =>
  JSON.stringify([r.actions, r.dataset, r.train, r.test, r.epochs, r.width, r.schedule, r.seed, r.dataSeed, r.batch]);
const sameBudget = (r: ChildRun, b: Budget) =>
  r.dataset === b.dataset && r.train === b.train && r.test === b.test && r.epochs === b.epochs && r.width === b.width && r.schedule === b.schedule;

function readRecords(): ChildRun[] {
  if (!fs.existsSync(CHILDREN_FILE)) return [];
  return fs.readFileSync(CHILDREN_FILE, 'utf8').split('\n').filter(Boolean).map((l) => {
    const r = JSON.parse(l) as ChildRun;
    return { ...r, schedule: r.schedule ?? (r.recipe.schedule as Budget['schedule']) };
  });
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** Seeded random children of the space, distinct as networks. */
function children(space: ResolvedSpace, n: number): { actions: number[]; arch: Arch }[] {
  const ds = decisions(space);
  const rng = new Rng(SAMPLE_SEED);
  const out: { actions: number[]; arch: Arch }[] = [];
  const seen = new Set<string>();
  while (out.length < n) {
    const actions = ds.map((d) => rng.int(d.options));
    const spec = sample(space, actions, `proxyrank_c${String(out.length).padStart(2, '0')}`);
    const key = JSON.stringify(spec.blocks.map((b) => ({ ...b, name: '', e: b.op === 'mbconv' ? b.e : 1 })));
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ actions, arch: toArch(spec) });
  }
  return out;
}

export interface BudgetStats {
  budget: Budget;
  n: number;
  spearman: number;
  /** std over children of the per-child mean accuracy. */
  childStd: number;
  /** mean over children of the per-child std across the two seeds. */
  seedStd: number;
  ratio: number;
  meanAccuracy: number;
  minAccuracy: number;
  maxAccuracy: number;
  /** Mean seconds of one training (train + evaluation) on one trainer. */
  secondsPerChild: number;
  /** 5th and 95th percentiles of Spearman over 2,000 seeded bootstrap resamples of the children. */
  spearmanInterval: [number, number];
  pairs: { child: number; a: number; b: number }[];
}

function bootstrap(pairs: BudgetStats['pairs'], resamples = 2000): [number, number] {
  const rand = mulberry32(1);
  const rs: number[] = [];
  for (let i = 0; i < resamples; i++) {
    const s = pairs.map(() => pairs[Math.floor(rand() * pairs.length)]);
    const rho = spearman(s.map((p) => p.a), s.map((p) => p.b));
    if (Number.isFinite(rho)) rs.push(rho);
  }
  rs.sort((x, y) => x - y);
  return [rs[Math.floor(0.05 * rs.length)], rs[Math.floor(0.95 * rs.length)]];
}

/** A budget's figures over the children (by index, with their actions) trained under both seeds. */
export function statsOf(budget: Budget, runs: ChildRun[], kids: { actions: number[] }[]): BudgetStats {
  const pairs: BudgetStats['pairs'] = [];
  const secs: number[] = [];
  for (const [c, kid] of kids.entries()) {
    const mine = runs.filter((r) => r.child === c && sameBudget(r, budget) && r.actions.join() === kid.actions.join());
    const bySeed = SEEDS.map((s) => mine.find((r) => r.seed === s * 100_003 + c));
    if (bySeed.some((r) => !r)) continue;
    pairs.push({ child: c, a: bySeed[0]!.accuracy, b: bySeed[1]!.accuracy });
    for (const r of bySeed) secs.push(r!.trainSeconds + r!.evalSeconds);
  }
  const means = pairs.map((p) => (p.a + p.b) / 2);
  // The sample std of two values is |a - b| / sqrt 2.
  const seedStd = mean(pairs.map((p) => Math.abs(p.a - p.b) / Math.SQRT2));
  const childStd = std(means);
  const all = pairs.flatMap((p) => [p.a, p.b]);
  return {
    budget, n: pairs.length, spearman: spearman(pairs.map((p) => p.a), pairs.map((p) => p.b)),
    childStd, seedStd, ratio: childStd / seedStd, meanAccuracy: mean(all), minAccuracy: Math.min(...all), maxAccuracy: Math.max(...all),
    secondsPerChild: mean(secs), spearmanInterval: bootstrap(pairs), pairs,
  };
}

async function plot(stats: BudgetStats[]): Promise<void> {
  const values = stats.flatMap((s) => s.pairs.map((p) => ({
    budget: `${budgetName(s.budget)}, n ${s.n}: Spearman ${s.spearman.toFixed(2)}`, seed1: 100 * p.a, seed2: 100 * p.b,
  })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Proxy accuracy of the same child under two training seeds (quickstart space)',
    data: { values },
    facet: { field: 'budget', type: 'nominal', title: null },
    columns: 3,
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 220, height: 220,
      layer: [
        { mark: { type: 'point', filled: true, size: 40 }, encoding: {
          x: { field: 'seed1', type: 'quantitative', title: 'accuracy, seed 1 (%)', scale: { zero: false } },
          y: { field: 'seed2', type: 'quantitative', title: 'accuracy, seed 2 (%)', scale: { zero: false } },
        } },
      ],
    },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  fs.mkdirSync(IMG, { recursive: true });
  fs.writeFileSync(path.join(IMG, 'proxy-rank.svg'), await view.toSVG());
  view.finalize();
}

/** The quickstart's proxy budget as written in examples/search-quickstart.mnas. */
function quickstart(): { space: ResolvedSpace; config: SearchConfig; budget: Budget } {
  const a = load(QUICKSTART);
  const search = [...a.local.values()].find((e) => e.kind === 'search');
  if (search?.kind !== 'search' || !search.resolution.config) throw new Error(`${QUICKSTART}: no valid search`);
  const config = search.resolution.config;
  const sp = a.scope.get(config.space);
  if (sp?.kind !== 'space' || !sp.resolution.space) throw new Error(`${QUICKSTART}: space ${config.space} does not resolve`);
  const d = config.dataset;
  return {
    space: sp.resolution.space, config,
    budget: { dataset: d.name as Budget['dataset'], train: d.train, test: d.test, epochs: config.budget.epochs, width: d.width ?? 1, schedule: DEFAULT_RECIPE.schedule ?? 'constant' },
  };
}

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const qs = quickstart();
  const kids = children(qs.space, CHILDREN);
  const fresh = process.env.MNAS_PROXY_RANK_FRESH === '1';
  const kept = fresh ? [] : readRecords();
  const done = new Map(kept.map((r) => [keyOf(r), r]));
  if (fresh) fs.rmSync(CHILDREN_FILE, { force: true });
  const batch = qs.config.budget.batch;
  const recipeFor = (b: Budget) => ({ ...DEFAULT_RECIPE, schedule: b.schedule, epochs: b.epochs, batchSize: batch });
  const data = new Map<Budget, Awaited<ReturnType<typeof prepareDataset>>>();
  for (const b of BUDGETS) data.set(b, await prepareDataset({ name: b.dataset, train: b.train, test: b.test, seed: DATA_SEED, cacheDir }));

  const load0 = loadavg();
  const sampler = new LoadSampler();
  const out = path.join(RUNS, 'proxy-rank');
  fs.rmSync(out, { recursive: true, force: true });
  // The search's trainer pool; two trainers of one thread each keep both cores busy.
  const pool = await TrainerPool.start({ size: 2, threads: 1 });
  const deadline = Date.now() + MINUTES * 60_000;
  const commit = gitCommit();
  let trained = 0;
  let skipped = 0;
  const t0 = performance.now();
  const jobs: Promise<void>[] = [];
  // In order, as many at once as the pool has trainers; a job whose turn comes after the cap is not started.
  const queue = new PQueue({ concurrency: pool.size });
  try {
    // Child by child across budgets and seeds: a run cut short compares budgets on the same children.
    kids.forEach((kid, c) => {
      for (const b of BUDGETS) {
        for (const s of SEEDS) {
          const seed = s * 100_003 + c;
          const base = { actions: kid.actions, dataset: b.dataset, train: b.train, test: b.test, epochs: b.epochs, width: b.width, schedule: b.schedule, seed, dataSeed: DATA_SEED, batch };
          if (done.has(keyOf(base))) continue;
          jobs.push(queue.add(async () => {
            if (Date.now() >= deadline) { skipped++; return; }
            const spec = data.get(b)!;
            const cfg = { ...qs.config, dataset: { ...qs.config.dataset, name: b.dataset, train: b.train, test: b.test, width: b.width, resolution: undefined } };
            const proxy = toArch(proxySpec(sample(qs.space, kid.actions, kid.arch.name), cfg, spec));
            const r = await pool.train({ arch: proxy, data: spec, recipe: recipeFor(b), seed, outDir: path.join(out, `${c}-${metricName(b)}-${s}`) });
            const full = costOf(kid.arch);
            const pc = costOf(proxy);
            const rec: ChildRun = {
              bench: 'proxy-rank', date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), commit, space: qs.space.name, child: c,
              arch: kid.arch, params: full.params, multAdds: full.multAdds, proxyParams: r.params, proxyMultAdds: pc.multAdds,
              ...base, recipe: recipeFor(b), accuracy: r.accuracy, trainAccuracy: r.trainAccuracy, diverged: r.diverged,
              trainSeconds: Number(r.trainSeconds.toFixed(3)), evalSeconds: Number(r.evalSeconds.toFixed(3)), threads: r.threads,
              load1: Number(os.loadavg()[0].toFixed(2)),
            };
            fs.mkdirSync(path.dirname(CHILDREN_FILE), { recursive: true });
            fs.appendFileSync(CHILDREN_FILE, JSON.stringify(rec) + '\n');
            done.set(keyOf(base), rec);
            trained++;
            if (trained % 10 === 0) console.log(`  ${trained} trained, child ${c} ${budgetName(b)} seed ${s}: ${(100 * r.accuracy).toFixed(1)}% (${((performance.now() - t0) / 60_000).toFixed(1)} min)`);
          }) as Promise<void>);
        }
      }
    });
    await Promise.all(jobs);
  } finally {
    await pool.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
  const seconds = (performance.now() - t0) / 1000;
  const load = sampler.stop();

  const runs = [...done.values()];
  // This run's budgets, then any other budget of the results file (earlier runs), each over its
  // children trained under both seeds (the same seeded list of children for every budget).
  const budgets = [...BUDGETS];
  for (const r of runs) {
    const b: Budget = { dataset: r.dataset as Budget['dataset'], train: r.train, test: r.test, epochs: r.epochs, width: r.width, schedule: r.schedule };
    if (!budgets.some((x) => budgetName(x) === budgetName(b))) budgets.push(b);
  }
  const same = budgets.map((b) => statsOf(b, runs, kids)).filter((s) => s.n >= 3);
  if (same.length) await plot(same);
  const isQs = (b: Budget) => budgetName(b) === budgetName(qs.budget);
  const metrics: Metric[] = [];
  for (const s of same) {
    const m = metricName(s.budget);
    const goal = isQs(s.budget) ? { goal: `>= ${GOAL}`, met: s.spearman >= GOAL } : {};
    metrics.push(
      { ...report(`${m}_spearman`, s.spearman, 'rho'), ...goal },
      report(`${m}_spearman_p5`, s.spearmanInterval[0], 'rho'),
      report(`${m}_spearman_p95`, s.spearmanInterval[1], 'rho'),
      report(`${m}_child_over_seed_std`, s.ratio, 'ratio'),
      report(`${m}_accuracy_range`, 100 * (s.maxAccuracy - s.minAccuracy), '%'),
      report(`${m}_seed_std`, 100 * s.seedStd, '%'),
      report(`${m}_seconds_per_child`, s.secondsPerChild, 's'),
      report(`${m}_children`, s.n, 'count'),
    );
  }
  const qsStats = same.find((s) => isQs(s.budget));
  // The figures come from every record used, possibly trained by earlier runs: their own dates and load.
  const used = runs.filter((r) => same.some((s) => sameBudget(r, s.budget) && s.pairs.some((p) => p.child === r.child)));
  const dates = used.map((r) => r.date).sort();
  const loads = used.map((r) => r.load1).sort((x, y) => x - y);
  const trainingHours = used.reduce((t, r) => t + r.trainSeconds + r.evalSeconds, 0) / 3600;
  const table = same.map((s) => `${budgetName(s.budget)} (n ${s.n}): Spearman ${s.spearman.toFixed(3)} (bootstrap 90% ${s.spearmanInterval.map((v) => v.toFixed(2)).join('-')}), child/seed std ${s.ratio.toFixed(2)} ` +
    `(${(100 * s.childStd).toFixed(2)} / ${(100 * s.seedStd).toFixed(2)} points), accuracy ${(100 * s.minAccuracy).toFixed(1)}-${(100 * s.maxAccuracy).toFixed(1)}% ` +
    `(mean ${(100 * s.meanAccuracy).toFixed(1)}), ${s.secondsPerChild.toFixed(1)} s per training`).join('; ');
  return {
    benchmark: 'proxy-rank',
    machine: { ...pythonFacts(), trainers: '2 x 1 thread', load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    metrics,
    notes: `Seeded random children of examples/search-quickstart.mnas's space (sample seed ${SAMPLE_SEED}; the first n of one list of ${kids.length} for every budget, n per budget below); ` +
      `each trained twice (training seeds 100003 + c and 200006 + c, the engine's rule for search seeds 1 and 2) on the same seeded split (seed ${DATA_SEED}); ` +
      `the search's recipe (Adam lr ${DEFAULT_RECIPE.lr}, batch ${batch}; learning-rate schedule per budget) on the real PyTorch trainer pool (2 trainers x 1 thread). ${table}. ` +
      `child/seed std = std of per-child mean accuracy over mean per-child std across the 2 seeds. ` +
      `${qsStats ? `The quickstart's budget (${budgetName(qsStats.budget)}) has the goal Spearman >= ${GOAL}. ` : `The quickstart's budget (${budgetName(qs.budget)}) is not among those trained. `}` +
      `The ${used.length} trainings used were made ${dates[0]} to ${dates[dates.length - 1]} (${trainingHours.toFixed(2)} trainer-hours; 1-min load when each finished ${loads[0]}-${loads[loads.length - 1]}, median ${loads[Math.floor(loads.length / 2)]}). ` +
      `This run: ${trained} trainings in ${(seconds / 60).toFixed(1)} min wall (cap ${MINUTES} min${skipped ? `, ${skipped} not started` : ''}), ${kept.length} reused from ${path.relative(ROOT, CHILDREN_FILE)}; ` +
      `1-min load ${load.min}-${load.max} (median ${load.median}) on ${os.cpus().length} cores shared with other jobs. Plot: docs/img/proxy-rank.svg.`,
  };
}
