// Every language-server feature, not only diagnostics, on mutated models and spaces: hover at
// every token, code lens with the default device profile, symbols, semantic tokens,
// completion, rename and formatting. None may throw, and none may take long: a feature that
// builds layers from a number diagnostics refused (a delta of 1e7 layers) fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { Analysis } from '../../server/src/analysis/analysis';
import { codeLenses } from '../../server/src/lsp/codeLens';
import { completion } from '../../server/src/lsp/completion';
import { documentSymbols } from '../../server/src/lsp/symbols';
import { formatting } from '../../server/src/lsp/formatting';
import { hover } from '../../server/src/lsp/hover';
import { positionOf } from '../../server/src/lsp/positions';
import { prepareRename } from '../../server/src/lsp/rename';
import { semanticTokens } from '../../server/src/lsp/semanticTokens';
import { DEFAULT_SETTINGS } from '../../server/src/lsp/settings';
import { loadProfile } from '../../server/src/cost/latency/store';
import { analyzeFiles } from '../helpers/analyze';
import { cpuMsSince } from '../helpers/cpu';
import { mutatedText } from '../helpers/mutate';

const CORPUS = new URL('./corpus/', import.meta.url);
const corpus = Object.fromEntries(fs.readdirSync(CORPUS).sort().map((f) => [f, fs.readFileSync(new URL(f, CORPUS), 'utf8')]));
const examples = fs.readdirSync('examples').map((f) => fs.readFileSync(path.join('examples', f), 'utf8'));
const bases = [...Object.values(corpus), ...examples];
const latency = { profile: loadProfile(DEFAULT_SETTINGS.deviceProfile) };
const SLOW_MS = 1000;

/** Runs every feature over the document; returns the CPU milliseconds it took. */
function exercise(text: string): number {
  const c0 = process.cpuUsage();
  const a: Analysis = analyzeFiles({ ...corpus, 'main.mnas': text, 'mobilenetv2.mnas': examples[4] });
  for (const e of a.local.values()) if (e.kind === 'space') void e.stats;
  codeLenses(a, { uri: 'file:///virtual/main.mnas' }, latency);
  documentSymbols(a);
  semanticTokens(a);
  formatting(a);
  const tokens = a.parsed.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const position = positionOf(a, tokens[i].startOffset + 1);
    const h = hover(a, { position }, { showLayers: true, latency });
    if (h) assert.equal(typeof (h.contents as { value: string }).value, 'string');
    if (i % 7 === 0) {
      completion(a, { position });
      prepareRename(a, { position });
    }
  }
  return cpuMsSince(c0);
}

const vocabulary = [
  'model', 'space', 'search', 'import', 'from', 'input', 'width', 'depth', 'act', 'stem', 'block', 'head', 'classes',
  'op', 'se', 'skip', 'e', 'k', 's', 'f', 'x', 'conv', 'sepconv', 'mbconv', 'relu', 'swish', 'identity', 'pool', 'none',
  '{', '}', '[', ']', ',', '*', '+', 'k3', 'k4', 'k31', 's2', 's32', 'e6', 'e64', 'f16', 'f65536', 'x3', 'x256', 'x0',
  '0.25', '-1', '0', '1', '16', '17', '255', '256', '257', '1e9', '1e309', '-1e309', '10000000', '1e-320', '0.0001',
  '8192x8192x4096', '1x1', '224x224x3', 'b1', 'b2', 'b4', 'Sk', 'Deep', '\n', '// c\n', '/*', '*/', '"',
];

/** A real model or space file with slices deleted, duplicated, replaced, or words inserted. */
const mutated = mutatedText(bases, vocabulary, { maxSlice: 30, maxEdits: 5 });

test('the corpus itself: every feature at every token, quickly', () => {
  for (const [name, text] of Object.entries(corpus)) {
    const ms = exercise(text);
    assert.ok(ms < SLOW_MS, `${name}: features took ${ms.toFixed(0)} ms of CPU`);
  }
});

test('a refused delta or factor is never built by hover: it says the value is not valid', () => {
  const text = corpus['deltas.mnas'];
  const a = analyzeFiles({ ...corpus, 'main.mnas': text });
  for (const v of ['10000000', '1e309', '255', '1e9']) {
    const at = text.indexOf(v);
    const c0 = process.cpuUsage();
    const h = hover(a, { position: positionOf(a, at + 1) }, { showLayers: true });
    const md = (h!.contents as { value: string }).value;
    const shown = v === '1e309' ? 'Infinity' : String(Number(v));
    assert.match(md, new RegExp(`▶ [xf] [+*] ${shown}.*not valid`), md);
    assert.ok(cpuMsSince(c0) < SLOW_MS);
  }
});

test('mutated models and spaces: every feature, never a throw or a hang (1,500 runs)', () => {
  fc.assert(fc.property(mutated, (t) => {
    const ms = exercise(t);
    assert.ok(ms < SLOW_MS, `features took ${ms.toFixed(0)} ms of CPU on ${JSON.stringify(t.slice(0, 300))}`);
  }), { numRuns: 1500, seed: 314 });
});
