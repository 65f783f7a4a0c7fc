// Two new runs of one search started within the same second into one folder: each gets its own
// run folder (the second used to open the first's and replay its journal as its own).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openRun } from '../../server/src/search/openRun';

test('new runs started in the same second get distinct run folders', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-runname-'));
  try {
    const file = path.resolve('test/fixtures/tiny-search.mnas');
    const dirs = [1, 2, 3].map(() => openRun({ file, out }));
    assert.equal(new Set(dirs.map((d) => d.dir)).size, 3, dirs.map((d) => d.dir).join('\n'));
    for (const d of dirs) {
      assert.equal(d.resumed, false);
      assert.equal(d.created, true);
      assert.match(path.basename(d.dir), /^Tiny-rl-\d{8}-\d{6}(-\d+)?$/);
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
