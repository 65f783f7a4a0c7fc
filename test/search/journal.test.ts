import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeAtomic } from '../../server/src/util/atomicWrite';
import { Journal, JournalError, readJournal } from '../../server/src/util/journal';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-journal-'));

test('resume after truncation at every byte of the last line', () => {
  const dir = tmp();
  const file = path.join(dir, 'journal.jsonl');
  const j = new Journal(file);
  const first = [{ type: 'batch', step: 1 }, { type: 'child', id: 0, accuracy: 0.9 }];
  for (const e of first) j.append(e);
  j.append({ type: 'child', id: 1, accuracy: 0.8, model: 'model X { input 8x8x1 }' });
  j.close();
  const full = fs.readFileSync(file);
  const lastStart = full.lastIndexOf(0x0a, full.length - 2) + 1;
  for (let cut = lastStart; cut <= full.length; cut++) {
    fs.writeFileSync(file, full.subarray(0, cut));
    const r = Journal.repair(file);
    const complete = cut === full.length;
    assert.equal(r.entries.length, complete ? 3 : 2, `cut at ${cut}`);
    assert.deepEqual(r.entries.slice(0, 2), first);
    // The torn line is cut off, so the next append starts a clean line.
    const again = new Journal(file);
    again.append({ type: 'child', id: 2 });
    again.close();
    const after = readJournal(file);
    assert.equal(after.torn, false);
    assert.deepEqual(after.entries.map((e) => e.id ?? e.type), complete ? ['batch', 0, 1, 2] : ['batch', 0, 2]);
  }
});

test('a damaged line in the middle is an error naming the file and line', () => {
  const file = path.join(tmp(), 'journal.jsonl');
  fs.writeFileSync(file, '{"a":1}\n{oops\n{"b":2}\n');
  assert.throws(() => readJournal(file), (e: unknown) => e instanceof JournalError && /journal\.jsonl:2: .*Remove that line/.test((e as Error).message));
});

test('writeAtomic replaces a file whole', () => {
  const file = path.join(tmp(), 'c.json');
  writeAtomic(file, 'one');
  writeAtomic(file, 'two');
  assert.equal(fs.readFileSync(file, 'utf8'), 'two');
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['c.json']);
});
