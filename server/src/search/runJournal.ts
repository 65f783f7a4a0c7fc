// Replaying a run's journal (journal.jsonl; its lines are the records of runFolder.ts): the
// state a search resumes from. A torn last line left by a kill is cut off first
// (util/journal.ts), so the next append starts on a fresh line.
import * as fs from 'node:fs';
import { Journal, JournalError, readJournal } from '../util/journal';
import type { BatchRecord, ChildRecord, FailedRecord, JournalEntry, TrainedRecord } from './runFolder';

export interface RunState {
  children: Map<number, ChildRecord>;
  /** Children that failed and were not completed by a later attempt. */
  failed: Map<number, FailedRecord>;
  /** Children trained but not timed (stopped or killed in between): resume measures their latency. */
  trained: Map<number, TrainedRecord>;
  batches: BatchRecord[];
  /** Steps whose controller update is journaled. */
  updated: Set<number>;
  /** Children an update has learned from (overlap runs name them; a synchronous update uses its batch). */
  used: Set<number>;
}

const isId = (id: unknown) => Number.isSafeInteger(id) && (id as number) >= 0;

/**
 * The journal's entries, each child id checked: ids name folders (children/<id>) and journals
 * come from other processes and machines, so a line whose id is not a whole number is refused
 * (naming the file and line) before anything joins it to a path. `repair` cuts a torn last line.
 */
export function readRunJournal(file: string, repair = false): JournalEntry[] {
  const read = repair && fs.existsSync(file) ? Journal.repair(file) : readJournal(file);
  const entries = read.entries as unknown as JournalEntry[];
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
  entries.forEach((e, i) => {
    const ids: unknown[] = e.type === 'batch' ? list(e.samples).map((x) => (x as { id?: unknown } | null)?.id)
      : e.type === 'update' ? (e.children === undefined ? [] : list(e.children))
      : e.type === 'child' ? [e.id, ...(e.cachedFrom !== undefined ? [e.cachedFrom] : [])]
      : e.type === 'trained' || e.type === 'failed' ? [e.id] : [];
    const bad = ids.findIndex((id) => !isId(id));
    if (bad >= 0) {
      throw new JournalError(`${file}:${read.lines[i]}: this ${e.type} line names child ${JSON.stringify(ids[bad]) ?? 'undefined'}, not a whole number ` +
        '(the run folder was edited or damaged). Remove that line to resume without it, or start a new run.');
    }
  });
  return entries;
}

export function replayJournal(file: string): RunState {
  const state: RunState = { children: new Map(), failed: new Map(), trained: new Map(), batches: [], updated: new Set(), used: new Set() };
  for (const e of readRunJournal(file, true)) {
    if (e.type === 'child') { state.children.set(e.id, e); state.failed.delete(e.id); state.trained.delete(e.id); }
    else if (e.type === 'trained') { if (!state.children.has(e.id)) state.trained.set(e.id, e); }
    else if (e.type === 'failed') { if (!state.children.has(e.id)) state.failed.set(e.id, e); }
    else if (e.type === 'batch') state.batches.push(e);
    else if (e.type === 'update') { state.updated.add(e.step); for (const id of e.children ?? []) state.used.add(id); }
  }
  return state;
}
