// A PyTorch worker whose parent is killed with SIGKILL (a bench or a search killed outright: no
// chance to close the worker's stdin) exits within seconds instead of training on for nobody.
// Real processes: a throwaway Node parent (test/fixtures/orphan/parent.ts) and a real worker.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { workerPythonPath } from '../../server/src/platform/locate';
import { findPython } from '../../server/src/train/torchTrainer';

/** Alive and not a zombie (a reaper may take a moment; a zombie runs nothing). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('the worker exits within seconds when its parent is killed with SIGKILL mid-training', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mnas-orphan-'));
  const parent = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'orphan', 'parent.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let worker = 0;
  let out = '';
  try {
    worker = await new Promise<number>((resolve, reject) => {
      parent.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /worker (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      parent.on('exit', (code) => reject(new Error(`the parent exited (${code}) before starting its worker`)));
    });
    // Let the training start (the dataset is read, the first steps run).
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(running(worker), 'the worker is training');
    assert.doesNotMatch(out, /failed|finished/, 'the training is still under way');
    parent.kill('SIGKILL');
    const killed = Date.now();
    while (running(worker) && Date.now() - killed < 10_000) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - killed) / 1000;
    console.log(`worker ${worker} gone ${seconds.toFixed(1)} s after its parent's SIGKILL (load ${os.loadavg()[0].toFixed(1)})`);
    assert.equal(running(worker), false, `the orphaned worker ${worker} still runs 10 s after its parent died`);
    assert.ok(seconds < 5, `gone after ${seconds.toFixed(1)} s, want within a few seconds`);
  } finally {
    parent.kill('SIGKILL');
    if (worker && running(worker)) process.kill(worker, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker whose named parent is already dead exits at once; a live one behind a wrapper is served', { timeout: 120_000 }, async () => {
  const python = findPython();
  const env = (parent: number) => ({ ...process.env, PYTHONPATH: workerPythonPath(), MNAS_WORKER_PARENT: String(parent) });
  // A pid that was ours a moment ago: its process has exited and been reaped.
  const dead = spawnSync('true').pid!;
  const early = spawnSync(python, ['-m', 'mnas_worker'], { env: env(dead), input: '', encoding: 'utf8', timeout: 60_000 });
  assert.equal(early.status, 1);
  assert.match(early.stderr, new RegExp(`the parent process ${dead} is gone; exiting`));
  // This test process stands for a wrapper's parent: alive but not the worker's direct parent.
  const wrapped = spawnSync('sh', ['-c', `"${python}" -m mnas_worker; exit $?`], {
    env: env(process.pid), input: '{"id":1,"type":"hello"}\n', encoding: 'utf8', timeout: 60_000,
  });
  assert.equal(wrapped.status, 0, wrapped.stderr);
  assert.match(wrapped.stdout, /"id": 1, "ok": true/);
});
