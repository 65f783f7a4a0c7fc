// The run journal: one JSON object per line, appended with fsync, never rewritten. A kill at
// any byte leaves at most a torn last line, which reading ignores and `repair` cuts off
// before the next append. Any other unreadable line is an error naming the file and line.
import * as fs from 'node:fs';
import * as path from 'node:path';

export class JournalError extends Error {}

export interface JournalRead<T> {
  entries: T[];
  /** The 1-based line of each entry, for errors that name it. */
  lines: number[];
  /** Bytes of the file that hold complete lines. */
  goodBytes: number;
  /** True when a torn last line (no newline) was found and left out. */
  torn: boolean;
}

export function readJournal<T = Record<string, unknown>>(file: string): JournalRead<T> {
  if (!fs.existsSync(file)) return { entries: [], lines: [], goodBytes: 0, torn: false };
  const buf = fs.readFileSync(file);
  const lastNewline = buf.lastIndexOf(0x0a);
  const goodBytes = lastNewline + 1;
  const text = buf.subarray(0, goodBytes).toString('utf8');
  const entries: T[] = [];
  const at: number[] = [];
  const lines = text.split('\n');
  lines.pop(); // after the last newline
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      entries.push(JSON.parse(line) as T);
      at.push(i + 1);
    } catch {
      throw new JournalError(`${file}:${i + 1}: this journal line is not valid JSON (the run folder was edited or damaged). Remove that line to resume without it, or start a new run.`);
    }
  });
  return { entries, lines: at, goodBytes, torn: goodBytes < buf.length };
}

/** Appends entries, each fsync'ed before `append` returns. */
export class Journal {
  private fd: number;
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'a');
  }

  /** Cuts a torn last line left by a kill, so the next entry starts on a fresh line. */
  static repair(file: string): JournalRead<Record<string, unknown>> {
    const r = readJournal(file);
    if (r.torn) fs.truncateSync(file, r.goodBytes);
    return r;
  }

  append(entry: object): void {
    fs.writeSync(this.fd, `${JSON.stringify(entry)}\n`);
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
