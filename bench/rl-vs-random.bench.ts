// RL vs random search on (a shortened copy of) examples/search-quickstart.mnas with the real
// PyTorch evaluator, the same budget and seeds for both; soft vs hard reward (a derived copy
// with `reward hard`): how sampled latencies spread around the target T; and whether the proxy
// recipe separates architectures (spread of proxy accuracies, rank correlation with size).
// Writes docs/img/rl-vs-random-reward.svg and docs/img/soft-vs-hard-latency.svg.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { runSearch } from '../server/src/search/engine';
import { LocalEvaluator } from '../server/src/search/evaluator';
import type { ChildRecord } from '../server/src/search/runFolder';
import { type BenchResult, type Metric, report } from './lib/result';
import {
  deriveQuickstart, LoadSampler, loadavg, mean, median, pythonFacts, ROOT, runsDir, spearman, std, useBenchCache,
} from './lib/search';

const SEEDS = [1, 2, 3];
const CHILDREN = 8;
const CONTROLLER_BATCH = 4;
const TRAIN = 500;
const TEST = 300;
const WIDTH = 0.25;
const IMG = path.join(ROOT, 'docs', 'img');

interface Run { kind: 'rl' | 'random' | 'rl-hard'; seed: number; children: ChildRecord[]; targetMs: number }

async function svg(spec: TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  fs.mkdirSync(IMG, { recursive: true });
  fs.writeFileSync(path.join(IMG, file), await view.toSVG());
  view.finalize();
}

function movingAverage(xs: number[], w: number): number[] {
  return xs.map((_, i) => mean(xs.slice(Math.max(0, i - w + 1), i + 1)));
}

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const out = runsDir('rl-vs-random');
  const common: [RegExp, string][] = [
    [/train 4000/, `train ${TRAIN}`], [/width 0\.5/, `width ${WIDTH}`], [/test 1000/, `test ${TEST}`], [/children 24/, `children ${CHILDREN}`],
    [/seed 1/, `seed 1\n    batch ${CONTROLLER_BATCH}`],
  ];
  const soft = deriveQuickstart('rl-vs-random-soft', common);
  const hard = deriveQuickstart('rl-vs-random-hard', [...common, [/reward soft/, 'reward hard']]);
  const load0 = loadavg();
  const sampler = new LoadSampler();
  // Two workers of one thread each: children of a batch train in parallel on the 2 cores.
  const local = await LocalEvaluator.start({ latency: { kind: 'local' }, workers: 2 });
  const runs: Run[] = [];
  const t0 = performance.now();
  try {
    for (const seed of SEEDS) {
      // Alternate the order of the strategies between seeds (machine load drifts).
      const order: Run['kind'][] = seed % 2 ? ['rl', 'random', 'rl-hard'] : ['rl-hard', 'random', 'rl'];
      for (const kind of order) {
        const res = await runSearch({
          file: kind === 'rl-hard' ? hard : soft, out, seed, strategy: kind === 'random' ? 'random' : 'rl', cacheDir, evaluator: local,
        });
        runs.push({ kind, seed, children: res.children, targetMs: 2 });
        console.log(`  ${kind} seed ${seed}: best reward ${Math.max(...res.children.map((c) => c.reward)).toFixed(4)}`);
      }
    }
  } finally {
    await local.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  const load = sampler.stop();
  const T = 2;
  const lastQuarter = (r: Run) => mean(r.children.slice(-Math.max(1, Math.floor(r.children.length / 4))).map((c) => c.reward));
  const best = (r: Run) => Math.max(...r.children.map((c) => c.reward));
  const of = (k: Run['kind']) => runs.filter((r) => r.kind === k);
  const rl = of('rl');
  const rnd = of('random');
  const rlHard = of('rl-hard');
  const latStats = (rs: Run[]) => {
    const lat = rs.flatMap((r) => r.children.map((c) => c.latencyMs));
    const within = lat.filter((l) => Math.abs(l / T - 1) <= 0.25).length / lat.length;
    return { within, stdLog: std(lat.map((l) => Math.log(l / T))), medianRatio: median(lat) / T };
  };
  const sLat = latStats(rl);
  const hLat = latStats(rlHard);
  // Separation: every trained (not cached) child of the soft runs.
  const unique = [...rl, ...rnd].flatMap((r) => r.children.filter((c) => c.cachedFrom === undefined));
  const acc = unique.map((c) => c.accuracy);
  const metrics: Metric[] = [
    report('rl_last_quarter_reward_mean', mean(rl.map(lastQuarter)), 'reward'),
    report('random_last_quarter_reward_mean', mean(rnd.map(lastQuarter)), 'reward'),
    report('rl_best_reward_mean', mean(rl.map(best)), 'reward'),
    report('random_best_reward_mean', mean(rnd.map(best)), 'reward'),
    report('rl_over_random_last_quarter', mean(rl.map(lastQuarter)) / mean(rnd.map(lastQuarter)), 'ratio'),
    report('soft_latency_within_25pct_of_T', sLat.within, 'fraction'),
    report('hard_latency_within_25pct_of_T', hLat.within, 'fraction'),
    report('soft_std_log_lat_over_T', sLat.stdLog, 'nats'),
    report('hard_std_log_lat_over_T', hLat.stdLog, 'nats'),
    report('soft_median_lat_over_T', sLat.medianRatio, 'ratio'),
    report('hard_median_lat_over_T', hLat.medianRatio, 'ratio'),
    report('proxy_accuracy_min', Math.min(...acc), 'accuracy'),
    report('proxy_accuracy_median', median(acc), 'accuracy'),
    report('proxy_accuracy_max', Math.max(...acc), 'accuracy'),
    report('spearman_accuracy_vs_params', spearman(acc, unique.map((c) => c.proxyParams)), 'rho'),
    report('spearman_accuracy_vs_mult_adds', spearman(acc, unique.map((c) => c.multAdds)), 'rho'),
  ];

  // Plots.
  const rewardRows = runs.filter((r) => r.kind !== 'rl-hard').flatMap((r) => r.children.map((c) => ({ strategy: r.kind, seed: r.seed, child: c.id, reward: c.reward })));
  const avgRows = (['rl', 'random'] as const).flatMap((k) => {
    const rs = of(k);
    const perChild = Array.from({ length: CHILDREN }, (_, i) => mean(rs.map((r) => r.children[i]?.reward ?? NaN).filter(Number.isFinite)));
    return movingAverage(perChild, 4).map((v, i) => ({ strategy: k, child: i, reward: v }));
  });
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Reward per child, RL vs random (${SEEDS.length} seeds each; line: mean over seeds, moving average of 4)`,
    width: 520, height: 260,
    layer: [
      { data: { values: rewardRows }, mark: { type: 'point', opacity: 0.5 }, encoding: { x: { field: 'child', type: 'quantitative', title: 'child (sample order)' }, y: { field: 'reward', type: 'quantitative', scale: { zero: false } }, color: { field: 'strategy', type: 'nominal' }, shape: { field: 'seed', type: 'nominal' } } },
      { data: { values: avgRows }, mark: { type: 'line', strokeWidth: 2 }, encoding: { x: { field: 'child', type: 'quantitative' }, y: { field: 'reward', type: 'quantitative' }, color: { field: 'strategy', type: 'nominal' } } },
    ],
  } as TopLevelSpec, 'rl-vs-random-reward.svg');
  const latRows = [...rl.map((r) => ['soft', r] as const), ...rlHard.map((r) => ['hard', r] as const)]
    .flatMap(([reward, r]) => r.children.map((c) => ({ reward, latency: c.latencyMs })));
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Latency of sampled children, RL with soft vs hard reward (T = ${T} ms)`,
    width: 520, height: 120,
    layer: [
      { data: { values: latRows }, mark: { type: 'tick', thickness: 2 }, encoding: { x: { field: 'latency', type: 'quantitative', title: 'measured latency (ms)', scale: { type: 'log' } }, y: { field: 'reward', type: 'nominal' }, color: { field: 'reward', type: 'nominal' } } },
      { data: { values: [{ T }] }, mark: { type: 'rule', color: 'black', strokeDash: [4, 3] }, encoding: { x: { field: 'T', type: 'quantitative' } } },
    ],
  } as TopLevelSpec, 'soft-vs-hard-latency.svg');

  return {
    benchmark: 'rl-vs-random',
    metrics,
    machine: { ...pythonFacts(), workers: '2 x 1 thread', load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes: `Real PyTorch evaluator, but a much smaller budget than the quickstart: it takes 25-55 s per child on this loaded machine, so the runs use a derived copy ` +
      `(bench/fixtures/generated/rl-vs-random-soft.mnas: train ${TRAIN}, test ${TEST}, dataset width ${WIDTH}, ${CHILDREN} children, controller batch ${CONTROLLER_BATCH}, ` +
      `i.e. ${CHILDREN / CONTROLLER_BATCH} PPO updates) and a hard-reward copy; seeds ${SEEDS.join(', ')} for rl, random and rl-hard, order alternated per seed; ${seconds.toFixed(0)} s in all. ` +
      'With 2 updates the controller has barely moved from uniform, so RL vs random and soft vs hard differences here are within noise: this is a smoke-scale check, not evidence that RL learns. ' +
      'Last quarter = the last 2 children of each run. Latency: measured locally (1 thread) at full size while the other worker trains, so it carries load noise. ' +
      `Separation: ${unique.length} trained (not cache-reused) children of the soft rl+random runs; spearman vs proxy params and full-size mult-adds. No retraining of best/worst (time).`,
  };
}
