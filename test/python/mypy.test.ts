// The worker package stays type-clean under `mypy --strict` (config: server/python/mypy.ini).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findPython } from '../../server/src/train/torchTrainer';

test('mypy --strict passes on server/python', { timeout: 600_000 }, (t) => {
  const python = findPython();
  const probe = spawnSync(python, ['-m', 'mypy', '--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`mypy is not installed for ${python} (apt-get install -y mypy)`);
    return;
  }
  const cache = mkdtempSync(path.join(os.tmpdir(), 'mnas-mypy-'));
  try {
    const r = spawnSync(python, ['-m', 'mypy', '--cache-dir', cache], { cwd: path.join('server', 'python'), encoding: 'utf8' });
    assert.equal(r.status, 0, `mypy failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /Success: no issues found/);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});
