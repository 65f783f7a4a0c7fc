// Hover latency of the bundled language server over a real stdio connection, on the seeded
// 5,000-line file, plus the time from didOpen to the first diagnostics of that file.
import * as fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { Hover } from 'vscode-languageserver-protocol';
import { positionAt, TestClient } from '../test/lsp/client';
import { writeFixture } from './lib/generate';
import { typing } from './lib/typing';
import { below, type BenchResult, report, summarize } from './lib/result';

const WARMUP_HOVERS = 100;
const HOVERS = 1000;
const OPENS = 12;
const SMALL = 200;

export async function run(): Promise<BenchResult> {
  const g = writeFixture(5000);
  const text = fs.readFileSync(g.file, 'utf8');
  const uri = pathToFileURL(g.file).toString();
  const small = fs.readFileSync(new URL('../examples/mnasnet-a1.mnas', import.meta.url), 'utf8');
  const smallUri = pathToFileURL(g.file.replace(/language-5000\.mnas$/, 'hover-small.mnas')).toString();
  const smallTargets = [...small.matchAll(/block (b\d)/g)].map((m) => positionAt(small, m.index! + 'block '.length));

  // didOpen -> first diagnostics, in pull mode (what VS Code does) and push mode.
  const openPull: number[] = [];
  const openPush: number[] = [];
  const pull = await TestClient.start({ pull: true });
  const push = await TestClient.start({ pull: false });
  try {
    for (let i = 0; i < OPENS; i++) {
      const u = pathToFileURL(g.file.replace(/\.mnas$/, `-open${i}.mnas`)).toString();
      let t0 = performance.now();
      await pull.open(u, text);
      const items = await pull.pull(u);
      openPull.push(performance.now() - t0);
      if (items.some((d) => d.severity === 1)) throw new Error('the generated file should have no errors');
      await pull.close(u);

      const next = push.nextDiagnostics(u);
      t0 = performance.now();
      await push.open(u, text);
      await next;
      openPush.push(performance.now() - t0);
      await push.close(u);
    }
  } finally {
    await push.stop();
  }

  // Hovers on block names spread evenly over the file.
  const targets = Array.from({ length: HOVERS }, (_, i) => positionAt(text, g.blockNames[Math.floor((i * g.blockNames.length) / HOVERS)]));
  const hoverMs: number[] = [];
  const smallMs: number[] = [];
  try {
    await pull.open(uri, text);
    await pull.pull(uri);
    await pull.open(smallUri, small);
    await pull.pull(smallUri);
    const hover = async (u: string, position: { line: number; character: number }): Promise<number> => {
      const t0 = performance.now();
      const h = await pull.request<Hover | null>('textDocument/hover', { textDocument: { uri: u }, position });
      const dt = performance.now() - t0;
      if (!h || !JSON.stringify(h.contents).includes('Params')) throw new Error(`no cost hover at ${JSON.stringify(position)}`);
      return dt;
    };
    for (let i = 0; i < WARMUP_HOVERS; i++) await hover(uri, targets[(i * 7) % targets.length]);
    for (let i = 0; i < HOVERS; i++) {
      hoverMs.push(await hover(uri, targets[i]));
      // A small file interleaved now and then: the same request on a 15-line document.
      if (i % (HOVERS / SMALL) === 0) smallMs.push(await hover(smallUri, smallTargets[i % smallTargets.length]));
    }
  } finally {
    await pull.stop();
  }
  const h = summarize(hoverMs);
  const s = summarize(smallMs);
  const op = summarize(openPull);
  const os = summarize(openPush);
  const typed = await typing(g.file);
  return {
    benchmark: 'lsp-hover',
    metrics: [
      ...typed.metrics,
      report('hover_p50', h.median, 'ms'),
      below('hover_p95', h.p95, 'ms', 5),
      report('hover_max', h.max, 'ms'),
      report('hover_small_file_p50', s.median, 'ms'),
      report('hover_large_over_small_p50', h.median / s.median, 'ratio'),
      report('open_to_diagnostics_pull_median', op.median, 'ms'),
      report('open_to_diagnostics_pull_min', op.min, 'ms'),
      report('open_to_diagnostics_pull_p95', op.p95, 'ms'),
      report('open_to_diagnostics_push_median', os.median, 'ms'),
    ],
    notes: `The bundled server (node dist/server.cjs --stdio) driven by test/lsp/client.ts. ${WARMUP_HOVERS} warm-up hovers, then `
      + `${HOVERS} hovers on block names spread evenly over bench/fixtures/generated/language-5000.mnas (${g.blocks} blocks), one at a time, `
      + `timed round trip at the client; every ${HOVERS / SMALL}th, a hover on a block of examples/mnasnet-a1.mnas (15 lines) for the ratio. `
      + `open_to_diagnostics: didOpen of the 5,000-line text under a new URI until the diagnostics arrive, ${OPENS} times: pull mode `
      + '(didOpen + textDocument/diagnostic, as VS Code does) and push mode (didOpen until publishDiagnostics). No goal was set for it. '
      + typed.notes,
  };
}
