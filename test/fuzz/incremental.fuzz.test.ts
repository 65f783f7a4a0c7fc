// Typing in a document re-lexes and re-parses only the declarations an edit touches
// (language/segments.ts). After every edit of a random sequence on real .mnas files, the
// incremental result must equal an analysis from scratch: tokens with their lines and
// columns, the syntax tree, every problem and every LSP diagnostic (range and message).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { IToken } from 'chevrotain';
import { analyze, AnalysisCache, clearModelCache, type FileHost } from '../../server/src/analysis/analysis';
import { clearParseCache, parse, type ParseResult } from '../../server/src/language/parser';
import { diagnostics } from '../../server/src/lsp/diagnostics';
import { generate } from '../../bench/lib/generate';
import { applyEdit, edit } from '../helpers/mutate';

const read = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.mnas')).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
const examples = read('examples');
const corpus = read('test/fuzz/corpus');
/** Real files, one file holding all of them (many declarations), and a generated 400-line file. */
const bases = [...examples, ...corpus, [...examples, ...corpus].join('\n'), generate(400).text];

const vocabulary = [
  'model', 'space', 'search', 'import', 'from', 'input', 'block', 'head', 'stem', 'mbconv', 'relu', 'swish', 'se', 'skip',
  'k3', 'k4', 'e6', 'f16', 'x0', '0.25', '224x224x3', '75ms', 'MobileNetV2', 'b1', '{', '}', '[', ']', ',', '*', '+',
  '"mobilenetv2.mnas"', '\n', '\r\n', '\r', ' ', 'l', 'e', '6', '// c\n', '/*', '*/', '#', '"', '\ufeff', '\u0000', '@',
];

const FILE = '/virtual/main.mnas';
const host: FileHost = { read: (f) => (f === '/virtual/mobilenetv2.mnas' ? examples[4] : undefined) };

const tok = (t: IToken) => [t.tokenType.name, t.image, t.startOffset, t.endOffset, t.startLine, t.endLine, t.startColumn, t.endColumn];
const parseView = (r: ParseResult) => JSON.stringify({ file: r.file, problems: r.problems, tokens: r.tokens.map(tok), comments: r.comments.map(tok) });

/** A document typed into: each step's incremental analysis against one from scratch. */
const sequence = fc.record({
  base: fc.integer({ min: 0, max: bases.length - 1 }),
  // Mostly keystrokes (a character or a word glued in place), some larger cuts and pastes.
  edits: fc.array(fc.oneof(
    { weight: 3, arbitrary: edit(vocabulary, { maxSlice: 3, kinds: ['type', 'delete'] }) },
    { weight: 1, arbitrary: edit(vocabulary, { maxSlice: 80, kinds: ['delete', 'insert', 'dup', 'replace'] }) },
  ), { minLength: 1, maxLength: 12 }),
});

test('incremental parses equal fresh parses, tokens included (500 edit sequences)', () => {
  fc.assert(fc.property(sequence, ({ base, edits }) => {
    let text = bases[base];
    let previous = parse(text);
    for (const e of edits) {
      text = applyEdit(text, e);
      const incremental = parse(text, previous);
      const served = parseView(incremental);
      clearParseCache();
      assert.equal(served, parseView(parse(text)), `after ${JSON.stringify(e)}`);
      previous = incremental;
    }
  }), { numRuns: 500, seed: 17 });
});

test('incremental analyses give the diagnostics of a fresh analysis (400 edit sequences)', () => {
  const view = (a: ReturnType<typeof analyze>) => JSON.stringify({ problems: a.problems, diagnostics: diagnostics(a) });
  fc.assert(fc.property(sequence, ({ base, edits }) => {
    let text = bases[base];
    let previous = analyze(FILE, text, host, new AnalysisCache()).parsed;
    for (const e of edits) {
      text = applyEdit(text, e);
      const a = analyze(FILE, text, host, new AnalysisCache(), previous);
      const served = view(a);
      clearParseCache();
      clearModelCache();
      assert.equal(served, view(analyze(FILE, text, host, new AnalysisCache())), `after ${JSON.stringify(e)}`);
      previous = a.parsed;
    }
  }), { numRuns: 400, seed: 23 });
});

test('a spent parse is not reused, and an unchanged text re-parses to the same result', () => {
  const text = bases[bases.length - 1];
  const first = parse(text);
  const edited = ` ${text}`;
  const second = parse(edited, first); // every declaration but the first moves by one
  const expected = parseView(parse(edited));
  assert.equal(parseView(second), expected);
  // `first` is spent: its nodes belong to `second` now. Used again, it must not move them twice.
  assert.equal(parseView(parse(edited, first)), expected);
  assert.equal(parseView(second), expected);
  assert.equal(parseView(parse(edited, parse(edited))), expected);
});
