// One measurement at a time per host, and no training while it runs. A child timed while another
// child trains on the same cores measures the load, not the model (docs/device.md, "Timing
// protocol"). Every local timing (the search's `latency local`, `mnas worker`, `mnas calibrate`,
// `mnas bench --device local`) holds the host's timing lock, a proper-lockfile lock whose holder
// refreshes its mtime every second: a holder that crashed goes stale after STALE_MS and the next
// one takes over. While holding it the timer SIGSTOPs every training process registered on the
// host (trainer pools register theirs) and SIGCONTs them when done: training pauses at once
// instead of finishing a step first, and nothing in the trainers has to cooperate. A pool whose
// trainer stays stopped while nobody holds a live lock (the timer died between the two signals)
// resumes it itself (`watchTrainers`). The in-process tfjs trainer cannot be stopped by a signal:
// it waits between batches (`waitWhileTiming`).
//
// Host-wide means one user's processes on one machine: the folder is per user (signals only
// reach your own processes anyway). MNAS_HOST_DIR moves it (tests isolate themselves with it).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import lockfile from 'proper-lockfile';

/** A holder whose lock was not refreshed for this long is gone (proper-lockfile's minimum). */
export const STALE_MS = 5000;
const UPDATE_MS = 1000;

export function hostDir(): string {
  const uid = os.userInfo().uid;
  const dir = process.env.MNAS_HOST_DIR || path.join(os.tmpdir(), `mnas-studio-${uid}`);
  fs.mkdirSync(path.join(dir, 'trainers'), { recursive: true, mode: 0o700 });
  // The registry names processes to stop: it must be this user's own folder, writable by no one else.
  const st = fs.lstatSync(dir);
  if (uid >= 0 && (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0)) {
    throw new Error(`${dir}: the host timing lock's folder must be a directory owned by you and writable only by you; remove it (or set MNAS_HOST_DIR to another folder)`);
  }
  return dir;
}

const lockTarget = (dir: string) => path.join(dir, 'timing');
const lockOptions = (dir: string) => ({ realpath: false, stale: STALE_MS, update: UPDATE_MS, lockfilePath: `${lockTarget(dir)}.lock` });

// --- process state (Linux /proc; elsewhere unknown) --------------------------------------------

interface ProcStat { state: string; start: string }

/** State letter and start time (clock ticks since boot) of a process, undefined if it is gone. */
function procStat(pid: number): ProcStat | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ..." where comm may hold spaces and parentheses: split after the last ')'.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], start: rest[19] };
  } catch {
    return undefined;
  }
}

const hasProc = () => fs.existsSync('/proc/self/stat');
const isStopped = (pid: number) => { const st = procStat(pid)?.state; return st === 'T' || st === 't'; };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// --- the trainer registry ---------------------------------------------------------------------

interface TrainerEntry { pid: number; start?: string; owner: number }

/**
 * Registers a training process of this host: timers pause it while they measure. Returns the
 * unregister function (call it when the process ends).
 */
export function registerTrainer(pid: number): () => void {
  const file = path.join(hostDir(), 'trainers', String(pid));
  const entry: TrainerEntry = { pid, start: procStat(pid)?.start, owner: process.pid };
  fs.writeFileSync(file, JSON.stringify(entry));
  return () => fs.rmSync(file, { force: true });
}

/**
 * Registered trainers that still run (dead or recycled pids are dropped from the registry). A
 * trainer whose owner died is an orphan: it is resumed (a stopped process cannot see its closed
 * stdin and exit) and dropped, never paused again.
 */
function registeredTrainers(dir: string): TrainerEntry[] {
  const folder = path.join(dir, 'trainers');
  const out: TrainerEntry[] = [];
  for (const name of fs.readdirSync(folder)) {
    const file = path.join(folder, name);
    let e: TrainerEntry;
    try {
      const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<TrainerEntry>;
      // The registry is this user's own folder, but a pid read from a file is checked anyway.
      if (!Number.isInteger(raw.pid) || raw.pid! <= 1 || String(raw.pid) !== name) throw new Error('bad entry');
      e = raw as TrainerEntry;
    } catch {
      fs.rmSync(file, { force: true });
      continue;
    }
    const st = procStat(e.pid);
    const gone = hasProc() ? !st || (e.start !== undefined && st.start !== e.start) : !alive(e.pid);
    if (gone) fs.rmSync(file, { force: true });
    else if (Number.isInteger(e.owner) && e.owner > 1 && !alive(e.owner)) {
      resume([e.pid]);
      fs.rmSync(file, { force: true });
    } else if (e.pid !== process.pid) out.push(e);
  }
  return out;
}

// --- holding the lock -------------------------------------------------------------------------

export interface TimingHold {
  /** How long the timer waited for the lock, ms. */
  waitedMs: number;
  /** Training processes paused for this measurement. */
  paused: number[];
  /** How long pausing them took (signal until stopped), ms. */
  pauseMs: number;
  /** Set when the lock was lost while held (its mtime could not be refreshed): the figure is suspect. */
  compromised?: Error;
  release(): Promise<void>;
}

export interface HoldOptions {
  /** Give up waiting after this long (default: wait as long as it takes). */
  timeoutMs?: number;
  /** Pause the registered trainers (default true; `false` measures the lock alone). */
  pauseTrainers?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Takes the host's timing lock (waiting for the holder, or for a dead holder to go stale) and pauses training. */
export async function holdForTiming(opts: HoldOptions = {}): Promise<TimingHold> {
  const dir = hostDir();
  const t0 = performance.now();
  let compromised: Error | undefined;
  let unlock: () => Promise<void>;
  for (;;) {
    try {
      unlock = await lockfile.lock(lockTarget(dir), { ...lockOptions(dir), onCompromised: (e) => { compromised = e; } });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
      if (opts.timeoutMs !== undefined && performance.now() - t0 > opts.timeoutMs) {
        throw new Error(`the host's timing lock (${lockTarget(dir)}.lock) is still held after ${Math.round(opts.timeoutMs / 1000)} s by another measurement`);
      }
      await sleep(5 + Math.random() * 20);
    }
  }
  const waitedMs = performance.now() - t0;
  const t1 = performance.now();
  const paused: number[] = [];
  try {
    if (opts.pauseTrainers !== false) {
      for (const e of registeredTrainers(dir)) {
        try {
          process.kill(e.pid, 'SIGSTOP');
          paused.push(e.pid);
        } catch { /* gone meanwhile, or not ours */ }
      }
      // A stop is asynchronous: wait until the kernel reports each one stopped (a few ms at most).
      const deadline = performance.now() + 200;
      while (hasProc() && paused.some((p) => procStat(p) && !isStopped(p)) && performance.now() < deadline) await sleep(1);
    }
  } catch (e) {
    resume(paused);
    await unlock().catch(() => undefined);
    throw e;
  }
  const pauseMs = performance.now() - t1;
  for (const p of paused) pausedHere.add(p);
  let released = false;
  return {
    waitedMs, paused, pauseMs,
    get compromised() { return compromised; },
    async release() {
      if (released) return;
      released = true;
      resume(paused);
      for (const p of paused) pausedHere.delete(p);
      await unlock().catch(() => undefined);
    },
  };
}

/** Trainers this process has paused now: resumed if it exits while holding them (an error, process.exit). */
const pausedHere = new Set<number>();
process.on('exit', () => resume([...pausedHere]));

function resume(pids: number[]): void {
  for (const p of pids) {
    try { process.kill(p, 'SIGCONT'); } catch { /* gone */ }
  }
}

/** Runs `fn` holding the timing lock with training paused. */
export async function withTimingLock<T>(fn: (hold: TimingHold) => Promise<T> | T, opts: HoldOptions = {}): Promise<T> {
  const hold = await holdForTiming(opts);
  try {
    const value = await fn(hold);
    if (hold.compromised) throw new Error(`the host's timing lock was lost during the measurement (${hold.compromised.message}); measure again`);
    return value;
  } finally {
    await hold.release();
  }
}

/** Whether a live holder has the lock now. */
export async function timingInProgress(): Promise<boolean> {
  const dir = hostDir();
  return lockfile.check(lockTarget(dir), lockOptions(dir));
}

/** For trainers that cannot be stopped by a signal (in-process tfjs): waits while a timer holds the lock. */
export async function waitWhileTiming(pollMs = 20): Promise<void> {
  const lock = `${lockTarget(hostDir())}.lock`;
  // The common case costs one stat: no lock folder, nothing to wait for.
  while (fs.existsSync(lock) && (await timingInProgress().catch(() => false))) await sleep(pollMs);
}

/**
 * A trainer pool's safety net: every `everyMs`, any of `pids()` found stopped while no live timer
 * holds the lock is resumed. The resume happens under the lock, so it cannot race a new timer
 * that is pausing the same trainer. Returns the stop function.
 */
export function watchTrainers(pids: () => number[], everyMs = 1000): () => void {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const stopped = pids().filter((p) => !hasProc() || isStopped(p));
      if (stopped.length === 0) return;
      const dir = hostDir();
      let unlock: (() => Promise<void>) | undefined;
      try {
        unlock = await lockfile.lock(lockTarget(dir), { ...lockOptions(dir), onCompromised: () => undefined });
      } catch {
        return; // a live timer holds it: it resumes them itself
      }
      try {
        resume(stopped);
      } finally {
        await unlock().catch(() => undefined);
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick().catch(() => undefined), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
