// SURROGATE search quality at the paper's scale, which cannot be trained here (issue 13, part 5):
// NAS-Bench-301's method. A regressor is fitted on every really trained child of the quickstart
// signal (bench/results/search-quality-children.jsonl from search-quality, plus the proxy-rank
// benchmark's children when dataset and budget match), scored on architectures it never saw; a
// latency profile is calibrated here for the quickstart space (`mnas calibrate --device local`).
// Then the real search engine runs RL vs random for thousands of children and several seeds
// against surrogate accuracy (with seed noise) and predicted latency, plus one RL run with the
// hard reward, a learning-rate x controller-batch sweep at the real runs' budget, and RL with
// `overlap on` at a pool of OVERLAP_SLOTS workers in virtual time (bench/lib/virtualTime.ts:
// children finish in the order such a pool would finish them, so each update learns from children
// sampled several updates earlier), against the same seeds' synchronous RL (overlap off: its
// children do not depend on the pool). Every figure and plot is labelled SURROGATE. Plots: docs/img/search-quality-surrogate*.svg, soft-vs-hard-latency.svg.
//
// MNAS_BENCH_SMOKE=1: tiny budgets (checks the harness; results not for committing).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { ProfileLatency } from '../server/src/latency/profileLatency';
import { type BenchResult, type Metric, report, round } from './lib/result';
import { load as loadFile } from '../server/src/cli/load';
import { GENERATED, loadavg, LoadSampler, mean, median, QUICKSTART, ROOT, RUNS, spearman, std, useBenchCache } from './lib/search';
import {
  best, CHILDREN_FILE, derive, entropyPlot, EXTRA_CHILDREN, histogramRows, type Hyper, type Kind, lastQuarter, latencyHistogram,
  movingAverage, ratios, readChildren, readRun, RL, sameDataset, share, SMOKE, staleness, svg, type TrainedChild,
} from './lib/searchQuality';
import { archFeatures, archGroup, Surrogate, type SurrogateRow } from './lib/surrogate';
import { childrenOf, type PlannedRun, runInProcesses } from './lib/surrogateSearch';

/** Children per surrogate run and seeds (the paper sampled about 8K); MNAS_BENCH_SURROGATE_CHILDREN / _SEEDS override. */
const S_CHILDREN = Number(process.env.MNAS_BENCH_SURROGATE_CHILDREN ?? (SMOKE ? 120 : 2000));
const S_SEEDS = Array.from({ length: Number(process.env.MNAS_BENCH_SURROGATE_SEEDS ?? (SMOKE ? 2 : 5)) }, (_, i) => i + 1);
/** The long runs: the real runs' learning rate, an update per 8 children (250 updates at 2,000). */
const S_HYPER: Hyper = { lr: RL.lr, batch: 8 };
/** T in the predicted world: this factor x the skeleton Tiny's predicted latency (the quickstart's relative target). */
export const T_FACTOR = 0.8;
/** The sweep at the real runs' budget (their common children per run, as search-quality recorded it). */
const SWEEP_CHILDREN = SMOKE ? 16 : realBudget() ?? 48;
const SWEEP_LR = SMOKE ? [0.00035, 0.03] : [0.00035, 0.003, 0.01, 0.03, 0.1];
const SWEEP_BATCH = SMOKE ? [4] : [2, 4, 8];
const SWEEP_SEEDS = SMOKE ? [1, 2] : [1, 2, 3, 4];
/** The pool `overlap on` is measured at (virtual time): 64 workers, as the paper's 64 TPUs. */
const OVERLAP_SLOTS = SMOKE ? 16 : 64;
/** Processes the searches are spread over (the machine has 2 cores). */
const PROCESSES = 3;

function realBudget(): number | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'results', 'search-quality.json'), 'utf8')) as { metrics?: { name: string; value: number }[] };
    return r.metrics?.find((m) => m.name === 'children_per_run')?.value;
  } catch {
    return undefined;
  }
}

/** Calibrates a local latency profile of the quickstart space (min statistic) with `mnas calibrate`. */
export function calibrateProfile(file: string): { profile: string; seconds: number; summary: string } {
  const out = path.join(GENERATED, 'search-quality-profile.json');
  fs.rmSync(out, { force: true });
  fs.rmSync(`${out}.journal`, { force: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'mnas.cjs'), 'calibrate', '--device', 'local', '--space', file, '--out', out, '--samples', '20'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mnas calibrate failed: ${r.stderr || r.stdout}`);
  return { profile: out, seconds: (performance.now() - t0) / 1000, summary: (r.stdout.trim().split('\n').pop() ?? '').replace(/^wrote \S+: /, '') };
}

/** The same architecture trained with the same seed is one training (an identical result): keep one. */
export function distinctTrainings(children: TrainedChild[]): TrainedChild[] {
  const seen = new Set<string>();
  return children.filter((c, i) => {
    const k = `${archGroup(c.arch)}|${JSON.stringify(c.dataset)}|${c.trainSeed ?? `row ${i}`}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const t0 = performance.now();
  const metrics: Metric[] = [];

  // The real children and their signal (dataset + budget of the real runs).
  const own = readChildren(process.env.MNAS_BENCH_CHILDREN_FILE ?? (SMOKE ? path.join(GENERATED, 'search-quality-children.jsonl') : CHILDREN_FILE));
  if (own.length === 0) throw new Error('no trained children: run the search-quality benchmark first');
  const key = own[0].dataset;
  const extra = (process.env.MNAS_BENCH_EXTRA_CHILDREN ? [process.env.MNAS_BENCH_EXTRA_CHILDREN] : EXTRA_CHILDREN).flatMap(readChildren).filter((c) => sameDataset(key, c.dataset));
  const trained = distinctTrainings([...own, ...extra]);
  const rows: SurrogateRow[] = trained.map((c) => ({ x: archFeatures(c.arch), y: c.accuracy, group: archGroup(c.arch) }));
  // Scored here; each search process refits the chosen model on the same rows.
  const fitted = await Surrogate.fit(rows, 1);
  await fitted.close();
  const sum = fitted.summary;
  const chosen = sum.models[sum.chosen];

  // Predicted latency: a profile of this machine, checked against the real runs' measurements.
  const soft0 = derive('search-quality-surrogate-calibrate', SWEEP_CHILDREN, RL, 'soft');
  const cal = calibrateProfile(soft0);
  const profile = ProfileLatency.open(cal.profile);
  const measured = own.filter((c) => typeof c.latencyMs === 'number');
  const predicted = await Promise.all(measured.map(async (c) => (await profile.measure(c.arch)).ms));
  const latErr = measured.map((c, i) => Math.abs(predicted[i] / c.latencyMs! - 1));
  const latRho = spearman(predicted, measured.map((c) => c.latencyMs!));
  const tiny = loadFile(QUICKSTART).local.get('Tiny');
  if (tiny?.kind !== 'model') throw new Error(`${QUICKSTART} declares no model Tiny`);
  const T = T_FACTOR * (await profile.measure(tiny.arch)).ms;
  const realT = median(own.map((c) => c.targetMs ?? NaN).filter(Number.isFinite));

  const root = path.join(RUNS, 'search-quality', 'surrogate');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  // Every search of the benchmark, run by PROCESSES processes (bench/lib/surrogateSearch.ts).
  type Planned = PlannedRun & { kind: Kind; role: 'long' | 'sweep'; lr: number };
  const planned: Planned[] = [];
  const add = (role: Planned['role'], kind: Kind, seed: number, children: number, h: Hyper) => {
    const reward = kind === 'rl-hard' ? 'hard' : 'soft';
    const overlap = kind === 'rl-overlap';
    const file = derive(`search-quality-surrogate-${reward}-${h.lr}-${h.batch}-${children}${overlap ? '-overlap' : ''}`, children, { ...h, overlap }, reward, T);
    planned.push({
      role, kind, seed, children, lr: h.lr, batch: h.batch, file, strategy: kind === 'random' ? 'random' : 'rl', out: path.join(root, `${kind}-${h.lr}-${h.batch}-${children}-s${seed}`),
      ...(overlap ? { slots: OVERLAP_SLOTS } : {}),
    });
  };
  for (const seed of S_SEEDS) { add('long', 'rl', seed, S_CHILDREN, S_HYPER); add('long', 'rl-overlap', seed, S_CHILDREN, S_HYPER); add('long', 'random', seed, S_CHILDREN, S_HYPER); }
  add('long', 'rl-hard', S_SEEDS[0], S_CHILDREN, S_HYPER);
  for (const seed of SWEEP_SEEDS) {
    add('sweep', 'random', seed, SWEEP_CHILDREN, RL);
    for (const batch of SWEEP_BATCH) for (const lr of SWEEP_LR) add('sweep', 'rl', seed, SWEEP_CHILDREN, { lr, batch });
  }
  const s0 = performance.now();
  const dirs = await runInProcesses({ rows, model: sum.chosen, noiseSd: sum.noise_sd, profile: cal.profile, cacheDir, runs: planned }, PROCESSES, root);
  const searchSeconds = (performance.now() - s0) / 1000;
  const done = planned.map((p, i) => ({ ...p, run: readRun(p.kind, p.seed, dirs[i], childrenOf(dirs[i])) }));
  const long = (kind: Kind) => done.filter((d) => d.role === 'long' && d.kind === kind).map((d) => d.run);
  const sRl = long('rl');
  const sRnd = long('random');
  const sOv = long('rl-overlap');
  const sHard = long('rl-hard')[0];
  const sweep = done.filter((d) => d.role === 'sweep' && d.kind === 'rl').map((d) => ({
    lr: d.lr, batch: d.batch, seed: d.seed,
    diff: lastQuarter(d.run) - lastQuarter(done.find((x) => x.role === 'sweep' && x.kind === 'random' && x.seed === d.seed)!.run),
  }));
  const seconds = (performance.now() - t0) / 1000;
  const load = sampler.stop();

  const per = S_SEEDS.map((seed, i) => ({ seed, rlLq: lastQuarter(sRl[i]), rndLq: lastQuarter(sRnd[i]), rlBest: best(sRl[i]), rndBest: best(sRnd[i]) }));
  const wins = per.filter((s) => s.rlLq > s.rndLq).length;
  const ovPer = S_SEEDS.map((seed, i) => ({ seed, lq: lastQuarter(sOv[i]), best: best(sOv[i]), minusRl: lastQuarter(sOv[i]) - per[i].rlLq, minusRnd: lastQuarter(sOv[i]) - per[i].rndLq }));
  const ovStale = sOv.flatMap((r) => staleness(r.dir));
  const se = (xs: number[]) => (xs.length > 1 ? std(xs) / Math.sqrt(xs.length) : NaN);
  const table = SWEEP_BATCH.flatMap((batch) => SWEEP_LR.map((lr) => {
    const xs = sweep.filter((s) => s.lr === lr && s.batch === batch);
    return { lr, batch, meanDiff: mean(xs.map((s) => s.diff)), wins: xs.filter((s) => s.diff > 0).length, n: xs.length };
  }));
  const top = table.reduce((a, b) => (b.meanDiff > a.meanDiff ? b : a));
  const mine = table.find((c) => c.lr === RL.lr && c.batch === RL.batch);
  const sS = ratios(sRl.slice(0, 1));
  const sH = ratios([sHard]);
  metrics.push(
    report('surrogate_trained_children', rows.length, 'children'),
    report('surrogate_distinct_architectures', sum.groups, 'architectures'),
    report('surrogate_heldout_spearman', chosen.test_spearman, 'rho'),
    report('surrogate_heldout_r2', chosen.test_r2, 'R2'),
    report('surrogate_heldout_rmse', chosen.test_rmse, 'accuracy'),
    report('surrogate_seed_noise_sd', sum.noise_sd, 'accuracy'),
    report('surrogate_profile_vs_measured_spearman', latRho, 'rho'),
    report('surrogate_profile_vs_measured_within_10pct', share(latErr, 0, 0.1), 'fraction'),
    report('surrogate_rl_above_random_last_quarter_seeds', wins, `of ${S_SEEDS.length} seeds`),
    report('surrogate_rl_last_quarter_reward_mean', mean(per.map((s) => s.rlLq)), 'reward'),
    report('surrogate_random_last_quarter_reward_mean', mean(per.map((s) => s.rndLq)), 'reward'),
    report('surrogate_rl_best_reward_mean', mean(per.map((s) => s.rlBest)), 'reward'),
    report('surrogate_random_best_reward_mean', mean(per.map((s) => s.rndBest)), 'reward'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_last_quarter_reward_mean`, mean(ovPer.map((s) => s.lq)), 'reward'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_best_reward_mean`, mean(ovPer.map((s) => s.best)), 'reward'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_minus_rl_last_quarter_mean`, mean(ovPer.map((s) => s.minusRl)), 'reward'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_minus_rl_last_quarter_se`, se(ovPer.map((s) => s.minusRl)), 'reward'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_above_rl_last_quarter_seeds`, ovPer.filter((s) => s.minusRl > 0).length, `of ${S_SEEDS.length} seeds`),
    report(`surrogate_overlap${OVERLAP_SLOTS}_above_random_last_quarter_seeds`, ovPer.filter((s) => s.minusRnd > 0).length, `of ${S_SEEDS.length} seeds`),
    report(`surrogate_overlap${OVERLAP_SLOTS}_staleness_mean`, mean(ovStale), 'updates'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_staleness_max`, Math.max(...ovStale), 'updates'),
    report(`surrogate_overlap${OVERLAP_SLOTS}_entropy_end_share`, mean(sOv.map((r) => (r.entropy[r.entropy.length - 1]?.entropy ?? NaN) / r.uniformEntropy)), 'fraction'),
    report('surrogate_rl_entropy_end_share', mean(sRl.map((r) => (r.entropy[r.entropy.length - 1]?.entropy ?? NaN) / r.uniformEntropy)), 'fraction'),
    report('surrogate_soft_share_within_0.8_1_T', share(sS, 0.8, 1), 'fraction'),
    report('surrogate_hard_share_within_0.8_1_T', share(sH, 0.8, 1), 'fraction'),
    report('surrogate_soft_share_over_T', share(sS, 1 + 1e-9, Infinity), 'fraction'),
    report('surrogate_hard_share_over_T', share(sH, 1 + 1e-9, Infinity), 'fraction'),
    report('surrogate_sweep_best_lr', top.lr, 'lr'),
    report('surrogate_sweep_best_batch', top.batch, 'children'),
    ...(mine ? [report('surrogate_sweep_default_minus_random', mine.meanDiff, 'reward')] : []),
  );

  // Plots, every one titled SURROGATE.
  const curve = [...sRl, ...sOv, ...sRnd].flatMap((r) => {
    const ma = movingAverage(r.children.map((c) => c.reward), 100);
    return ma.flatMap((v, i) => (i % 10 === 9 ? [{ strategy: r.kind, seed: r.seed, child: i + 1, reward: v }] : []));
  });
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `SURROGATE (not trained): reward, RL (overlap off; overlap on at ${OVERLAP_SLOTS} virtual workers) vs random, ${S_CHILDREN} children x ${S_SEEDS.length} seeds (moving average of 100)`,
    width: 520, height: 240,
    data: { values: curve },
    mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8 },
    encoding: { x: { field: 'child', type: 'quantitative', title: 'child (sample order)' }, y: { field: 'reward', type: 'quantitative', scale: { zero: false }, title: 'SURROGATE reward' }, color: { field: 'strategy', type: 'nominal' }, detail: { field: 'seed', type: 'nominal' } },
  } as TopLevelSpec, 'search-quality-surrogate.svg');
  await entropyPlot([...sRl, ...sOv], `SURROGATE: controller entropy after each update (lr ${S_HYPER.lr}, batch ${S_HYPER.batch}; overlap off and on at ${OVERLAP_SLOTS} workers)`, 'search-quality-surrogate-entropy.svg', (r) => `${r.kind} seed ${r.seed}`);
  await latencyHistogram(
    [...histogramRows(`SURROGATE RL, soft (${sS.length})`, sS), ...histogramRows(`SURROGATE RL, hard (${sH.length})`, sH), ...histogramRows(`SURROGATE random (${sRnd[0].children.length})`, ratios(sRnd.slice(0, 1)))],
    `SURROGATE: predicted latency of sampled children relative to T (seed ${S_SEEDS[0]}, ${S_CHILDREN} children)`, 'soft-vs-hard-latency.svg',
  );
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `SURROGATE sweep at ${SWEEP_CHILDREN} children: last-quarter reward, RL minus random (mean of ${SWEEP_SEEDS.length} seeds)`,
    width: 360, height: 200,
    data: { values: table.map((c) => ({ lr: String(c.lr), batch: `batch ${c.batch}`, diff: c.meanDiff })) },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x: { field: 'lr', type: 'ordinal', sort: null, title: 'controller learning rate' }, y: { field: 'diff', type: 'quantitative', title: 'RL - random (SURROGATE reward)' }, color: { field: 'batch', type: 'nominal' } } },
      { mark: { type: 'rule', color: 'grey', strokeDash: [4, 3] }, encoding: { y: { datum: 0 } } },
    ],
  } as TopLevelSpec, 'search-quality-surrogate-sweep.svg');

  return {
    benchmark: 'search-quality-surrogate',
    metrics: metrics.map((m) => ({ ...m, value: round(m.value, 4) })),
    machine: { load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes:
      `SURROGATE, not training. Accuracy: ${rows.length} really trained children (${own.length} of search-quality${extra.length ? `, ${extra.length} of proxy-rank` : ''}; one row per distinct training), ${sum.groups} distinct architectures; ` +
      `encoding per block [mbconv, expansion, kernel, SE, log2 filters, layers] + log10 params and mult-adds of the full network; 20% of the architectures held out (grouped: an architecture is never on both sides), ` +
      `model chosen by 5-fold grouped CV Spearman on the rest: ${Object.entries(sum.models).map(([n, m]) => `${n} CV ${m.cv_spearman.toFixed(3)}, held-out Spearman ${m.test_spearman.toFixed(3)} / R2 ${m.test_r2.toFixed(3)} / RMSE ${m.test_rmse.toFixed(4)}`).join('; ')}; ` +
      `chosen ${sum.chosen}, refitted on all. Seed noise sd ${sum.noise_sd.toFixed(4)} (pooled over ${sum.pairs} architectures trained more than once) is added to every prediction (seeded), as NAS-Bench-301's noisy surrogate. ` +
      `Latency: a local profile from \`mnas calibrate --device local\` (CPU-time minimum) of the quickstart space (${cal.summary}; ${cal.seconds.toFixed(0)} s); against the real runs' measurements Spearman ${latRho.toFixed(3)}, within ±10% ${(100 * share(latErr, 0, 0.1)).toFixed(0)}%. ` +
      `T = ${T.toFixed(4)} ms = ${T_FACTOR} x Tiny's predicted latency (the real runs' T: ${realT.toFixed(4)} ms measured). ` +
      `Search: the real engine with an injected evaluator; ${S_CHILDREN} children x seeds ${S_SEEDS.join(', ')} for rl (lr ${S_HYPER.lr}, batch ${S_HYPER.batch}, overlap off: the paper's synchronous loop), ` +
      `rl-overlap (overlap on at a pool of ${OVERLAP_SLOTS} workers in virtual time: ${OVERLAP_SLOTS} + ${S_HYPER.batch} children out, each taking a seeded lognormal time with a 5% tail of 3-5x stragglers, finished in the order such a pool finishes them) and random, one rl-hard run (seed ${S_SEEDS[0]}, overlap off). ` +
      `rl-overlap's updates learnt from children sampled ${mean(ovStale).toFixed(1)} updates earlier on average (at most ${Math.max(...ovStale)}). ` +
      `Last quarter rl vs rl-overlap vs random per seed: ${per.map((s, i) => `${s.rlLq.toFixed(4)} vs ${ovPer[i].lq.toFixed(4)} vs ${s.rndLq.toFixed(4)}`).join(', ')}; ` +
      `rl-overlap minus rl ${mean(ovPer.map((s) => s.minusRl)).toFixed(4)} ± ${se(ovPer.map((s) => s.minusRl)).toFixed(4)} (mean ± standard error over seeds). ` +
      `Sweep at ${SWEEP_CHILDREN} children (seeds ${SWEEP_SEEDS.join(', ')}; mean last-quarter reward rl minus random, seeds won): ` +
      `${table.map((c) => `lr ${c.lr} batch ${c.batch} ${c.meanDiff >= 0 ? '+' : ''}${c.meanDiff.toFixed(4)} (${c.wins}/${c.n})`).join('; ')}. the searches ${searchSeconds.toFixed(0)} s in ${PROCESSES} processes, ${seconds.toFixed(0)} s in all; 1-min load ${load.min}-${load.max}.`,
  };
}
