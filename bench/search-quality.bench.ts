// Evidence that the search searches (issue 13, part 5), with real training on the quickstart's
// space and signal: RL vs random with the same budget and seeds.
// Every run of every seed goes at once onto one shared pool of PyTorch workers, so machine load
// hits every strategy alike; a deadline stops all of them together and every run is cut to the
// same number of children. Reports last-quarter and best reward per seed, controller entropy over
// time, and the latency of sampled children relative to T. Every really trained
// child goes to bench/results/search-quality-children.jsonl, the training data of
// search-quality-surrogate. Plots: docs/img/search-quality-reward.svg, search-quality-entropy.svg,
// search-quality-latency.svg.
//
// MNAS_BENCH_SMOKE=1: tiny budgets to check the harness (results not for committing).
// MNAS_BENCH_MINUTES=N: the deadline of the real runs (default 30).
// MNAS_BENCH_RESUME=1: continue the run folders a previous attempt left (finished ones are read).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { runSearch } from '../server/src/search/engine';
import { LocalEvaluator } from '../server/src/search/evaluator';
import { type BenchResult, type Metric, report, round } from './lib/result';
import { GENERATED, LoadSampler, loadavg, mean, median, pythonFacts, RUNS, SharedEvaluator, std, useBenchCache } from './lib/search';
import {
  best, CHILDREN, CHILDREN_FILE, childRows, derive, entropyPlot, histogramRows, type Kind, lastQuarter, latencyHistogram, movingAverage, ratios,
  PROXY_WIDTH, readRun, RL, type Run, share, SMOKE, svg,
} from './lib/searchQuality';

const SEEDS = SMOKE ? [1] : [1, 2, 3];
/**
 * rl and random for every seed. Soft vs hard is measured at the SURROGATE's scale: with the few
 * tens of children per run that fit here the controller has made a handful of updates, and an
 * rl-hard run would cost a seventh of the budget to show the prior again.
 */
const KINDS: Kind[] = ['rl', 'random'];
/**
 * Training workers (1 thread each): 2 on a quiet machine; 4 when other work keeps the 1-minute load
 * above 6, where each process gets a share of the 2 cores and 2 workers would leave the search a third of one.
 */
const WORKERS = Number(process.env.MNAS_BENCH_WORKERS ?? (loadavg()[0] > 6 ? 4 : 2));
const MINUTES = Number(process.env.MNAS_BENCH_MINUTES ?? (SMOKE ? 10 : 30));
const RESUME = process.env.MNAS_BENCH_RESUME === '1';

/** The single run folder below `parent`, if a previous attempt left one. */
function existingRun(parent: string): string | undefined {
  if (!fs.existsSync(parent)) return undefined;
  const dirs = fs.readdirSync(parent).filter((d) => fs.existsSync(path.join(parent, d, 'run.json')));
  return dirs.length === 1 ? path.join(parent, dirs[0]) : undefined;
}

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const root = path.join(RUNS, 'search-quality', 'real');
  if (!RESUME) fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const load0 = loadavg();
  const t0 = performance.now();
  const soft = derive('search-quality-rl', CHILDREN, RL, 'soft');

  const sampler = new LoadSampler();
  const local = await LocalEvaluator.start({ latency: { kind: 'local' }, workers: WORKERS });
  const shared = new SharedEvaluator(local, WORKERS);
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), MINUTES * 60_000);
  let raw: { kind: Kind; seed: number; dir: string; children: Run['children'] }[];
  try {
    raw = await Promise.all(SEEDS.flatMap((seed) => KINDS.map(async (kind) => {
      const parent = path.join(root, `${kind}-s${seed}`);
      const found = RESUME ? existingRun(parent) : undefined;
      if (!found) fs.rmSync(parent, { recursive: true, force: true });
      const res = found
        ? await runSearch({ resume: found, evaluator: shared, cacheDir, signal: stop.signal })
        : await runSearch({ file: soft, out: parent, seed, strategy: kind === 'random' ? 'random' : 'rl', cacheDir, evaluator: shared, signal: stop.signal });
      return { kind, seed, dir: res.dir, children: res.children };
    })));
  } finally {
    clearTimeout(timer);
    if (stop.signal.aborted) local.kill();
    else await local.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const load = sampler.stop();
  // The common budget: whole controller batches that every run completed.
  const batch = RL.batch;
  const complete = (cs: Run['children']) => { let n = 0; const ids = new Set(cs.map((c) => c.id)); while (ids.has(n)) n++; return n; };
  const budget = Math.floor(Math.min(...raw.map((r) => complete(r.children))) / batch) * batch;
  // Every trained child of every run (also those past the common budget): the surrogate's data.
  const all = raw.map((r) => readRun(r.kind, r.seed, r.dir, r.children));
  const rows = childRows(all);
  const file = SMOKE ? path.join(GENERATED, 'search-quality-children.jsonl') : CHILDREN_FILE;
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (budget < batch) throw new Error(`not one controller batch finished in every run within ${MINUTES} min (${rows.length} children trained, kept in ${path.relative(process.cwd(), file)}); raise MNAS_BENCH_MINUTES and re-run with MNAS_BENCH_RESUME=1`);
  const runs = raw.map((r) => readRun(r.kind, r.seed, r.dir, r.children, budget));
  const of = (k: Kind) => runs.filter((r) => r.kind === k).sort((a, b) => a.seed - b.seed);
  const rl = of('rl');
  const rnd = of('random');

  const metrics: Metric[] = [];
  const perSeed = SEEDS.map((seed, i) => ({ seed, rlLq: lastQuarter(rl[i]), rndLq: lastQuarter(rnd[i]), rlBest: best(rl[i]), rndBest: best(rnd[i]) }));
  const wins = perSeed.filter((s) => s.rlLq > s.rndLq).length;
  metrics.push({ name: 'rl_above_random_last_quarter_seeds', value: wins, unit: `of ${SEEDS.length} seeds`, goal: `= ${SEEDS.length}`, met: wins === SEEDS.length });
  for (const s of perSeed) metrics.push(report(`rl_minus_random_last_quarter_seed${s.seed}`, s.rlLq - s.rndLq, 'reward'));
  const T = median(runs.map((r) => r.targetMs));
  const sR = ratios(rl);
  const uR = ratios(rnd);
  const accs = rows.map((r) => r.accuracy as number);
  metrics.push(
    report('rl_last_quarter_reward_mean', mean(perSeed.map((s) => s.rlLq)), 'reward'),
    report('random_last_quarter_reward_mean', mean(perSeed.map((s) => s.rndLq)), 'reward'),
    report('rl_best_reward_mean', mean(perSeed.map((s) => s.rlBest)), 'reward'),
    report('random_best_reward_mean', mean(perSeed.map((s) => s.rndBest)), 'reward'),
    report('rl_best_above_random_seeds', perSeed.filter((s) => s.rlBest > s.rndBest).length, `of ${SEEDS.length} seeds`),
    report('children_per_run', budget, 'children'),
    report('rl_entropy_start', mean(rl.map((r) => r.entropy[0]?.entropy ?? NaN)), 'nats'),
    report('rl_entropy_end', mean(rl.map((r) => r.entropy[r.entropy.length - 1]?.entropy ?? NaN)), 'nats'),
    report('uniform_entropy', rl[0].uniformEntropy, 'nats'),
    report('rl_repeated_children_share', mean(rl.map((r) => r.children.filter((c) => c.cachedFrom !== undefined).length / r.children.length)), 'fraction'),
    report('trained_children', rows.length, 'children'),
    report('proxy_accuracy_min', Math.min(...accs), 'accuracy'),
    report('proxy_accuracy_max', Math.max(...accs), 'accuracy'),
    report('target_ms', T, 'ms'),
    report('soft_share_within_0.8_1_T', share(sR, 0.8, 1), 'fraction'),
    report('random_share_within_0.8_1_T', share(uR, 0.8, 1), 'fraction'),
    report('soft_share_over_T', share(sR, 1 + 1e-9, Infinity), 'fraction'),
    report('random_share_over_T', share(uR, 1 + 1e-9, Infinity), 'fraction'),
    report('soft_std_log2_lat_over_T', std(sR.map(Math.log2)), 'log2'),
    report('random_std_log2_lat_over_T', std(uR.map(Math.log2)), 'log2'),
  );

  // Plots.
  const rewardRows = [...rl, ...rnd].flatMap((r) => {
    const ma = movingAverage(r.children.map((c) => c.reward), 8);
    return r.children.map((c, i) => ({ strategy: r.kind, seed: `seed ${r.seed}`, child: c.id, reward: c.reward, avg: ma[i] }));
  });
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Real training: reward per child, RL (lr ${RL.lr}, batch ${RL.batch}) vs random (line: moving average of 8)`,
    data: { values: rewardRows },
    facet: { column: { field: 'seed', type: 'nominal', title: null } },
    spec: {
      width: 220, height: 200,
      layer: [
        { mark: { type: 'point', opacity: 0.4, size: 18 }, encoding: { x: { field: 'child', type: 'quantitative', title: 'child (sample order)' }, y: { field: 'reward', type: 'quantitative', scale: { zero: false } }, color: { field: 'strategy', type: 'nominal' } } },
        { mark: { type: 'line', strokeWidth: 2 }, encoding: { x: { field: 'child', type: 'quantitative' }, y: { field: 'avg', type: 'quantitative' }, color: { field: 'strategy', type: 'nominal' } } },
      ],
    },
  } as TopLevelSpec, 'search-quality-reward.svg');
  await entropyPlot(rl, 'Real training: controller entropy after each update (random search stays at 1)', 'search-quality-entropy.svg', (r) => `seed ${r.seed}`);
  await latencyHistogram(
    [...histogramRows(`RL, soft reward (${sR.length})`, sR), ...histogramRows(`random (${uR.length})`, uR)],
    `Real training: latency of sampled children relative to T (${SEEDS.length} seeds pooled; soft vs hard: SURROGATE plot)`, 'search-quality-latency.svg',
  );

  return {
    benchmark: 'search-quality',
    metrics: metrics.map((m) => ({ ...m, value: round(m.value, 4) })),
    machine: { ...pythonFacts(), workers: `${WORKERS} x 1 thread`, load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes:
      `Real training on bench/fixtures/generated/search-quality-rl.mnas (examples/search-quickstart.mnas with children ${CHILDREN}, controller lr ${RL.lr} batch ${RL.batch}${PROXY_WIDTH ? `, dataset width ${PROXY_WIDTH} (the quickstart sets none)` : ''}; the rest as shipped); ` +
      `seeds ${SEEDS.join(', ')}; rl and random for every seed, all ${runs.length} runs at once on one pool of ${WORKERS} PyTorch workers (1 thread each), so load hits every strategy alike; ` +
      `deadline ${MINUTES} min, after which every run counts its first ${budget} children (whole controller batches that all runs finished). ${seconds.toFixed(0)} s in all, ${rows.length} children trained ` +
      `(RL reuses a repeated architecture's result), 1-min load ${load.min}-${load.max} (median ${load.median}). ` +
      `Per seed, last-quarter mean reward rl vs random (best rl vs random): ${perSeed.map((s) => `seed ${s.seed} ${s.rlLq.toFixed(4)} vs ${s.rndLq.toFixed(4)} (${s.rlBest.toFixed(4)} vs ${s.rndBest.toFixed(4)})`).join('; ')}. ` +
      `Last quarter = the last ${Math.max(1, Math.floor(budget / 4))} children of each run. T = ${T.toFixed(3)} ms (median over runs). Latency shares count every sampled child (repeats too).`,
  };
}
