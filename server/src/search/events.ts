// What a running search reports, in order: `start`, then per child `progress`, `trained` (its
// training is in and journaled), `child` or `failed`, an `update` per controller batch,
// `warning`s, `stopping` once a stop is asked, and `done`. `mnas search --events
// ndjson` prints one per line; the extension reads them from that stream (types and the log-line
// tag below only: the extension bundles nothing of the engine).
import type { RunInfo } from './runFolder';

export type SearchEvent =
  | { event: 'start'; run: string; search: string; strategy: string; total: number; done: number; resumed: boolean; backend: RunInfo['backend']; target: { ms: number; relative?: RunInfo['target'] } }
  | { event: 'child'; id: number; step: number; name: string; accuracy: number; latencyMs: number; reward: number; params: number; multAdds: number; cached: boolean; done: number; total: number; best: number; seconds: number }
  | { event: 'failed'; id: number; step: number; error: string; done: number; total: number }
  | { event: 'update'; step: number; stats: Record<string, number> }
  | { event: 'progress'; id: number; epoch: number; step: number; steps: number; loss: number }
  | { event: 'trained'; id: number; accuracy: number; seconds: number }
  | { event: 'stopping'; training: number[]; timing: number[] }
  | { event: 'warning'; message: string }
  | { event: 'done'; run: string; status: 'done' | 'stopped'; children: number; failed: number; best: { id: number; name: string; reward: number; accuracy: number; latencyMs: number } | null; seconds: number; resume?: ResumePlan };

/** What --resume of a stopped run does: children it trains (again), children it only times, how many it samples anew; `note` says it in a sentence. */
export interface ResumePlan { train: number[]; time: number[]; sample: number; note: string }

/**
 * A run's short id in log lines: its folder name without the search's name
 * (`rl-20261206-081500`; `-2` for a second run started that second), so a log holding several
 * runs (the extension's output channel) says whose child each line is.
 */
export function runTag(run: string, search: string): string {
  const name = run.split(/[\\/]/).filter(Boolean).pop() ?? run;
  return name.startsWith(`${search}-`) && name.length > search.length + 1 ? name.slice(search.length + 1) : name;
}

/** The head of a finished or failed child's log line: `[rl-20261206-081500 3/20]`. */
export function childLogPrefix(run: string, search: string, done: number, total: number): string {
  return `[${runTag(run, search)} ${done}/${total}]`;
}
