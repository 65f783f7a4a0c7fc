// The analyzer never throws and never hangs: 10,000+ generated and mutated inputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import fc from 'fast-check';
import { analyzeFiles } from '../helpers/analyze';
import { cpuMsSince } from '../helpers/cpu';
import { mutatedText } from '../helpers/mutate';
import { formatTextSafe } from '../helpers/format';

const examples = fs.readdirSync('examples').map((f) => fs.readFileSync(`examples/${f}`, 'utf8'));
const SLOW_MS = 1000;

function check(text: string): void {
  const c0 = process.cpuUsage();
  const a = analyzeFiles({ 'main.mnas': text, 'mobilenetv2.mnas': examples[4] });
  // Touch everything the language server would: costs and lazy space statistics.
  for (const e of a.local.values()) {
    if (e.kind === 'space') void e.stats;
    if (e.kind === 'model') assert.ok(Number.isFinite(e.cost.params));
  }
  for (const p of a.problems) {
    assert.ok(p.span.start >= 0 && p.span.end <= text.length && p.span.start <= p.span.end, `span out of range: ${JSON.stringify(p)}`);
    assert.ok(p.message.length > 10);
  }
  formatTextSafe(text);
  const ms = cpuMsSince(c0);
  assert.ok(ms < SLOW_MS, `took ${ms.toFixed(0)} ms of CPU on ${JSON.stringify(text.slice(0, 200))}`);
}

const vocabulary = [
  'model', 'space', 'search', 'import', 'from', 'input', 'width', 'depth', 'act', 'stem', 'block', 'head', 'classes',
  'dropout', 'op', 'se', 'skip', 'e', 'k', 's', 'f', 'x', 'conv', 'sepconv', 'mbconv', 'relu', 'relu6', 'swish', 'hswish',
  'identity', 'pool', 'none', 'avg', 'max', '{', '}', '[', ']', ',', '*', '+', 'k3', 'k4', 's2', 'e6', 'f16', 'f0', 'x3', 'x0',
  '0.25', '-1', '0', '1e9', '224x224x3', '1x1x1', '75ms', '5M', '"a.mnas"', '"mobilenetv2.mnas"', 'MobileNetV2', 'b1', 'b7',
  '*', 'target', 'budget', 'children', 'latency', 'local', 'adb', 'dataset', 'mnist', '\n', '// c\n', '/*', '*/', '#', '"',
];

/** A mutation of a real example: delete, duplicate or replace a slice, or insert a word. */
const mutated = mutatedText(examples, vocabulary, { maxSlice: 40, maxEdits: 6 });

/** Token soup from the language's own vocabulary: hits the parser's recovery paths. */
const soup = fc.array(fc.constantFrom(...vocabulary), { maxLength: 120 }).map((ws) => ws.join(' '));

test('mutated examples never throw or hang (6,000 runs)', () => {
  fc.assert(fc.property(mutated, (t) => { check(t); }), { numRuns: 6000, seed: 42 });
});

test('token soup never throws or hangs (3,000 runs)', () => {
  fc.assert(fc.property(soup, (t) => { check(t); }), { numRuns: 3000, seed: 7 });
});

test('arbitrary unicode never throws or hangs (1,500 runs)', () => {
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (t) => { check(t); }), { numRuns: 1500, seed: 3 });
});

test('deep nesting and long inputs stay fast', () => {
  check('{'.repeat(5000));
  check('model M { input 8x8x1 ' + 'block b { conv f8 } '.repeat(2000) + '}');
  check('space S from MobileNetV2 { block * { k [' + '3, '.repeat(3000) + '] } }');
  check('['.repeat(3000) + ']'.repeat(3000));
});

test('an analysis served from the declaration and model caches equals a fresh one (600 edit sequences)', async () => {
  const { clearParseCache } = await import('../../server/src/language/parser');
  const { clearModelCache } = await import('../../server/src/analysis/analysis');
  const strip = (text: string) => JSON.stringify(analyzeFiles({ 'main.mnas': text, 'mobilenetv2.mnas': examples[4] }).problems);
  fc.assert(fc.property(mutated, mutated, (before, after) => {
    strip(before); // warm the caches with a neighbouring text
    const served = strip(after);
    clearParseCache();
    clearModelCache();
    assert.equal(served, strip(after));
  }), { numRuns: 600, seed: 13 });
});

test('a parse served from the declaration cache equals a fresh parse (1,000 edit sequences)', async () => {
  const { clearParseCache, parse } = await import('../../server/src/language/parser');
  const strip = (r: ReturnType<typeof parse>) => JSON.stringify({ file: r.file, problems: r.problems });
  fc.assert(fc.property(mutated, mutated, (before, after) => {
    parse(before); // warm the cache with a neighbouring text
    const served = strip(parse(after));
    clearParseCache();
    assert.equal(served, strip(parse(after)));
  }), { numRuns: 1000, seed: 11 });
});
