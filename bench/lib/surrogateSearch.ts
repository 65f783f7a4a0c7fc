// Runs SURROGATE searches in parallel processes (bench/search-quality-surrogate.bench.ts): the
// controller's PPO updates are single-threaded JavaScript, and thousands of children x several
// seeds take a quarter of an hour on one loaded core. Each process refits the chosen surrogate on
// the same rows (same seed, same model), opens the same latency profile and runs its share of the
// searches with the real engine; the parent reads the run folders.
//
//   node --import tsx bench/lib/surrogateSearch.ts PLAN.json    # prints one JSON line per run
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ProfileLatency } from '../../server/src/latency/profileLatency';
import type { StaleWeighting } from '../../server/src/search/controller/ppo';
import { runSearch } from '../../server/src/search/engine';
import type { ChildRecord } from '../../server/src/search/runFolder';
import { readJournal } from '../../server/src/util/journal';
import { Surrogate, SurrogateEvaluator, type SurrogateRow } from './surrogate';
import { VirtualTimeEvaluator } from './virtualTime';

/** Mean child time of a virtual pool (queue-scale's 60 s children; only the spread and the stragglers matter). */
export const VIRTUAL_CHILD_SECONDS = 60;

export interface PlannedRun {
  strategy: 'rl' | 'random'; seed: number; file: string; out: string; children: number; batch: number;
  /** Workers of a pool in virtual time (bench/lib/virtualTime.ts): what `overlap on` keeps busy, and the order children finish in. */
  slots?: number;
  /** How `overlap on` updates weigh stale children (the engine's default when absent; bench/overlap-ppo.bench.ts compares them). */
  stale?: StaleWeighting;
}
export interface SurrogatePlan { rows: SurrogateRow[]; model: string; noiseSd: number; profile: string; cacheDir: string; runs: PlannedRun[] }

/** Children of a finished run folder, in id order. */
export function childrenOf(dir: string): ChildRecord[] {
  return (readJournal(path.join(dir, 'journal.jsonl')).entries as unknown as ChildRecord[]).filter((e) => e.type === 'child').sort((a, b) => a.id - b.id);
}

/** Rough cost of a run (seconds of one core): PPO updates dominate RL. */
const cost = (r: PlannedRun) => r.children * 0.02 + (r.strategy === 'rl' ? (r.children / r.batch) * 0.3 : 0);

/** Runs the plan's searches in `processes` processes; resolves to the run folder of each, in plan order. */
export async function runInProcesses(plan: SurrogatePlan, processes: number, scratch: string): Promise<string[]> {
  const groups: { runs: number[]; load: number }[] = Array.from({ length: processes }, () => ({ runs: [], load: 0 }));
  const order = plan.runs.map((r, i) => i).sort((a, b) => cost(plan.runs[b]) - cost(plan.runs[a]));
  for (const i of order) {
    const g = groups.reduce((a, b) => (b.load < a.load ? b : a));
    g.runs.push(i);
    g.load += cost(plan.runs[i]);
  }
  const dirs = new Array<string>(plan.runs.length);
  const self = fileURLToPath(import.meta.url);
  await Promise.all(groups.filter((g) => g.runs.length).map(async (g, k) => {
    const file = path.join(scratch, `surrogate-plan-${k}.json`);
    fs.writeFileSync(file, JSON.stringify({ ...plan, runs: g.runs.map((i) => plan.runs[i]) }));
    const proc = spawn(process.execPath, ['--import', 'tsx', self, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
    if (code !== 0) throw new Error(`surrogate search process ${k} failed (${code}): ${err.trim().split('\n').slice(-5).join(' | ')}`);
    const lines = out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { index: number; dir: string });
    for (const l of lines) dirs[g.runs[l.index]] = l.dir;
  }));
  if (dirs.some((d) => !d)) throw new Error('a surrogate search process left a run unreported');
  return dirs;
}

async function main(planFile: string): Promise<void> {
  const plan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as SurrogatePlan;
  const surrogate = await Surrogate.fit(plan.rows, 1, undefined, plan.model);
  try {
    const profile = ProfileLatency.open(plan.profile);
    for (const [index, r] of plan.runs.entries()) {
      const answers = new SurrogateEvaluator(surrogate, profile, { noiseSd: plan.noiseSd, seed: r.seed });
      const evaluator = r.slots ? new VirtualTimeEvaluator(answers, r.slots, VIRTUAL_CHILD_SECONDS) : answers;
      const res = await runSearch({ file: r.file, out: r.out, seed: r.seed, strategy: r.strategy, cacheDir: plan.cacheDir, evaluator, ...(r.stale ? { staleWeighting: r.stale } : {}) });
      if (res.status !== 'done') throw new Error(`${r.out}: the search stopped`);
      console.log(JSON.stringify({ index, dir: res.dir }));
    }
  } finally {
    await surrogate.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main(process.argv[2]);
