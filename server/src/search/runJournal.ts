// Replaying a run's journal (journal.jsonl; its lines are the records of runFolder.ts): the
// state a search resumes from. A torn last line left by a kill is cut off first
// (util/journal.ts), so the next append starts on a fresh line.
import * as fs from 'node:fs';
import { Journal, readJournal } from '../util/journal';
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

export function replayJournal(file: string): RunState {
  const read = fs.existsSync(file) ? Journal.repair(file) : readJournal(file);
  const state: RunState = { children: new Map(), failed: new Map(), trained: new Map(), batches: [], updated: new Set(), used: new Set() };
  for (const e of read.entries as unknown as JournalEntry[]) {
    if (e.type === 'child') { state.children.set(e.id, e); state.failed.delete(e.id); state.trained.delete(e.id); }
    else if (e.type === 'trained') { if (!state.children.has(e.id)) state.trained.set(e.id, e); }
    else if (e.type === 'failed') { if (!state.children.has(e.id)) state.failed.set(e.id, e); }
    else if (e.type === 'batch') state.batches.push(e);
    else if (e.type === 'update') { state.updated.add(e.step); for (const id of e.children ?? []) state.used.add(id); }
  }
  return state;
}
