// The host's timing lock across real processes: a second process waits for the holder, a killed
// holder is recovered from (its lock goes stale), registered trainers are really stopped while a
// model is timed and resumed after, and a trainer left stopped by a killed timer is resumed by
// its pool's watch.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const HOLDER = path.join(ROOT, 'test', 'fixtures', 'host-lock', 'holder.ts');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-host-lock-'));
process.env.MNAS_HOST_DIR = dir;
const lock = await import('../../server/src/platform/hostLock');

const started: ChildProcess[] = [];

function startHolder(): Promise<{ proc: ChildProcess; held: { paused: number[] } }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', HOLDER], { cwd: ROOT, env: { ...process.env, MNAS_HOST_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /held (\{.*\})\n/.exec(out);
      if (m) resolve({ proc, held: JSON.parse(m[1]) as { paused: number[] } });
    });
    proc.on('exit', (code) => reject(new Error(`holder exited (${code}) before holding the lock: ${out}`)));
  });
}

/** A stand-in training process: spins and counts into a file, so progress can be watched. */
function startSpinner(): { proc: ChildProcess; count: () => number; file: string } {
  const file = path.join(dir, `count-${started.length}`);
  const proc = spawn(process.execPath, ['-e', `const fs=require('fs');let n=0;for(;;){n++;if(n%200000===0)fs.writeFileSync(${JSON.stringify(file)},String(n));}`], { stdio: 'ignore' });
  started.push(proc);
  return { proc, file, count: () => { try { return Number(fs.readFileSync(file, 'utf8')) || 0; } catch { return 0; } } };
}

const state = (pid: number) => { const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); return s.slice(s.lastIndexOf(')') + 2).split(' ')[0]; };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
  return Date.now() - t0;
}

describe('host timing lock (real processes)', () => {
  before(() => {
    if (!fs.existsSync('/proc/self/stat')) throw new Error('these tests read process states from /proc (Linux)');
  });
  after(() => {
    for (const p of started) if (p.exitCode === null && p.signalCode === null) { p.kill('SIGCONT'); p.kill('SIGKILL'); }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a second process waits until the holder releases', async () => {
    const { proc } = await startHolder();
    assert.equal(await lock.timingInProgress(), true);
    const t0 = Date.now();
    const waiting = lock.holdForTiming();
    await sleep(600);
    proc.stdin!.write('release\n');
    const hold = await waiting;
    const waited = Date.now() - t0;
    await hold.release();
    assert.ok(waited >= 550, `acquired after ${waited} ms, while the other process still held the lock`);
    assert.ok(hold.waitedMs >= 550);
  });

  it('a holder killed with SIGKILL does not block forever: its lock goes stale and is taken', async () => {
    const { proc } = await startHolder();
    proc.kill('SIGKILL');
    const t0 = Date.now();
    const hold = await lock.holdForTiming({ timeoutMs: lock.STALE_MS + 5000 });
    const waited = Date.now() - t0;
    await hold.release();
    assert.ok(waited <= lock.STALE_MS + 3000, `recovered after ${waited} ms`);
    assert.equal(await lock.timingInProgress(), false);
  });

  it('waiting has a timeout that names the lock', async () => {
    const { proc } = await startHolder();
    await assert.rejects(lock.holdForTiming({ timeoutMs: 300 }), /timing lock .* still held after/);
    proc.stdin!.write('release\n');
    await new Promise((r) => proc.on('exit', r));
  });

  it('registered trainers are stopped while the lock is held and resumed after', async () => {
    const s = startSpinner();
    const unregister = lock.registerTrainer(s.proc.pid!);
    await until(() => s.count() > 0, 5000, 'the spinner to count');
    const hold = await lock.holdForTiming();
    try {
      assert.deepEqual(hold.paused, [s.proc.pid]);
      assert.equal(state(s.proc.pid!), 'T');
      const c0 = s.count();
      await sleep(400);
      assert.equal(s.count(), c0, 'the trainer made progress while a model was timed');
    } finally {
      await hold.release();
    }
    assert.notEqual(state(s.proc.pid!), 'T');
    const c1 = s.count();
    await until(() => s.count() > c1, 5000, 'the trainer to run again');
    unregister();
    s.proc.kill('SIGKILL');
  });

  it('dead or recycled trainer entries are dropped, and the timer never stops itself', async () => {
    fs.writeFileSync(path.join(dir, 'trainers', '999999'), JSON.stringify({ pid: 999999, owner: 1 }));
    fs.writeFileSync(path.join(dir, 'trainers', 'junk'), 'not json');
    const self = lock.registerTrainer(process.pid);
    const hold = await lock.holdForTiming();
    await hold.release();
    self();
    assert.deepEqual(hold.paused, []);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'trainers')), []);
  });

  it('a trainer left stopped by a killed timer is resumed by its pool\'s watch', async () => {
    const s = startSpinner();
    const unregister = lock.registerTrainer(s.proc.pid!);
    const stopWatch = lock.watchTrainers(() => [s.proc.pid!], 200);
    try {
      const { proc, held } = await startHolder();
      assert.deepEqual(held.paused, [s.proc.pid]);
      await sleep(600);
      assert.equal(state(s.proc.pid!), 'T', 'the watch resumed a trainer while a live timer held the lock');
      proc.kill('SIGKILL');
      const took = await until(() => state(s.proc.pid!) !== 'T', lock.STALE_MS + 5000, 'the watch to resume the trainer');
      assert.ok(took <= lock.STALE_MS + 3000, `resumed after ${took} ms`);
    } finally {
      stopWatch();
      unregister();
      s.proc.kill('SIGCONT');
      s.proc.kill('SIGKILL');
    }
  });

  it('a stopped trainer whose owner died (an orphan) is resumed by the next timer and never paused again', async () => {
    const s = startSpinner();
    const owner = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => owner.on('exit', r));
    const pid = s.proc.pid!;
    const start = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[19];
    fs.writeFileSync(path.join(dir, 'trainers', String(pid)), JSON.stringify({ pid, start, owner: owner.pid }));
    s.proc.kill('SIGSTOP');
    await until(() => state(pid) === 'T', 2000, 'the orphan to stop');
    const hold = await lock.holdForTiming();
    await hold.release();
    try {
      assert.deepEqual(hold.paused, []);
      await until(() => state(pid) !== 'T', 2000, 'the orphan to be resumed');
      assert.equal(fs.existsSync(path.join(dir, 'trainers', String(pid))), false);
    } finally {
      s.proc.kill('SIGKILL');
    }
  });

  it('waitWhileTiming returns at once when free and waits while another process times', async () => {
    const t0 = Date.now();
    await lock.waitWhileTiming();
    assert.ok(Date.now() - t0 < 200);
    const { proc } = await startHolder();
    let done = false;
    const w = lock.waitWhileTiming().then(() => { done = true; });
    await sleep(300);
    assert.equal(done, false);
    proc.stdin!.write('release\n');
    await w;
    assert.equal(done, true);
  });
});

describe('host timing lock folder', () => {
  it('refuses a folder others can write to (its registry names processes to stop)', () => {
    const open = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-host-open-'));
    fs.chmodSync(open, 0o777);
    const saved = process.env.MNAS_HOST_DIR;
    process.env.MNAS_HOST_DIR = open;
    try {
      assert.throws(() => lock.hostDir(), /must be a directory owned by you and writable only by you/);
    } finally {
      process.env.MNAS_HOST_DIR = saved;
      fs.rmSync(open, { recursive: true, force: true });
    }
  });
});
