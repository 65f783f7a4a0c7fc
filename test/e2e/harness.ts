// The end-to-end harness: the packaged .vsix installed into code-server (VS Code for the
// browser, installed offline by scripts/setup-code-server.sh), driven by Debian's Chromium through
// playwright-core. Every wait is on a real signal (a log line, a DOM element), never a timer.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

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
    'mnas.runsFolder': 'mnas-runs',
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

/** The MNAS output channel's log file (VS Code writes output channels to the log folder). */
export function findOutputLog(userDir: string): string | null {
  const stack = [path.join(userDir, 'logs')];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: fs.Dirent[];
    try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { continue; }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (/MNAS\.log$/.test(e.name)) return p;
    }
  }
  return null;
}

/** Resolves when the MNAS output log has a line matching `re` (polled on file changes, not a fixed sleep). */
export async function waitForLogLine(userDir: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const file = findOutputLog(userDir);
    if (file) {
      const line = fs.readFileSync(file, 'utf8').split('\n').find((l) => re.test(l));
      if (line) return line;
    }
    if (Date.now() > deadline) throw new Error(`no MNAS output line matching ${re} within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      // Wake on any change under the logs folder, or after 250 ms at most (the folder may not exist yet).
      let watcher: fs.FSWatcher | undefined;
      const done = () => { watcher?.close(); clearTimeout(t); resolve(); };
      const t = setTimeout(done, 250);
      try { watcher = fs.watch(path.join(userDir, 'logs'), { recursive: true }, done); } catch { /* not yet there */ }
    });
  }
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function machine(): Record<string, unknown> {
  return { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, os: `${os.type()} ${os.release()}` };
}
