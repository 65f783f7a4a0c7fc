// SURROGATE: does decoupled PPO let `overlap on` learn from its stale children? The real engine
// runs the quickstart search against the search-quality-surrogate benchmark's surrogate (accuracy
// regressed on really trained children, seed noise added; latency from a calibrated profile) in
// virtual time (bench/lib/virtualTime.ts), per seed: the synchronous loop (overlap off), and
// overlap on with each way of weighing stale children (ppo.ts StaleWeighting): 'behaviour' (plain
// PPO against the sampling log-prob, the loop before decoupling), 'truncated' (decoupled, w =
// min(1, pi_prox / pi_behaviour)) and 'one' (decoupled, w = 1). Two shapes: the real runs' (24
// children, batch 4, 4 workers: 8 out) and a larger one (400 children, batch 8, 64 workers).
//
// MNAS_BENCH_SMOKE=1: tiny budgets (checks the harness; results not for committing).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { load as loadFile } from '../server/src/cli/load';
import { ProfileLatency } from '../server/src/latency/profileLatency';
import type { StaleWeighting } from '../server/src/search/controller/ppo';
import { type BenchResult, type Metric, report, round } from './lib/result';
import { GENERATED, loadavg, LoadSampler, mean, QUICKSTART, RUNS, std, useBenchCache } from './lib/search';
import { best, CHILDREN_FILE, derive, EXTRA_CHILDREN, lastQuarter, readChildren, readRun, RL, sameDataset, SMOKE, staleness } from './lib/searchQuality';
import { archFeatures, archGroup, Surrogate, type SurrogateRow } from './lib/surrogate';
import { childrenOf, type PlannedRun, runInProcesses } from './lib/surrogateSearch';
import { calibrateProfile, distinctTrainings, T_FACTOR } from './search-quality-surrogate.bench';

interface Setting { name: string; children: number; batch: number; slots: number; seeds: number[] }
const seeds = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const SETTINGS: Setting[] = SMOKE
  ? [{ name: 'small', children: 12, batch: 4, slots: 4, seeds: seeds(2) }, { name: 'large', children: 48, batch: 8, slots: 16, seeds: seeds(2) }]
  : [
    // The real runs' shape; 24 children is a noisy last quarter (6 children), hence 20 seeds.
    { name: 'small', children: 24, batch: 4, slots: 4, seeds: seeds(Number(process.env.MNAS_BENCH_OVERLAP_SMALL_SEEDS ?? 20)) },
    { name: 'large', children: 400, batch: 8, slots: 64, seeds: seeds(Number(process.env.MNAS_BENCH_OVERLAP_LARGE_SEEDS ?? 5)) },
  ];
interface Variant { name: string; overlap: boolean; stale?: StaleWeighting }
const VARIANTS: Variant[] = [
  { name: 'sync', overlap: false },
  { name: 'behaviour', overlap: true, stale: { kind: 'behaviour' } },
  { name: 'truncated', overlap: true, stale: { kind: 'truncated', cap: 1 } },
  { name: 'one', overlap: true, stale: { kind: 'one' } },
];
const PROCESSES = 3;
const se = (xs: number[]) => (xs.length > 1 ? std(xs) / Math.sqrt(xs.length) : NaN);
const pm = (xs: number[]) => `${mean(xs) >= 0 ? '+' : ''}${mean(xs).toFixed(4)} ± ${se(xs).toFixed(4)}`;

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const t0 = performance.now();

  const own = readChildren(CHILDREN_FILE);
  if (own.length === 0) throw new Error('no trained children: run the search-quality benchmark first');
  const extra = EXTRA_CHILDREN.flatMap(readChildren).filter((c) => sameDataset(own[0].dataset, c.dataset));
  const rows: SurrogateRow[] = distinctTrainings([...own, ...extra]).map((c) => ({ x: archFeatures(c.arch), y: c.accuracy, group: archGroup(c.arch) }));
  const fitted = await Surrogate.fit(rows, 1);
  await fitted.close();
  const sum = fitted.summary;

  // The surrogate benchmark's latency profile when it is there (same space, same machine), else calibrated now.
  const existing = path.join(GENERATED, 'search-quality-profile.json');
  const profileFile = fs.existsSync(existing) ? existing : calibrateProfile(derive('overlap-ppo-calibrate', 24, RL, 'soft')).profile;
  const tiny = loadFile(QUICKSTART).local.get('Tiny');
  if (tiny?.kind !== 'model') throw new Error(`${QUICKSTART} declares no model Tiny`);
  const T = T_FACTOR * (await ProfileLatency.open(profileFile).measure(tiny.arch)).ms;

  const root = path.join(RUNS, 'overlap-ppo');
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  type Planned = PlannedRun & { setting: string; variant: string };
  const planned: Planned[] = [];
  for (const s of SETTINGS) {
    for (const v of VARIANTS) {
      const file = derive(`overlap-ppo-${s.name}-${v.overlap ? 'on' : 'off'}`, s.children, { lr: RL.lr, batch: s.batch, overlap: v.overlap }, 'soft', T);
      for (const seed of s.seeds) {
        planned.push({
          setting: s.name, variant: v.name, strategy: 'rl', seed, file, children: s.children, batch: s.batch, out: path.join(root, `${s.name}-${v.name}-s${seed}`),
          ...(v.overlap ? { slots: s.slots, stale: v.stale } : {}),
        });
      }
    }
  }
  const s0 = performance.now();
  const dirs = await runInProcesses({ rows, model: sum.chosen, noiseSd: sum.noise_sd, profile: profileFile, cacheDir, runs: planned }, PROCESSES, root);
  const searchSeconds = (performance.now() - s0) / 1000;
  const done = planned.map((p, i) => ({ ...p, run: readRun('rl', p.seed, dirs[i], childrenOf(dirs[i])) }));
  const load = sampler.stop();

  const metrics: Metric[] = [];
  const lines: string[] = [];
  for (const s of SETTINGS) {
    const of = (variant: string) => s.seeds.map((seed) => done.find((d) => d.setting === s.name && d.variant === variant && d.seed === seed)!.run);
    const sync = of('sync');
    const parts: string[] = [];
    for (const v of VARIANTS) {
      const runs = of(v.name);
      const lq = runs.map(lastQuarter);
      const bst = runs.map(best);
      const ent = runs.map((r) => (r.entropy[r.entropy.length - 1]?.entropy ?? NaN) / r.uniformEntropy);
      metrics.push(report(`${s.name}_${v.name}_last_quarter`, mean(lq), 'reward'), report(`${s.name}_${v.name}_entropy_end_share`, mean(ent), 'fraction'));
      let part = `${v.name}: last quarter ${mean(lq).toFixed(4)}, best ${mean(bst).toFixed(4)}, entropy at the end ${(100 * mean(ent)).toFixed(0)}% of uniform`;
      if (v.overlap) {
        const dLq = lq.map((x, i) => x - lastQuarter(sync[i]));
        const dBest = bst.map((x, i) => x - best(sync[i]));
        const stale = runs.flatMap((r) => staleness(r.dir));
        metrics.push(
          report(`${s.name}_${v.name}_minus_sync_last_quarter`, mean(dLq), 'reward'),
          report(`${s.name}_${v.name}_minus_sync_last_quarter_se`, se(dLq), 'reward'),
          report(`${s.name}_${v.name}_minus_sync_best`, mean(dBest), 'reward'),
          report(`${s.name}_${v.name}_minus_sync_best_se`, se(dBest), 'reward'),
          report(`${s.name}_${v.name}_above_sync_seeds`, dLq.filter((d) => d > 0).length, `of ${s.seeds.length} seeds`),
        );
        part += `; minus sync: last quarter ${pm(dLq)} (above in ${dLq.filter((d) => d > 0).length}/${s.seeds.length}), best ${pm(dBest)}; staleness ${mean(stale).toFixed(2)} updates (max ${Math.max(...stale)})`;
        if (v.name !== 'behaviour') {
          const dOld = lq.map((x, i) => x - lastQuarter(of('behaviour')[i]));
          metrics.push(report(`${s.name}_${v.name}_minus_behaviour_last_quarter`, mean(dOld), 'reward'), report(`${s.name}_${v.name}_minus_behaviour_last_quarter_se`, se(dOld), 'reward'));
          part += `; minus behaviour ${pm(dOld)}`;
        }
      }
      parts.push(part);
    }
    lines.push(`${s.name} (${s.children} children, batch ${s.batch}, ${s.slots} workers in virtual time: ${s.slots + s.batch} out; seeds 1-${s.seeds.length}; mean ± SE over seeds): ${parts.join(' | ')}.`);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    benchmark: 'overlap-ppo',
    metrics: metrics.map((m) => ({ ...m, value: round(m.value, 4) })),
    machine: { load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes:
      `SURROGATE, not training: accuracy from ${sum.chosen} fitted on ${rows.length} really trained children (seed noise sd ${sum.noise_sd.toFixed(4)} added), latency from a calibrated profile, T = ${T.toFixed(4)} ms; ` +
      `lr ${RL.lr} (the default), the real engine, children finishing in the order a pool of that many workers would finish them. ` +
      `Variants: sync = overlap off; behaviour = overlap on with plain PPO against each child's sampling log-prob (before decoupling); truncated = decoupled PPO, w = min(1, pi_prox/pi_behaviour); one = decoupled PPO, w = 1. ` +
      `${lines.join(' ')} Searches ${searchSeconds.toFixed(0)} s in ${PROCESSES} processes, ${seconds.toFixed(0)} s in all; 1-min load ${load.min}-${load.max}.`,
  };
}
