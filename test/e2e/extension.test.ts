// MNAS Studio in a real VS Code (code-server 4.100.3) in a real browser (Debian's Chromium):
// the packaged .vsix is installed, then the tests open a model (no diagnostics, hover with the
// block's params), open the results panel of a run prepared with the CLI (chart and table two
// iframes deep), and run a tiny search from the code lens until it finishes.
// Run with `npm run test:e2e` (separate from the fast suites). MNAS_E2E_RECORD=1 also writes
// bench/results/extension.json (.vsix size, activation time).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, FrameLocator, Page } from 'playwright-core';
import { type CodeServer, machine, openBrowser, packageExtension, ROOT, setupCodeServer, startCodeServer, tempDir, waitForLogLine } from './harness';

const setup = setupCodeServer();
const skip = 'skip' in setup ? setup.skip : false;
if (skip) console.log(`# e2e skipped: ${skip}`);

describe('MNAS Studio in code-server', { skip, timeout: 15 * 60_000 }, () => {
  let base: string;
  let ws: string;
  let vsix: string;
  let server: CodeServer;
  let browser: Browser;
  let page: Page;
  const metrics: { name: string; value: number; unit: string; goal?: string; met?: boolean }[] = [];
  let activationLine = '';

  before(async () => {
    base = tempDir('mnas-e2e-');
    ws = path.join(base, 'ws');
    fs.mkdirSync(ws);
    fs.copyFileSync(path.join(ROOT, 'examples/mnasnet-a1.mnas'), path.join(ws, 'mnasnet-a1.mnas'));
    fs.copyFileSync(path.join(ROOT, 'test/fixtures/tiny-search.mnas'), path.join(ws, 'tiny-search.mnas'));
    vsix = packageExtension(base);
    metrics.push({ name: 'vsix_size', value: Math.round(fs.statSync(vsix).size / 1024), unit: 'KiB', goal: '< 10240', met: fs.statSync(vsix).size < 10 * 1024 * 1024 });
    // A finished run to open: the bundled CLI on the tiny search (about 20 s).
    execFileSync(process.execPath, [path.join(ROOT, 'dist/cli.cjs'), 'search', path.join(ws, 'tiny-search.mnas'), '--out', path.join(ws, 'mnas-runs'), '--seed', '5'], { stdio: 'ignore' });
    server = await startCodeServer((setup as { bin: string }).bin, vsix, ws, base);
    ({ browser, page } = await openBrowser(server.url));
  });

  after(async () => {
    await browser?.close();
    server?.stop();
    if (process.env.MNAS_E2E_RECORD) {
      let commit = 'unknown';
      try { commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { /* not a checkout */ }
      fs.writeFileSync(path.join(ROOT, 'bench/results/extension.json'), JSON.stringify({
        benchmark: 'extension',
        date: new Date().toISOString(),
        commit,
        machine: { ...machine(), vscode: 'code-server 4.100.3 (VS Code 1.100)', browser: 'Debian chromium (playwright-core)' },
        metrics,
        notes: `Packaged with \`vsce package --no-dependencies\` after production builds. Activation: the extension's own "activated in" line in the MNAS output channel (activate() start to end; the language client starts in the background and its own line gives language_server_ready). ${activationLine}`,
      }, null, 2) + '\n');
    }
  });

  async function command(title: string): Promise<void> {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
    await input.press('Enter');
  }

  async function openFile(name: string): Promise<void> {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(name);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor();
    await input.press('Enter');
    await page.locator(`.tab.active[data-resource-name="${name}"]`).waitFor();
  }

  function results(): FrameLocator {
    return page.frameLocator('iframe.webview').last().frameLocator('#active-frame');
  }

  test('opens MnasNet-A1: extension activates, no diagnostics, hover shows the block params', async () => {
    await openFile('mnasnet-a1.mnas');
    activationLine = await waitForLogLine(server.userDir, /activated in \d+ ms/, 60_000);
    const ms = Number(/activated in (\d+) ms/.exec(activationLine)![1]);
    metrics.push({ name: 'activation', value: ms, unit: 'ms', goal: '< 1000', met: ms < 1000 });
    const ready = await waitForLogLine(server.userDir, /language server ready in \d+ ms/, 60_000);
    const serverMs = Number(/ready in (\d+) ms/.exec(ready)![1]);
    metrics.push({ name: 'language_server_ready', value: serverMs, unit: 'ms', goal: '< 3000', met: serverMs < 3000 });
    // The code lens appears once the server has analysed the file: it sums the model.
    await page.locator('.codelens-decoration', { hasText: '3,887,038 params' }).waitFor({ timeout: 60_000 });
    await assert.doesNotReject(page.locator('#status\\.problems').waitFor());
    const problems = await page.locator('#status\\.problems').getAttribute('aria-label');
    assert.match(problems ?? '', /No Problems/i);
    // Hover block b3.
    const b3 = page.locator('.view-lines .view-line span', { hasText: /^b3$/ }).first();
    await b3.hover();
    const hover = page.locator('.monaco-hover-content', { hasText: 'block b3' });
    await hover.waitFor({ timeout: 30_000 });
    const text = await hover.innerText();
    assert.match(text, /Params:\s*39,098/);
    assert.match(text, /Mult-adds:\s*28,850,592/);
    await page.keyboard.press('Escape');
  });

  test('opens the results panel of a prepared run: chart and table in the webview', async () => {
    await command('MNAS: Open Results');
    // The quick pick lists the run folders of `mnas.runsFolder` (mnas-runs), newest first.
    const input = page.locator('.quick-input-widget input');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Tiny · rl · 4/4 children' }).first().waitFor();
    await input.press('Enter');
    const frame = results();
    await frame.locator('#scatter[data-rendered="true"] canvas').waitFor({ timeout: 60_000 });
    await frame.locator('#reward[data-rendered="true"] canvas').waitFor();
    const rows = frame.locator('table.top tbody tr');
    assert.ok(await rows.count() >= 1);
    assert.match(await frame.locator('header h1').innerText(), /Tiny/);
    // Detail of the best child: its blocks with per-block cost.
    await rows.first().click();
    await frame.locator('table.blocks tbody tr').first().waitFor();
    assert.match(await frame.locator('section.detail h2').innerText(), /params/);
  });

  test('runs a tiny search from the code lens and sees it finish', async () => {
    await openFile('tiny-search.mnas');
    const lens = page.locator('.codelens-decoration a', { hasText: 'Run Search' });
    await lens.waitFor({ timeout: 60_000 });
    await lens.click();
    await waitForLogLine(server.userDir, /search Tiny \(rl\) ->/, 60_000);
    await page.locator('.notifications-toasts .notification-toast', { hasText: 'MNAS search Tiny finished' }).waitFor({ timeout: 5 * 60_000 });
    const done = await waitForLogLine(server.userDir, /search done: \d+ children/, 5_000);
    assert.match(done, /search done: 4 children \(0 failed\)/);
    const runs = fs.readdirSync(path.join(ws, 'mnas-runs'));
    assert.equal(runs.length, 2, 'the prepared run and the new one');
    for (const r of runs) assert.ok(fs.existsSync(path.join(ws, 'mnas-runs', r, 'pareto.json')));
    // The live panel of the run shows all four children.
    await results().locator('#root[data-children="4"]').waitFor({ timeout: 30_000 });
  });
});
