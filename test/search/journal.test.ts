import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runFullTraining } from '../../server/src/final/fullTraining';
import { readRunJournal, replayJournal } from '../../server/src/search/runJournal';
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

test('a child id that is not a whole number is refused before it names a folder (search --resume, train --top)', async () => {
  const good = [
    { type: 'batch', step: 1, rng: [1, 2, 3, 4], samples: [{ id: 0, actions: [0], logProb: 0 }, { id: 1, actions: [1], logProb: 0 }] },
    { type: 'trained', id: 1, step: 1, accuracy: 0.5, train: {}, attempts: 1 },
    { type: 'child', id: 0, step: 1, accuracy: 0.9, latencyMs: 1, reward: 0.9 },
    { type: 'update', step: 1, children: [0] },
  ];
  const lines = (xs: object[]) => xs.map((x) => `${JSON.stringify(x)}\n`).join('');
  const dir = tmp();
  const file = path.join(dir, 'journal.jsonl');
  fs.writeFileSync(file, lines(good));
  assert.equal(readRunJournal(file).length, 4);
  assert.deepEqual([...replayJournal(file).children.keys()], [0]);
  const hostile: [string, object][] = [
    ['batch sample', { type: 'batch', step: 2, rng: [1, 2, 3, 4], samples: [{ id: '../../escape', actions: [0], logProb: 0 }] }],
    ['child', { type: 'child', id: '../../escape', step: 1, accuracy: 0.99, latencyMs: 1, reward: 1 }],
    ['cachedFrom', { type: 'child', id: 5, cachedFrom: -1, step: 1, accuracy: 0.99, latencyMs: 1, reward: 1 }],
    ['trained', { type: 'trained', id: 1.5, step: 1, accuracy: 0.5, train: {}, attempts: 1 }],
    ['failed', { type: 'failed', id: null, step: 1, error: 'x' }],
    ['update', { type: 'update', step: 1, children: ['/tmp'] }],
    ['batch without samples', { type: 'batch', step: 2, rng: [1, 2, 3, 4] }],
  ];
  for (const [what, line] of hostile) {
    fs.writeFileSync(file, lines([...good, line]));
    const named = (e: unknown) => e instanceof Error && /journal\.jsonl:5: this \w+ line names child .*, not a whole number .*Remove that line/.test(e.message);
    assert.throws(() => replayJournal(file), named, what);
  }
  // mnas train RUN --top K reads the same journal: a child id that would be joined to children/ is refused.
  writeAtomic(path.join(dir, 'run.json'), '{}');
  fs.writeFileSync(file, lines([...good, hostile[1][1]]));
  await assert.rejects(runFullTraining({ run: dir, top: 3 }), /journal\.jsonl:5: this child line names child "\.\.\/\.\.\/escape", not a whole number/);
  assert.equal(fs.existsSync(path.join(dir, '..', 'escape')), false);
});
