// From the proxy to the model one would ship (issue 16): the best children under T of a
// quickstart-sized search and the space's skeleton, each trained fully with the same recipe
// (server/src/final/recipe.ts) and 2 seeds, timed together on the search's own latency source
// (host lock). Figures: full accuracy per seed, latency, proxy accuracy, Spearman between proxy
// and full accuracy, and the goal: the best child under T beats the skeleton at equal or lower
// latency (the paper's MnasNet-A1 against MobileNetV2). Plot: docs/img/final-training.svg.
//
// The children come from a run folder: MNAS_FINAL_RUN (e.g. one of the RL runs search-quality
// leaves in bench/fixtures/generated/runs/search-quality/real/), else this benchmark runs
// `mnas search examples/search-quickstart.mnas` itself (runSearch with the local evaluator, as
// the CLI does). The dataset is the search's own (run.json), at full size. Each seed trains in
// its own copy of the run folder (run.json and journal) with runFullTraining, what `mnas train
// RUN --top K --seed S` runs, so the seeds' results sit side by side.
//
// Budget (a 2-core machine; the whole benchmark should take at most ~45 minutes):
//   MNAS_FINAL_EPOCHS  epochs of every full training (default FULL_EPOCHS below)
//   MNAS_FINAL_TRAIN   training images (default: the search dataset's training split, at most TRAIN_CAP)
//   MNAS_FINAL_TOP     children trained (default 3)
//   MNAS_FINAL_WORKERS networks trained at once (default 2 on a quiet machine, 4 above load 6, 1 thread each)
//   MNAS_FINAL_MINUTES stop the trainings after this many minutes (default 30), keeping their last epoch's checkpoint
//   MNAS_FINAL_RESUME=1 continue the seed folders a stopped attempt left (finished trainings are kept)
//   MNAS_BENCH_SMOKE=1 tiny budgets to check the harness (results not for committing)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { finalTable } from '../server/src/report/finalTable';
import { fullDataset } from '../server/src/final/dataset';
import { runFullTraining } from '../server/src/final/fullTraining';
import { FULL_DEFAULTS, RECIPE_SUMMARY } from '../server/src/final/recipe';
import { type FullRecord, readFullRecords } from '../server/src/final/store';
import { runSearch } from '../server/src/search/engine';
import { localEvaluator } from '../server/src/search/evaluator';
import { type ChildRecord, type RunInfo, runPaths } from '../server/src/search/runFolder';
import { readJournal } from '../server/src/util/journal';
import { type BenchResult, type Metric, report, round } from './lib/result';
import { deriveQuickstart, LoadSampler, loadavg, mean, median, pythonFacts, QUICKSTART, RUNS, spearman, useBenchCache } from './lib/search';
import { svg } from './lib/searchQuality';

const SMOKE = process.env.MNAS_BENCH_SMOKE === '1';
/**
 * Epochs and training images at most (MNAS_FINAL_EPOCHS / MNAS_FINAL_TRAIN override): 2 seeds x 4
 * networks x 2 epochs x 5,000 images is ~20 minutes at the ~65 images/s that the benchmark's
 * trainers together got at a 1-minute load of 8-12 (docs/benchmarks.md, final-training).
 */
const FULL_EPOCHS = 2;
const TRAIN_CAP = 5000;
const SEEDS = [1, 2];
const env = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${v}: expected a positive number`);
  return n;
};
const EPOCHS = env('MNAS_FINAL_EPOCHS') ?? (SMOKE ? 1 : FULL_EPOCHS);
const TOP = env('MNAS_FINAL_TOP') ?? (SMOKE ? 2 : 3);
const WORKERS = env('MNAS_FINAL_WORKERS') ?? (loadavg()[0] > 6 ? 4 : 2);
const MINUTES = env('MNAS_FINAL_MINUTES') ?? 30;
const RESUME = process.env.MNAS_FINAL_RESUME === '1';

interface Model {
  key: string;
  kind: 'child' | 'skeleton';
  id: number | null;
  name: string;
  params: number;
  multAdds: number;
  proxy: number | null;
  /** Full accuracy (0..1) and latency (ms) per seed, in SEEDS order. */
  full: (number | null)[];
  latency: (number | null)[];
  searchLatency: number | null;
  bestEpoch: (number | null)[];
  trainSeconds: (number | null)[];
}

function readChildren(run: string): ChildRecord[] {
  const byId = new Map<number, ChildRecord>();
  for (const e of readJournal<{ type?: string }>(runPaths(run).journal).entries) if (e.type === 'child') byId.set((e as ChildRecord).id, e as ChildRecord);
  return [...byId.values()];
}

/** The source run: MNAS_FINAL_RUN, or a fresh quickstart search. */
async function sourceRun(root: string, cacheDir: string): Promise<{ run: string; searched: boolean; seconds: number }> {
  const given = process.env.MNAS_FINAL_RUN;
  if (given) {
    const run = path.resolve(given);
    if (!fs.existsSync(runPaths(run).info)) throw new Error(`MNAS_FINAL_RUN=${given}: not a run folder (no run.json)`);
    // A copy of its record: the benchmark that made it may start again meanwhile.
    return { run: RESUME && fs.existsSync(path.join(root, 'source', 'run.json')) ? path.join(root, 'source') : copyRecord(run, path.join(root, 'source')), searched: false, seconds: 0 };
  }
  const out = path.join(root, 'search');
  const found = RESUME && fs.existsSync(out) ? fs.readdirSync(out).map((d) => path.join(out, d)).find((d) => fs.existsSync(runPaths(d).info)) : undefined;
  if (found && readChildren(found).length > 0) return { run: found, searched: false, seconds: 0 };
  fs.rmSync(out, { recursive: true, force: true });
  const t0 = performance.now();
  // The smoke run searches a copy with a tiny proxy (4 children of 600 training digits).
  const file = SMOKE ? deriveQuickstart('final-training-smoke', [[/\btrain \d+/, 'train 600'], [/\btest \d+/, 'test 300']]) : QUICKSTART;
  const r = await runSearch({ file, out, cacheDir, evaluator: localEvaluator({ workers: WORKERS }), ...(SMOKE ? { budget: 4 } : {}) });
  return { run: r.dir, searched: true, seconds: (performance.now() - t0) / 1000 };
}

/** A copy of a run's record (run.json and journal): what runFullTraining reads of it. */
function copyRecord(run: string, dir: string): string {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(runPaths(run).info, runPaths(dir).info);
  fs.copyFileSync(runPaths(run).journal, runPaths(dir).journal);
  return dir;
}

/** A run's own folder for one seed's full trainings (kept as it is on resume). */
const seedCopy = (run: string, dir: string): string => (RESUME && fs.existsSync(runPaths(dir).info) ? dir : copyRecord(run, dir));

/** How the notes name the source run: from its bench/ folder on (no machine path). */
const shown = (dir: string) => { const p = dir.split(path.sep); const i = p.lastIndexOf('bench'); return i >= 0 ? p.slice(i).join('/') : path.basename(dir); };

const pct = (v: number | null) => (v === null ? 'n/a' : `${(100 * v).toFixed(2)}%`);
const ms = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(3)} ms`);
const meanOf = (xs: (number | null)[]) => { const v = xs.filter((x): x is number => x !== null); return v.length ? mean(v) : null; };
const medianOf = (xs: (number | null)[]) => { const v = xs.filter((x): x is number => x !== null); return v.length ? median(v) : null; };

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const root = path.join(RUNS, 'final-training');
  if (!RESUME) fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const t0 = performance.now();
  const src = await sourceRun(root, cacheDir);
  const info = JSON.parse(fs.readFileSync(runPaths(src.run).info, 'utf8')) as RunInfo;
  const T = info.config.targetMs;
  const whole = await fullDataset(info.config.dataset, info.seed, path.dirname(info.file));
  const train = env('MNAS_FINAL_TRAIN') ?? (SMOKE ? 600 : Math.min(whole.request.train, TRAIN_CAP));
  const test = SMOKE ? 500 : undefined;

  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), MINUTES * 60_000);
  const status: string[] = [];
  const dirs = SEEDS.map((s) => seedCopy(src.run, path.join(root, `seed${s}`)));
  const trainT0 = performance.now();
  try {
    for (const [i, seed] of SEEDS.entries()) {
      if (stop.signal.aborted) { status.push(`seed ${seed}: not started (time cap)`); continue; }
      const r = await runFullTraining({
        run: dirs[i], top: TOP, seed, resume: true, recipe: { epochs: EPOCHS }, sizes: { train, ...(test ? { test } : {}) },
        workers: WORKERS, cacheDir, signal: stop.signal,
        onEvent: (e) => {
          if (e.event === 'start') console.log(`  seed ${seed}: ${e.jobs.map((j) => j.key).join(', ')} on ${e.dataset}; ${e.backend}`);
          else if (e.event === 'epoch') console.log(`  seed ${seed} ${e.key}: epoch ${e.epoch}/${e.epochs} loss ${e.loss.toFixed(3)} val ${e.valAccuracy?.toFixed(4)} (${e.seconds.toFixed(0)} s)`);
          else if (e.event === 'trained') console.log(`  seed ${seed} ${e.key}: ${pct(e.accuracy)} full, proxy ${pct(e.proxyAccuracy)}, ${ms(e.latencyMs)}`);
          else if (e.event === 'failed' || e.event === 'warning') console.log(`  seed ${seed}: ${e.event === 'failed' ? `${e.key} failed: ${e.error}` : e.message}`);
        },
      });
      status.push(`seed ${seed}: ${r.status}`);
    }
  } finally {
    clearTimeout(timer);
  }
  const trainMinutes = (performance.now() - trainT0) / 60_000;
  const minutes = (performance.now() - t0) / 60_000;
  const load = sampler.stop();

  // One row per network, the seeds side by side.
  const children = new Map(readChildren(src.run).map((c) => [c.id, c]));
  const perSeed = dirs.map((d) => readFullRecords(d));
  const models = new Map<string, Model>();
  perSeed.forEach((full, i) => {
    const recs: [string, FullRecord][] = [...(full.baseline ? [['skeleton', full.baseline] as [string, FullRecord]] : []), ...[...full.children].map(([id, r]) => [`child${id}`, r] as [string, FullRecord])];
    for (const [key, r] of recs) {
      const id = r.target.kind === 'child' ? r.target.id : null;
      const m = models.get(key) ?? {
        key, kind: id === null ? 'skeleton' : 'child', id, name: r.name, params: r.params, multAdds: r.multAdds,
        proxy: id === null ? r.proxyAccuracy : children.get(id)?.accuracy ?? r.proxyAccuracy, searchLatency: id === null ? null : children.get(id)?.latencyMs ?? null,
        full: SEEDS.map(() => null), latency: SEEDS.map(() => null), bestEpoch: SEEDS.map(() => null), trainSeconds: SEEDS.map(() => null),
      } satisfies Model;
      m.full[i] = r.accuracy;
      m.latency[i] = r.latencyMs;
      m.bestEpoch[i] = r.bestEpoch;
      m.trainSeconds[i] = r.trainSeconds;
      if (m.proxy === null) m.proxy = r.proxyAccuracy;
      models.set(key, m);
    }
  });
  const rows = [...models.values()].sort((a, b) => (a.kind === b.kind ? (a.id ?? 0) - (b.id ?? 0) : a.kind === 'skeleton' ? -1 : 1));
  const complete = rows.filter((m) => m.full.every((v) => v !== null));
  if (!rows.some((m) => m.kind === 'skeleton') || !rows.some((m) => m.kind === 'child')) {
    throw new Error(`no comparison: ${status.join('; ')}; trained ${rows.map((m) => `${m.key} (${m.full.filter((v) => v !== null).length} seeds)`).join(', ') || 'nothing'}. Raise MNAS_FINAL_MINUTES or lower the budget, and re-run with MNAS_FINAL_RESUME=1`);
  }
  const skeleton = rows.find((m) => m.kind === 'skeleton')!;
  const acc = (m: Model) => meanOf(m.full)!;
  const lat = (m: Model) => medianOf(m.latency);
  // The product's rule (report/finalTable.ts): a child is under T on the latency timed with the
  // skeleton in the same session; the best of them by full accuracy (mean of the seeds) is compared.
  const under = rows.filter((m) => m.kind === 'child' && lat(m) !== null && lat(m)! <= T && m.full.some((v) => v !== null));
  const best = [...under].sort((a, b) => acc(b) - acc(a))[0] ?? null;
  const gain = best ? acc(best) - acc(skeleton) : NaN;
  const latRatio = best && lat(best) !== null && lat(skeleton) ? lat(best)! / lat(skeleton)! : NaN;
  const met = best !== null && gain > 0 && latRatio <= 1;
  const verdicts = perSeed.map((full, i) => {
    const t = finalTable(full, T);
    const c = t?.comparison;
    return c ? `seed ${SEEDS[i]}: ${c.child.name} ${pct(c.child.accuracy)} vs skeleton ${pct(c.baseline.accuracy)} (${c.accuracyGain >= 0 ? '+' : ''}${(100 * c.accuracyGain).toFixed(2)} points)` : `seed ${SEEDS[i]}: ${t?.note ?? 'nothing trained'}`;
  });
  const ranked = complete.filter((m) => m.proxy !== null);
  const rho = ranked.length >= 3 ? spearman(ranked.map((m) => m.proxy!), ranked.map(acc)) : NaN;
  const rhoSeeds = SEEDS.map((_, i) => (ranked.length >= 3 ? spearman(ranked.map((m) => m.full[i]!), ranked.map((m) => m.proxy!)) : NaN));
  const seedDiff = complete.map((m) => Math.abs(m.full[0]! - m.full[1]!));

  const metrics: Metric[] = [
    { name: 'best_under_T_minus_skeleton_full_accuracy', value: round(100 * gain, 2), unit: 'points', goal: '> 0 at latency <= skeleton\'s', met },
    report('best_under_T_latency_over_skeleton', latRatio, 'ratio'),
    report('spearman_proxy_vs_full', rho, 'rho'),
    ...rhoSeeds.map((r, i) => report(`spearman_proxy_vs_full_seed${SEEDS[i]}`, r, 'rho')),
    report('seed_abs_diff_full_accuracy_mean', seedDiff.length ? 100 * mean(seedDiff) : NaN, 'points'),
  ];
  for (const m of rows) {
    m.full.forEach((v, i) => { if (v !== null) metrics.push(report(`${m.key}_full_accuracy_seed${SEEDS[i]}`, 100 * v, '%')); });
    if (m.proxy !== null) metrics.push(report(`${m.key}_proxy_accuracy`, 100 * m.proxy, '%'));
    if (lat(m) !== null) metrics.push(report(`${m.key}_latency`, lat(m)!, 'ms'));
  }
  metrics.push(report('target_ms', T, 'ms'), report('train_images', train, 'images'), report('epochs', EPOCHS, 'epochs'),
    report('training_minutes', trainMinutes, 'min'), report('minutes', minutes, 'min'));

  // Plot: accuracy against latency, the proxy and each seed's full training, the skeleton and T marked.
  const points = rows.flatMap((m) => [
    ...(m.proxy !== null && lat(m) !== null ? [{ model: m.kind === 'skeleton' ? `${m.name} (skeleton)` : `child ${m.id}`, training: 'proxy (search)', latency: lat(m)!, accuracy: 100 * m.proxy }] : []),
    ...m.full.flatMap((v, i) => (v !== null && m.latency[i] !== null ? [{ model: m.kind === 'skeleton' ? `${m.name} (skeleton)` : `child ${m.id}`, training: `full, seed ${SEEDS[i]}`, latency: m.latency[i]!, accuracy: 100 * v }] : [])),
  ]);
  await svg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Proxy vs full training (${EPOCHS} epochs, ${train} images): top ${TOP} children and the skeleton; dashed: T`,
    width: 420, height: 260,
    layer: [
      { data: { values: points }, mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
        encoding: {
          x: { field: 'latency', type: 'quantitative', title: 'latency (ms, timed together, host lock)', scale: { zero: false } },
          y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy (%)', scale: { zero: false } },
          color: { field: 'model', type: 'nominal' }, shape: { field: 'training', type: 'nominal' },
        } },
      { data: { values: [{ T }] }, mark: { type: 'rule', strokeDash: [4, 3], color: 'gray' }, encoding: { x: { field: 'T', type: 'quantitative' } } },
    ],
  } as TopLevelSpec, 'final-training.svg');

  const who = (m: Model) => (m.kind === 'skeleton' ? `${m.name} (skeleton)` : `child ${m.id} (${m.name})`);
  const table = rows.map((m) => `${who(m)}: ${m.params} params, ${m.multAdds} mult-adds, ${ms(lat(m))} (seeds ${m.latency.map(ms).join(' / ')}${m.searchLatency !== null ? `; search ${ms(m.searchLatency)}` : ''}), proxy ${pct(m.proxy)}, full ${m.full.map(pct).join(' / ')} (best epoch ${m.bestEpoch.map((e) => e ?? 'n/a').join(' / ')}, ${m.trainSeconds.map((s) => (s === null ? 'n/a' : `${s.toFixed(0)} s`)).join(' / ')})`).join('; ');
  const why = env('MNAS_FINAL_TRAIN') !== undefined ? 'MNAS_FINAL_TRAIN' : whole.request.train > TRAIN_CAP ? `the search dataset's ${whole.request.train} capped at ${TRAIN_CAP} to fit the time` : `the whole training split of the search's dataset (${whole.note})`;
  return {
    benchmark: 'final-training',
    metrics,
    machine: { ...pythonFacts(), trainers: `${WORKERS} x 1 thread`, load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes:
      `${SMOKE ? 'SMOKE (tiny budgets, not a result). ' : ''}Source run: ${shown(process.env.MNAS_FINAL_RUN ? path.resolve(process.env.MNAS_FINAL_RUN) : src.run)} (${info.search}, ${info.strategy}, seed ${info.seed}, ${children.size} children${src.searched ? `, searched by this benchmark in ${(src.seconds / 60).toFixed(1)} min` : ''}; ` +
      `proxy ${info.dataset.split}, ${info.config.budget.epochs} epoch${info.config.budget.epochs === 1 ? '' : 's'}${info.config.dataset.width ? `, width ${info.config.dataset.width}` : ''}; T = ${T.toFixed(3)} ms${info.target ? ` (${info.target.factor}x ${info.target.model}, measured when the run started)` : ''}). ` +
      `Top ${TOP} children (under T first, then reward: mnas train --top) and the skeleton, each trained fully for seeds ${SEEDS.join(' and ')} (a seed draws the initialisation, the data order and augmentation, and the seeded split, as mnas train --seed does) by runFullTraining on ${train} training images (${why}) and the whole test split, ${EPOCHS} epochs of the recipe in final/recipe.ts (${RECIPE_SUMMARY}; default ${FULL_DEFAULTS.epochs} epochs), ` +
      `${WORKERS} networks at a time (1 thread each); latency: every network timed together on the run's latency source (${info.backend.latency}) in each seed's session (3 alternating rounds, median; the table gives the median of the two sessions). ` +
      `${table}. Best child under T: ${best ? `${who(best)} ${pct(acc(best))} mean full accuracy against the skeleton's ${pct(acc(skeleton))} (${gain >= 0 ? '+' : ''}${(100 * gain).toFixed(2)} points) at ${latRatio.toFixed(2)}x its latency` : 'none (no trained child under T on the re-timed latency)'}; per seed (mnas report's verdict): ${verdicts.join('; ')}. ` +
      `Spearman proxy vs full (mean of seeds) over ${ranked.length} networks: ${Number.isFinite(rho) ? rho.toFixed(3) : 'n/a'}. ${status.join('; ')}. ` +
      `${minutes.toFixed(1)} min in all (${trainMinutes.toFixed(1)} of full training), 1-min load ${load.min}-${load.max} (median ${load.median}) on ${os.cpus().length} cores. Plot: docs/img/final-training.svg.`,
  };
}
