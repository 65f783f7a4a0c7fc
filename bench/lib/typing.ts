// Typing in large files, over the real stdio server (part of bench/lsp-hover.bench.ts): hover
// on one model of 5,000 blocks (device-profile latency lines included), one edit of the
// 5,000-line file until its diagnostics, a hover right after a burst of 200 edits (push mode),
// and one edit of a file importing 1,000 files. With MNAS_BENCH_BASELINE_SERVER set to another
// build of dist/server.cjs, every measurement is taken in pairs (baseline, then this build, the
// same request), so load on the shared machine hits both alike; spread and load are recorded.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Hover } from 'vscode-languageserver-protocol';
import { positionAt, TestClient } from '../../test/lsp/client';
import { GENERATED } from './generate';
import { below, type Metric, report, summarize } from './result';

const HOVER_ROUNDS = 300;
const EDIT_ROUNDS = 30;
const BURST_ROUNDS = 4;
const BURST = 200;
const IMPORT_ROUNDS = 8;
const IMPORTS = 1000;

/** One model of `n` blocks, MobileNetV2-like stages repeated (valid: no errors). */
function bigModel(n: number): { text: string; names: number[] } {
  const lines = ['model Big {', '  input 224x224x3', '  stem conv k3 s2 f32'];
  const names: number[] = [];
  let at = lines.join('\n').length + 1;
  for (let i = 0; i < n; i++) {
    const line = `  block b${i} { mbconv e${i % 2 ? 6 : 3} k${i % 3 ? 3 : 5} s1 f${16 + 8 * (i % 4)} x1${i % 5 ? '' : ' se 0.25'} }`;
    names.push(at + '  block '.length);
    lines.push(line);
    at += line.length + 1;
  }
  lines.push('  head conv f1280 pool avg classes 1000', '}', '');
  return { text: lines.join('\n'), names };
}

interface Side { name: string; server?: string }

async function timed<T>(f: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const load = () => Number(os.loadavg()[0].toFixed(2));

export async function typing(largeFile: string): Promise<{ metrics: Metric[]; notes: string }> {
  const baseline = process.env.MNAS_BENCH_BASELINE_SERVER;
  const sides: Side[] = [...(baseline ? [{ name: 'baseline', server: path.resolve(baseline) }] : []), { name: 'current' }];
  const metrics: Metric[] = [];
  const loads: string[] = [];
  const dir = path.join(GENERATED, 'typing');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });

  // Each side gets its own pull client and push client (settings as the extension's defaults).
  const hoverMs: number[][] = sides.map(() => []);
  const editMs: number[][] = sides.map(() => []);
  const burstMs: number[][] = sides.map(() => []);
  const publishes: number[][] = sides.map(() => []);
  const importMs: number[][] = sides.map(() => []);
  const pull = await Promise.all(sides.map((s) => TestClient.start({ pull: true, server: s.server })));
  const push = await Promise.all(sides.map((s) => TestClient.start({ pull: false, server: s.server })));
  try {
    // 1. Hover on a model of 5,000 blocks.
    loads.push(`hover start ${load()}`);
    const big = bigModel(5000);
    const bigUri = pathToFileURL(path.join(dir, 'big-model.mnas')).toString();
    for (const c of pull) { await c.open(bigUri, big.text); await c.pull(bigUri); }
    const hoverAt = async (c: TestClient, i: number) => {
      const h = await c.request<Hover | null>('textDocument/hover', { textDocument: { uri: bigUri }, position: positionAt(big.text, big.names[i]) });
      if (!h || !JSON.stringify(h.contents).includes('Params')) throw new Error(`no cost hover on block ${i}`);
    };
    for (let i = 0; i < 20; i++) for (const c of pull) await hoverAt(c, (i * 251) % big.names.length);
    for (let i = 0; i < HOVER_ROUNDS; i++) {
      const target = Math.floor((i * big.names.length) / HOVER_ROUNDS);
      for (let s = 0; s < sides.length; s++) hoverMs[s].push(await timed(() => hoverAt(pull[s], target)));
    }
    loads.push(`hover end ${load()}`);

    // 2. One edit of the 5,000-line file until its (pull) diagnostics.
    const text = fs.readFileSync(largeFile, 'utf8');
    const lines = text.split('\n');
    const mid = lines.findIndex((l, i) => i > lines.length / 2 && /\bblock \w+ \{ \w+/.test(l));
    const largeUri = pathToFileURL(path.join(dir, 'large.mnas')).toString();
    for (const c of pull) { await c.open(largeUri, text); await c.pull(largeUri); }
    for (let i = 0; i < EDIT_ROUNDS + 3; i++) {
      const edited = [...lines];
      edited[mid] = edited[mid].replace(/ \}\s*$/, ` ${i % 2 ? 'relu' : 'swish'} }`);
      const next = edited.join('\n');
      for (let s = 0; s < sides.length; s++) {
        const ms = await timed(async () => { await pull[s].change(largeUri, next); await pull[s].pull(largeUri); });
        if (i >= 3) editMs[s].push(ms);
      }
    }
    loads.push(`edit end ${load()}`);

    // 3. A hover right after 200 edits sent back to back (push mode: publishes queue up).
    const burstUri = pathToFileURL(path.join(dir, 'burst.mnas')).toString();
    for (let s = 0; s < sides.length; s++) {
      const first = push[s].nextDiagnostics(burstUri);
      await push[s].open(burstUri, text);
      await first;
    }
    for (let r = 0; r < BURST_ROUNDS; r++) {
      for (let s = 0; s < sides.length; s++) {
        const c = push[s];
        const before = c.publishes(burstUri).length;
        const sends: Promise<void>[] = [];
        for (let i = 0; i < BURST; i++) {
          const edited = [...lines];
          edited[mid] = edited[mid].replace(/ \}\s*$/, ` ${(r * BURST + i) % 2 ? 'relu' : 'swish'} }`);
          sends.push(c.change(burstUri, edited.join('\n')));
        }
        await Promise.all(sends);
        burstMs[s].push(await timed(() => c.request('textDocument/hover', { textDocument: { uri: burstUri }, position: positionAt(text, text.indexOf('block ', text.indexOf('\n', text.length / 2)) + 7) })));
        // Let this side's publishes drain before the other side starts: until the last version's
        // (a build that coalesces them), or one per edit (a build that does not: they take seconds).
        const last = c.versionOf(burstUri)!;
        if (s === sides.length - 1) await c.diagnosticsOfVersion(burstUri, last);
        else {
          while (!c.publishes(burstUri).some((p) => p.version === last) && c.publishes(burstUri).length - before < BURST) {
            await new Promise((res) => setTimeout(res, 50));
          }
        }
        publishes[s].push(c.publishes(burstUri).length - before);
      }
    }
    loads.push(`burst end ${load()}`);

    // 4. One edit of a file importing 1,000 files from disk.
    const libs = path.join(dir, 'libs');
    fs.mkdirSync(libs, { recursive: true });
    for (let i = 0; i < IMPORTS; i++) fs.writeFileSync(path.join(libs, `lib${i}.mnas`), `model Lib${i} {\n  input 32x32x3\n  block b1 { conv k3 f${8 + (i % 8) * 8} }\n}\n`);
    const main = Array.from({ length: IMPORTS }, (_, i) => `import "libs/lib${i}.mnas"`).join('\n') + '\nspace S from Lib7 {\n  block b1 { k [3, 5] }\n}\n';
    const mainUri = pathToFileURL(path.join(dir, 'imports.mnas')).toString();
    for (const c of pull) { await c.open(mainUri, main); const d = await c.pull(mainUri); if (d.length) throw new Error(`imports file has problems: ${d[0].message}`); }
    for (let i = 0; i < IMPORT_ROUNDS + 1; i++) {
      const next = main.replace('k [3, 5]', i % 2 ? 'k [3, 5]' : 'k [3, 7]');
      for (let s = 0; s < sides.length; s++) {
        const ms = await timed(async () => { await pull[s].change(mainUri, next); await pull[s].pull(mainUri); });
        if (i >= 1) importMs[s].push(ms);
      }
    }
    loads.push(`imports end ${load()}`);
  } finally {
    for (const c of [...pull, ...push]) await c.stop();
  }

  const cur = sides.length - 1;
  const add = (name: string, xs: number[][], goal?: number, stat: 'median' | 'p95' = 'median') => {
    const c = summarize(xs[cur]);
    metrics.push(goal === undefined ? report(`${name}_${stat}`, c[stat], 'ms') : below(`${name}_${stat}`, c[stat], 'ms', goal));
    if (stat !== 'median') metrics.push(report(`${name}_median`, c.median, 'ms'));
    metrics.push(report(`${name}_min`, c.min, 'ms'), report(`${name}_max`, c.max, 'ms'));
    if (cur > 0) {
      const b = summarize(xs[0]);
      // Per pair, baseline over current: the pair shares the machine's load at that moment.
      const ratios = xs[0].map((v, i) => v / xs[cur][i]);
      metrics.push(report(`${name}_baseline_${stat}`, b[stat], 'ms'), report(`${name}_baseline_min`, b.min, 'ms'),
        report(`${name}_pair_ratio_median`, summarize(ratios).median, 'ratio'));
    }
  };
  add('hover_5000_block_model', hoverMs, 5, 'p95');
  add('edit_5000_lines_to_diagnostics', editMs, 50);
  add('hover_after_200_edits', burstMs);
  metrics.push(report('publishes_per_200_edits_median', summarize(publishes[cur]).median, 'count'));
  if (cur > 0) metrics.push(report('publishes_per_200_edits_baseline_median', summarize(publishes[0]).median, 'count'));
  add('edit_with_1000_imports_to_diagnostics', importMs);
  const notes = `Typing (bench/lib/typing.ts), the bundled server over stdio: ${HOVER_ROUNDS} hovers on block names of one model of 5,000 blocks `
    + `(default device profile, so each hover has latency lines; 20 warm-ups); ${EDIT_ROUNDS} edits of the 5,000-line file (one block's activation `
    + `toggled, 3 warm-ups), each timed from didChange to the pull-diagnostics answer; ${BURST_ROUNDS} bursts of ${BURST} didChange sent back to back `
    + `to a push-mode client, then a hover timed (publishes counted until the last version's); ${IMPORT_ROUNDS} edits of a file importing `
    + `${IMPORTS} files on disk, didChange to pull answer. `
    + (cur > 0 ? `Pairs: each request goes to the baseline build (${process.env.MNAS_BENCH_BASELINE_SERVER_LABEL ?? 'MNAS_BENCH_BASELINE_SERVER'}) then to this build, `
      + 'the same text and position; *_pair_ratio_median is the median over pairs of baseline/current. ' : '')
    + `1-minute load average: ${loads.join(', ')}.`;
  return { metrics, notes };
}
