// Builds dist/server.cjs when it is missing or older than any server source. Test files run
// in parallel processes, so the build is guarded by a lock directory; a process that finds
// the lock waits for it to disappear (a real signal, bounded), then re-checks.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER = path.join(ROOT, 'dist', 'server.cjs');
const LOCK = path.join(ROOT, 'dist', '.server-build.lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function stale(): boolean {
  if (!fs.existsSync(SERVER)) return true;
  return fs.statSync(SERVER).mtimeMs < newestSource(path.join(ROOT, 'server', 'src'));
}

function waitForUnlock(): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + 120_000;
  while (fs.existsSync(LOCK) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 100);
}

export function ensureServerBuilt(): void {
  if (!stale()) return;
  fs.mkdirSync(path.dirname(LOCK), { recursive: true });
  try {
    fs.mkdirSync(LOCK);
  } catch {
    waitForUnlock();
    if (!stale()) return;
    fs.mkdirSync(LOCK, { recursive: true });
  }
  try {
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  } finally {
    fs.rmSync(LOCK, { recursive: true, force: true });
  }
}
