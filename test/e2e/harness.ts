// The end-to-end harness: the packaged .vsix installed into code-server (VS Code for the
// browser, installed offline by scripts/setup-code-server.sh), driven by Debian's Chromium through
// playwright-core. Every wait is on a real signal (a log line, a DOM element), never a timer.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { runTag } from '../../server/src/search/events';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const CHROMIUM = process.env.MNAS_CHROMIUM ?? '/usr/bin/chromium';

/** code-server's binary (installing it if needed), or the reason it cannot be had here. */
export function setupCodeServer(): { bin: string } | { skip: string } {
  if (process.env.MNAS_CODE_SERVER) return { bin: process.env.MNAS_CODE_SERVER };
  const r = spawnSync('bash', [path.join(ROOT, 'scripts/setup-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const bin = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !bin || !fs.existsSync(bin)) return { skip: `code-server could not be installed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}` };
  if (!fs.existsSync(CHROMIUM)) return { skip: `no Chromium at ${CHROMIUM} (apt-get install chromium)` };
  return { bin };
}

/** Production bundles, the webview bundle, and `vsce package` into `outDir`; returns the .vsix path. */
export function packageExtension(outDir: string): string {
  const vsix = path.join(outDir, 'mnas-studio.vsix');
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  run(process.execPath, ['scripts/build.mjs', '--production']);
  run(process.execPath, ['client/build.mjs', '--production']);
  run(process.execPath, [path.join(ROOT, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '-o', vsix]);
  return vsix;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface CodeServer { url: string; proc: ChildProcess; userDir: string; stop(): void }

export async function startCodeServer(bin: string, vsix: string, workspace: string, base: string): Promise<CodeServer> {
  const userDir = path.join(base, 'user');
  const extDir = path.join(base, 'extensions');
  fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDir, 'User', 'settings.json'), JSON.stringify({
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'telemetry.telemetryLevel': 'off',
    'editor.hover.delay': 100,
    // code-server saves after a delay by default: edits the tests make (and revert) stay in the editor.
    'files.autoSave': 'off',
    'mnas.runsFolder': 'mnas-runs',
    // Train fully in seconds: 2 epochs on 600 digits.
    'mnas.train.epochs': 2,
    'mnas.train.trainImages': 600,
  }, null, 2));
  const common = ['--config', path.join(base, 'config.yaml'), '--user-data-dir', userDir, '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check'];
  execFileSync(bin, [...common, '--install-extension', vsix], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await freePort();
  const proc = spawn(bin, [...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, workspace], {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MNAS_PYTHON: process.env.MNAS_PYTHON ?? '' },
  });
  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      log.push(d.toString());
      if (log.join('').includes('HTTP server listening on')) resolve();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`code-server exited (${code}):\n${log.join('')}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`,
    proc,
    userDir,
    stop: () => {
      try { process.kill(-proc.pid!, 'SIGTERM'); } catch { /* already gone */ }
    },
  };
}

export async function openBrowser(url: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(url);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return { browser, page };
}

/** The MNAS output channel's log files (VS Code writes output channels to the log folder), oldest
 * session first: a reloaded window writes a new one. */
export function outputLogs(userDir: string): string[] {
  const found: string[] = [];
  const stack = [path.join(userDir, 'logs')];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { continue; }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (/MNAS\.log$/.test(e.name)) found.push(p);
    }
  }
  // Session and window folders are named by timestamp / number: path order is time order.
  return found.sort();
}

/** The first MNAS output log, if any. */
export function findOutputLog(userDir: string): string | null {
  return outputLogs(userDir)[0] ?? null;
}

/** Every line of the MNAS output logs (all window sessions) matching `re`, in order. */
export function logLines(userDir: string, re: RegExp): string[] {
  return outputLogs(userDir).flatMap((f) => fs.readFileSync(f, 'utf8').split('\n')).filter((l) => re.test(l));
}

/**
 * A regex source matching the head of a run's child lines in the MNAS log, `[rl-20261206-081500 3/20]`
 * (`count`, a regex source, left out: `[rl-20261206-081500]`, as a trained line has it), so a test
 * waits on its own run's lines, not an earlier run's.
 */
export function logTag(run: string, search: string, count?: string): string {
  const tag = runTag(run, search).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `\\[${tag}${count ? ` ${count}` : ''}\\]`;
}

/** Resolves with the (skip+1)-th line of the MNAS output logs matching `re` (polled on file
 * changes, not a fixed sleep): pass `skip = logLines(...).length` to wait for a new one. */
export async function waitForLogLine(userDir: string, re: RegExp, timeoutMs: number, skip = 0): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const line = logLines(userDir, re)[skip];
    if (line) return line;
    if (Date.now() > deadline) throw new Error(`no ${skip ? 'new ' : ''}MNAS output line matching ${re} within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      // Wake on any change under the logs folder, or after 250 ms at most (the folder may not exist yet).
      let watcher: fs.FSWatcher | undefined;
      const done = () => { watcher?.close(); clearTimeout(t); resolve(); };
      const t = setTimeout(done, 250);
      try { watcher = fs.watch(path.join(userDir, 'logs'), { recursive: true }, done); } catch { /* not yet there */ }
    });
  }
}

/** Polls `probe` (every 250 ms) until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function poll<T>(what: string, timeoutMs: number, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface Proc { pid: number; ppid: number; pgid: number; stat: string; args: string }

/** The process list (`ps`), zombies left out (they have exited; only their parent has not reaped them). */
export function processes(): Proc[] {
  const out = execFileSync('ps', ['-ww', '-eo', 'pid=,ppid=,pgid=,stat=,args='], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return out.split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), pgid: Number(m[3]), stat: m[4], args: m[5] }))
    .filter((p) => !p.stat.startsWith('Z'));
}

/** `pid` and all its live descendants. */
export function processTree(pid: number, all = processes()): Proc[] {
  const tree = all.filter((p) => p.pid === pid);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i].pid));
  return tree;
}

/** The working directory of a process, or null when it is gone (or not ours to read). */
export function processCwd(pid: number): string | null {
  try { return fs.readlinkSync(`/proc/${pid}/cwd`); } catch { return null; }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function machine(): Record<string, unknown> {
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, os: `${os.type()} ${os.release()}` };
}
