// Evidence that the search searches (issue 13, part 5), with real training on the quickstart's
// space and signal: RL vs random with the same budget and seeds, and what `overlap on` (no waiting
// for stragglers, issue 15) does to reward: per seed, `rl` (overlap off: the paper's synchronous
// loop), `rl-overlap` (overlap on) and `random`.
// Every run of every seed goes at once onto one shared pool of PyTorch workers, so machine load
// hits every strategy alike; a deadline stops all of them together and every run is cut to the
// same number of children. Each run sees the pool's trainers as its capacity, so `rl-overlap`
// keeps trainers + batch children out, as it would on that pool alone. Reports last-quarter and
// best reward per seed, controller entropy over time, the latency of sampled children relative
// to T, and how stale overlap's children were. A child trained before with the same architecture,
// settings and seed (bench/lib/reusedTrainings.ts) is not trained again, only timed again. Every
// newly trained child is appended to bench/results/search-quality-children.jsonl, the training
// data of search-quality-surrogate. Plots: docs/img/search-quality-reward.svg,
// search-quality-entropy.svg, search-quality-latency.svg.
//
//   flock <bench lock> env MNAS_BENCH_MINUTES=45 node --import tsx bench/run.ts search-quality
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
import { ReusedTrainings, trainingKey } from './lib/reusedTrainings';
import { type ModelSpec, toArch } from '../server/src/language/arch';
import { GENERATED, LoadSampler, loadavg, mean, median, pythonFacts, RUNS, SharedEvaluator, std, useBenchCache } from './lib/search';
import {
  best, CHILDREN, CHILDREN_FILE, childRows, derive, entropyPlot, histogramRows, type Kind, lastQuarter, latencyHistogram, movingAverage, ratios,
  PROXY_WIDTH, readChildren, readRun, RL, type Run, share, SMOKE, staleness, svg,
} from './lib/searchQuality';

const SEEDS = SMOKE ? [1] : [1, 2, 3];
/**
 * rl (synchronous), rl-overlap and random for every seed. Soft vs hard is measured at the
 * SURROGATE's scale: with the few tens of children per run that fit here the controller has made
 * a handful of updates, and an rl-hard run would cost a ninth of the budget to show the prior again.
 */
const KINDS: Kind[] = ['rl', 'rl-overlap', 'random'];
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

/** Mean and standard error of the mean. */
function meanSe(xs: number[]): { mean: number; se: number } {
  return { mean: mean(xs), se: xs.length > 1 ? std(xs) / Math.sqrt(xs.length) : NaN };
}
/** a - b of two runs' last quarters, with the standard error of that difference (Welch, from the children's rewards). */
function lastQuarterDiff(a: Run, b: Run): { diff: number; se: number } {
  const q = (r: Run) => r.children.slice(-Math.max(1, Math.floor(r.children.length / 4))).map((c) => c.reward);
  const [x, y] = [q(a), q(b)];
  return { diff: mean(x) - mean(y), se: Math.sqrt(std(x) ** 2 / x.length + std(y) ** 2 / y.length) };
}
const signed = (v: number, d = 4) => `${v >= 0 ? '+' : ''}${v.toFixed(d)}`;

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const root = path.join(RUNS, 'search-quality', 'real');
  if (!RESUME) fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const load0 = loadavg();
  const t0 = performance.now();
  const sync = derive('search-quality-rl', CHILDREN, { ...RL, overlap: false }, 'soft');
  const overlapped = derive('search-quality-rl-overlap', CHILDREN, { ...RL, overlap: true }, 'soft');
  const file = SMOKE ? path.join(GENERATED, 'search-quality-children.jsonl') : CHILDREN_FILE;
  const earlier = readChildren(file);

  const sampler = new LoadSampler();
  const local = await LocalEvaluator.start({ latency: { kind: 'local' }, workers: WORKERS });
  const shared = new SharedEvaluator(local, WORKERS);
  const evaluator = new ReusedTrainings(shared, earlier);
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), MINUTES * 60_000);
  let raw: { kind: Kind; seed: number; dir: string; children: Run['children'] }[];
  try {
    raw = await Promise.all(SEEDS.flatMap((seed) => KINDS.map(async (kind) => {
      const parent = path.join(root, `${kind}-s${seed}`);
      const found = RESUME ? existingRun(parent) : undefined;
      if (!found) fs.rmSync(parent, { recursive: true, force: true });
      const res = found
        ? await runSearch({ resume: found, evaluator, cacheDir, signal: stop.signal })
        : await runSearch({ file: kind === 'rl-overlap' ? overlapped : sync, out: parent, seed, strategy: kind === 'random' ? 'random' : 'rl', cacheDir, evaluator, signal: stop.signal });
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
  // Every child of every run trained here (also those past the common budget), appended to the surrogate's data.
  const all = raw.map((r) => readRun(r.kind, r.seed, r.dir, r.children));
  // A reused training has no weights of its own (the inner evaluator only timed it); the journal says so, also after a resume.
  const trainedOf = (r: Run) => r.children.filter((c) => c.cachedFrom === undefined && c.weights !== undefined);
  const reusedCount = all.reduce((a, r) => a + r.children.filter((c) => c.cachedFrom === undefined && c.weights === undefined).length, 0);
  const fromFile = [...evaluator.reused.values()].filter((v) => v === 'file').length;
  const fromRun = [...evaluator.reused.values()].filter((v) => v === 'this run').length;
  const trainedHere = childRows(all.map((r) => ({ ...r, children: trainedOf(r) })));
  // A resumed attempt's earlier children are in the file already: one line per training.
  const inFile = new Set(earlier.map((c) => trainingKey(c.arch, c.dataset, c.trainSeed ?? NaN)));
  const rows = trainedHere.filter((row) => !inFile.has(trainingKey(toArch(row.spec as ModelSpec), row.dataset as Record<string, unknown>, (row.seed as number) * 100_003 + (row.child as number))));
  if (rows.length) fs.appendFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  if (budget < batch) throw new Error(`not one controller batch finished in every run within ${MINUTES} min (${trainedHere.length} children trained, ${rows.length} appended to ${path.relative(process.cwd(), file)}); raise MNAS_BENCH_MINUTES and re-run with MNAS_BENCH_RESUME=1`);
  const runs = raw.map((r) => readRun(r.kind, r.seed, r.dir, r.children, budget));
  const of = (k: Kind) => runs.filter((r) => r.kind === k).sort((a, b) => a.seed - b.seed);
  const rl = of('rl');
  const ov = of('rl-overlap');
  const rnd = of('random');

  const metrics: Metric[] = [];
  const perSeed = SEEDS.map((seed, i) => ({
    seed, rlLq: lastQuarter(rl[i]), ovLq: lastQuarter(ov[i]), rndLq: lastQuarter(rnd[i]), rlBest: best(rl[i]), ovBest: best(ov[i]), rndBest: best(rnd[i]),
    ovMinusRl: lastQuarterDiff(ov[i], rl[i]), ovMinusRnd: lastQuarterDiff(ov[i], rnd[i]), rlMinusRnd: lastQuarterDiff(rl[i], rnd[i]),
  }));
  const wins = perSeed.filter((s) => s.rlLq > s.rndLq).length;
  const ovWins = perSeed.filter((s) => s.ovLq > s.rndLq).length;
  metrics.push({ name: 'rl_above_random_last_quarter_seeds', value: wins, unit: `of ${SEEDS.length} seeds`, goal: `= ${SEEDS.length}`, met: wins === SEEDS.length });
  metrics.push({ name: 'rl_overlap_above_random_last_quarter_seeds', value: ovWins, unit: `of ${SEEDS.length} seeds`, goal: `= ${SEEDS.length}`, met: ovWins === SEEDS.length });
  metrics.push(report('rl_overlap_above_rl_last_quarter_seeds', perSeed.filter((s) => s.ovLq > s.rlLq).length, `of ${SEEDS.length} seeds`));
  for (const s of perSeed) {
    metrics.push(
      report(`rl_minus_random_last_quarter_seed${s.seed}`, s.rlMinusRnd.diff, 'reward'),
      report(`rl_overlap_minus_rl_last_quarter_seed${s.seed}`, s.ovMinusRl.diff, 'reward'),
      report(`rl_overlap_minus_random_last_quarter_seed${s.seed}`, s.ovMinusRnd.diff, 'reward'),
    );
  }
  const ovRl = meanSe(perSeed.map((s) => s.ovMinusRl.diff));
  const ovRnd = meanSe(perSeed.map((s) => s.ovMinusRnd.diff));
  const rlRnd = meanSe(perSeed.map((s) => s.rlMinusRnd.diff));
  const T = median(runs.map((r) => r.targetMs));
  const sR = ratios(rl);
  const oR = ratios(ov);
  const uR = ratios(rnd);
  const stale = ov.flatMap((r) => staleness(r.dir, budget));
  const accs = all.flatMap((r) => r.children.map((c) => c.accuracy));
  const entropyEnd = (rs: Run[]) => mean(rs.map((r) => r.entropy[r.entropy.length - 1]?.entropy ?? NaN));
  metrics.push(
    report('rl_overlap_minus_rl_last_quarter_mean', ovRl.mean, 'reward'),
    report('rl_overlap_minus_rl_last_quarter_se', ovRl.se, 'reward'),
    report('rl_overlap_minus_random_last_quarter_mean', ovRnd.mean, 'reward'),
    report('rl_overlap_minus_random_last_quarter_se', ovRnd.se, 'reward'),
    report('rl_minus_random_last_quarter_se', rlRnd.se, 'reward'),
    report('rl_last_quarter_reward_mean', mean(perSeed.map((s) => s.rlLq)), 'reward'),
    report('rl_overlap_last_quarter_reward_mean', mean(perSeed.map((s) => s.ovLq)), 'reward'),
    report('random_last_quarter_reward_mean', mean(perSeed.map((s) => s.rndLq)), 'reward'),
    report('rl_best_reward_mean', mean(perSeed.map((s) => s.rlBest)), 'reward'),
    report('rl_overlap_best_reward_mean', mean(perSeed.map((s) => s.ovBest)), 'reward'),
    report('random_best_reward_mean', mean(perSeed.map((s) => s.rndBest)), 'reward'),
    report('rl_best_above_random_seeds', perSeed.filter((s) => s.rlBest > s.rndBest).length, `of ${SEEDS.length} seeds`),
    report('rl_overlap_best_above_random_seeds', perSeed.filter((s) => s.ovBest > s.rndBest).length, `of ${SEEDS.length} seeds`),
    report('children_per_run', budget, 'children'),
    report('rl_overlap_staleness_mean', mean(stale), 'updates'),
    report('rl_overlap_staleness_max', Math.max(...stale), 'updates'),
    report('rl_overlap_stale_share', share(stale, 1, Infinity), 'fraction'),
    report('rl_entropy_start', mean(rl.map((r) => r.entropy[0]?.entropy ?? NaN)), 'nats'),
    report('rl_entropy_end', entropyEnd(rl), 'nats'),
    report('rl_overlap_entropy_end', entropyEnd(ov), 'nats'),
    report('uniform_entropy', rl[0].uniformEntropy, 'nats'),
    report('rl_repeated_children_share', mean(rl.map((r) => r.children.filter((c) => c.cachedFrom !== undefined).length / r.children.length)), 'fraction'),
    report('rl_overlap_repeated_children_share', mean(ov.map((r) => r.children.filter((c) => c.cachedFrom !== undefined).length / r.children.length)), 'fraction'),
    report('trained_children', trainedHere.length, 'children'),
    report('reused_trainings', reusedCount, 'children'),
    report('proxy_accuracy_min', Math.min(...accs), 'accuracy'),
    report('proxy_accuracy_max', Math.max(...accs), 'accuracy'),
    report('target_ms', T, 'ms'),
    report('soft_share_within_0.8_1_T', share(sR, 0.8, 1), 'fraction'),
    report('overlap_share_within_0.8_1_T', share(oR, 0.8, 1), 'fraction'),
    report('random_share_within_0.8_1_T', share(uR, 0.8, 1), 'fraction'),
    report('soft_share_over_T', share(sR, 1 + 1e-9, Infinity), 'fraction'),
    report('overlap_share_over_T', share(oR, 1 + 1e-9, Infinity), 'fraction'),
    report('random_share_over_T', share(uR, 1 + 1e-9, Infinity), 'fraction'),
    report('soft_std_log2_lat_over_T', std(sR.map(Math.log2)), 'log2'),
    report('overlap_std_log2_lat_over_T', std(oR.map(Math.log2)), 'log2'),
    report('random_std_log2_lat_over_T', std(uR.map(Math.log2)), 'log2'),
  );

  // Plots.
  const rewardRows = [...rl, ...ov, ...rnd].flatMap((r) => {
    const ma = movingAverage(r.children.map((c) => c.reward), 8);
    return r.children.map((c, i) => ({ strategy: r.kind, seed: `seed ${r.seed}`, child: c.id, reward: c.reward, avg: ma[i] }));
  });
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Real training: reward per child, RL (lr ${RL.lr}, batch ${RL.batch}; overlap off and on) vs random (line: moving average of 8)`,
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
  await entropyPlot([...rl, ...ov], 'Real training: controller entropy after each update, rl (overlap off) and rl-overlap (random search stays at 1)', 'search-quality-entropy.svg', (r) => `${r.kind} seed ${r.seed}`);
  await latencyHistogram(
    [...histogramRows(`RL, soft, overlap off (${sR.length})`, sR), ...histogramRows(`RL, soft, overlap on (${oR.length})`, oR), ...histogramRows(`random (${uR.length})`, uR)],
    `Real training: latency of sampled children relative to T (${SEEDS.length} seeds pooled; soft vs hard: SURROGATE plot)`, 'search-quality-latency.svg',
  );

  const lq = (v: number, se: number) => `${signed(v)} ± ${se.toFixed(4)}`;
  return {
    benchmark: 'search-quality',
    metrics: metrics.map((m) => ({ ...m, value: round(m.value, 4) })),
    machine: { ...pythonFacts(), workers: `${WORKERS} x 1 thread`, load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes:
      `Real training on bench/fixtures/generated/search-quality-rl.mnas and search-quality-rl-overlap.mnas (examples/search-quickstart.mnas with children ${CHILDREN}, controller lr ${RL.lr} batch ${RL.batch}, overlap off resp. on${PROXY_WIDTH ? `, dataset width ${PROXY_WIDTH} (the quickstart sets none)` : ''}; the rest as shipped); ` +
      `seeds ${SEEDS.join(', ')}; rl (overlap off: the paper's synchronous loop), rl-overlap (overlap on) and random (overlap off; its children do not depend on it) for every seed, all ${runs.length} runs at once on one pool of ${WORKERS} PyTorch workers (1 thread each), so load hits every strategy alike; ` +
      `each run sees the pool's ${WORKERS} trainers as its capacity, so rl-overlap keeps ${WORKERS} + ${batch} = ${WORKERS + batch} children out and its updates learnt from children sampled ${mean(stale).toFixed(2)} updates earlier on average (at most ${Math.max(...stale)}; ${(100 * share(stale, 1, Infinity)).toFixed(0)}% of them by an older policy than the one updated). ` +
      `Deadline ${MINUTES} min, after which every run counts its first ${budget} children (whole controller batches that all runs finished). ${seconds.toFixed(0)} s in all${RESUME ? ' (this attempt: it resumed an earlier one)' : ''}; ${trainedHere.length} children trained (${rows.length} new lines in the children file); ` +
      `${reusedCount} trainings reused (${fromFile} in this attempt from the children file of earlier runs, ${fromRun} from another run of this one: same architecture, dataset, budget, recipe and training seed, so the same seeded 1-thread training, the same accuracy; only their latency was measured again), besides the repeats within a run that RL reuses; ` +
      `1-min load ${load.min}-${load.max} (median ${load.median}). ` +
      `Per seed, last-quarter mean reward rl / rl-overlap / random (best): ${perSeed.map((s) => `seed ${s.seed} ${s.rlLq.toFixed(4)} / ${s.ovLq.toFixed(4)} / ${s.rndLq.toFixed(4)} (${s.rlBest.toFixed(4)} / ${s.ovBest.toFixed(4)} / ${s.rndBest.toFixed(4)})`).join('; ')}. ` +
      `rl-overlap minus rl per seed (± standard error from the children's rewards): ${perSeed.map((s) => lq(s.ovMinusRl.diff, s.ovMinusRl.se)).join(', ')}; mean ${lq(ovRl.mean, ovRl.se)} (± across seeds). ` +
      `rl-overlap minus random: ${perSeed.map((s) => lq(s.ovMinusRnd.diff, s.ovMinusRnd.se)).join(', ')}; mean ${lq(ovRnd.mean, ovRnd.se)}. rl minus random: ${perSeed.map((s) => lq(s.rlMinusRnd.diff, s.rlMinusRnd.se)).join(', ')}; mean ${lq(rlRnd.mean, rlRnd.se)}. ` +
      `Last quarter = the last ${Math.max(1, Math.floor(budget / 4))} children of each run. T = ${T.toFixed(3)} ms (median over runs). Latency shares count every sampled child (repeats too).`,
  };
}
