// A run on disk: run.json (what was searched, with what), journal.jsonl (every batch, child
// and update, append-only), controller.json (the last checkpoint), and the summaries
// rewritten after every batch: results.csv, pareto.json, best/*.mnas.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelSpec } from '../language/arch';
import type { ResolvedSpace } from '../language/space';
import type { SearchConfig } from '../language/searchConfig';
import { printModel } from '../language/print';
import { writeAtomic } from '../util/atomicWrite';

export const RUN_FORMAT = 'mnas-run';

export interface RunInfo {
  format: typeof RUN_FORMAT;
  version: 1;
  /** The .mnas file and search it came from (the space is stored whole below). */
  file: string;
  search: string;
  config: SearchConfig;
  space: ResolvedSpace;
  decisions: string[];
  strategy: 'rl' | 'random';
  seed: number;
  children: number;
  created: string;
  versions: { node: string; mnas: string };
  backend: { trainer: string; controller: string; latency: string };
  dataset: { split: string; train: number; test: number; classes: number; shape: number[] };
  recipe: Record<string, unknown>;
}

export interface ChildRecord {
  type: 'child';
  id: number;
  step: number;
  actions: number[];
  name: string;
  spec: ModelSpec;
  /** The full model as .mnas text: openable, editable, re-estimable. */
  model: string;
  accuracy: number;
  latencyMs: number;
  latencySpread: number;
  latencySource: string;
  params: number;
  multAdds: number;
  proxyParams: number;
  reward: number;
  trainSeconds: number;
  imagesPerSecond: number;
  attempts: number;
  /** Id of the earlier child with the same architecture whose results were reused. */
  cachedFrom?: number;
  weights?: string;
  /** Queue runs: job ids on the queue and the workers that ran them. */
  jobs?: { train: string; latency?: string };
  workers?: { train: string; latency?: string };
  time: string;
}

export interface FailedRecord { type: 'failed'; id: number; step: number; actions: number[]; name: string; error: string; time: string }
export interface BatchRecord { type: 'batch'; step: number; rng: [number, number, number, number]; samples: { id: number; actions: number[]; logProb: number }[] }
export interface UpdateRecord { type: 'update'; step: number; stats?: Record<string, number> }
export type JournalEntry = ChildRecord | FailedRecord | BatchRecord | UpdateRecord;

export function runPaths(dir: string) {
  return {
    dir,
    info: path.join(dir, 'run.json'),
    journal: path.join(dir, 'journal.jsonl'),
    controller: path.join(dir, 'controller.json'),
    csv: path.join(dir, 'results.csv'),
    pareto: path.join(dir, 'pareto.json'),
    best: path.join(dir, 'best'),
    children: path.join(dir, 'children'),
  };
}

/** Non-dominated children: no other child is both faster and more accurate. */
export function paretoFront(children: ChildRecord[]): ChildRecord[] {
  const sorted = [...children].sort((a, b) => a.latencyMs - b.latencyMs || b.accuracy - a.accuracy);
  const front: ChildRecord[] = [];
  let bestAcc = -Infinity;
  for (const c of sorted) {
    if (c.accuracy > bestAcc) {
      front.push(c);
      bestAcc = c.accuracy;
    }
  }
  return front;
}

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function writeSummaries(dir: string, children: ChildRecord[], failed: FailedRecord[], topK = 5): void {
  const p = runPaths(dir);
  const header = ['id', 'step', 'name', 'accuracy', 'latency_ms', 'latency_spread_ms', 'latency_source', 'params', 'mult_adds', 'reward', 'train_seconds', 'images_per_second', 'cached_from', 'failed'];
  const rows = [
    ...children.map((c) => [c.id, c.step, c.name, c.accuracy, c.latencyMs, c.latencySpread, c.latencySource, c.params, c.multAdds, c.reward, c.trainSeconds, c.imagesPerSecond, c.cachedFrom ?? '', '']),
    ...failed.map((f) => [f.id, f.step, f.name, '', '', '', '', '', '', '', '', '', '', f.error]),
  ].sort((a, b) => Number(a[0]) - Number(b[0]));
  writeAtomic(p.csv, [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  const front = paretoFront(children).map((c) => ({ id: c.id, name: c.name, accuracy: c.accuracy, latencyMs: c.latencyMs, params: c.params, multAdds: c.multAdds, reward: c.reward }));
  writeAtomic(p.pareto, JSON.stringify(front, null, 2) + '\n');
  fs.mkdirSync(p.best, { recursive: true });
  for (const f of fs.readdirSync(p.best)) if (f.endsWith('.mnas')) fs.rmSync(path.join(p.best, f));
  const unique = children.filter((c) => c.cachedFrom === undefined);
  [...unique].sort((a, b) => b.reward - a.reward).slice(0, topK).forEach((c, i) => {
    const comment = `rank ${i + 1} by reward in this run: child ${c.id} (step ${c.step})\n` +
      `reward ${c.reward.toFixed(4)}, proxy accuracy ${(100 * c.accuracy).toFixed(2)}%, latency ${c.latencyMs.toFixed(3)} ms (${c.latencySource})\n` +
      `${c.params.toLocaleString('en-US')} params, ${c.multAdds.toLocaleString('en-US')} mult-adds at full size`;
    writeAtomic(path.join(p.best, `${i + 1}-${c.name}.mnas`), printModel(c.spec, comment));
  });
}
