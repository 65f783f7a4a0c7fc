import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { IToken } from 'chevrotain';
import { checkGrammar, parse } from '../../server/src/language/parser';
import { checkedLexer, mnasLexer } from '../../server/src/language/tokens';
import { marked } from '../helpers/marked';

test('the lexer and the grammar pass chevrotain\'s definition checks (skipped when the server loads them)', () => {
  // ensureOptimizations: a token whose first characters chevrotain cannot tell makes every
  // character try every pattern; this fails instead.
  assert.doesNotThrow(() => checkedLexer());
  assert.doesNotThrow(() => checkGrammar());
});

test('the lexer makes the tokens a plain chevrotain lexer makes, field by field, in a shape of their own', () => {
  // mnasLexer builds its tokens itself (see tokens.ts); chevrotain's own lexer is the reference.
  const text = [...fs.readdirSync('examples').filter((f) => f.endsWith('.mnas')).map((f) => fs.readFileSync(`examples/${f}`, 'utf8')),
    '/* a\r\n comment */ model M { input 32x32x3\r block b { conv k3 f8 } } "open\n@ /* open'].join('\n');
  const fields = (t: IToken) => ({ ...t });
  const ours = mnasLexer.tokenize(text);
  const theirs = checkedLexer().tokenize(text);
  assert.ok(ours.tokens.length > 500, `${ours.tokens.length} tokens`);
  assert.deepEqual(ours.tokens.map(fields), theirs.tokens.map(fields));
  assert.deepEqual(ours.groups, theirs.groups);
  assert.deepEqual(ours.errors, theirs.errors);
  assert.notDeepEqual(Object.keys(ours.tokens[0]), Object.keys(theirs.tokens[0]), 'another property order: another object shape');
});

test('parses every example without syntax errors', () => {
  for (const f of fs.readdirSync('examples')) {
    const r = parse(fs.readFileSync(`examples/${f}`, 'utf8'));
    assert.deepEqual(r.problems, [], f);
    assert.ok(r.file.decls.length > 0, f);
  }
});

test('a block keeps each field with its exact span', () => {
  const src = 'model M { input 32x32x3 block b3 { mbconv e3 k5 s2 f40 x3 se 0.25 skip pool swish } }';
  const m = parse(src).file.models[0];
  const b = m.blocks[0];
  assert.equal(b.name.value, 'b3');
  assert.deepEqual([b.spec.op?.value, b.spec.e?.value, b.spec.k?.value, b.spec.s?.value, b.spec.f?.value, b.spec.x?.value, b.spec.se?.value, b.spec.skip?.value, b.spec.act?.value],
    ['mbconv', 3, 5, 2, 40, 3, 0.25, 'pool', 'swish']);
  assert.equal(src.slice(b.spec.k!.span.start, b.spec.k!.span.end), 'k5');
  assert.equal(src.slice(b.spec.se!.span.start, b.spec.se!.span.end), '0.25');
  assert.deepEqual(m.input?.value, { h: 32, w: 32, c: 3 });
});

test('names may be keywords or field-like words', () => {
  const r = parse('model pool { input 8x8x1 block k3 { conv k3 f8 } block s2 { conv f8 } }');
  assert.deepEqual(r.problems, []);
  assert.equal(r.file.models[0].name.value, 'pool');
  assert.deepEqual(r.file.models[0].blocks.map((b) => b.name.value), ['k3', 's2']);
});

test('space choices keep their mode and values', () => {
  const r = parse('space S from M { block * { k [3, 5] } block b2 { op [conv, mbconv] f * [0.75, 1.0, 1.25] x + [-1, 0, 1] } }');
  assert.deepEqual(r.problems, []);
  const s = r.file.spaces[0];
  assert.equal(s.from?.value, 'M');
  assert.equal(s.blocks[0].name.value, '*');
  const [op, f, x] = s.blocks[1].choices;
  assert.deepEqual(op.values.map((v) => v.value), ['conv', 'mbconv']);
  assert.equal(f.mode?.value, '*');
  assert.deepEqual(f.values.map((v) => v.value), [0.75, 1, 1.25]);
  assert.equal(x.mode?.value, '+');
  assert.deepEqual(x.values.map((v) => v.value), [-1, 0, 1]);
});

test('search settings end at the end of their line', () => {
  const r = parse('search Q {\n  space S\n  target 75ms\n  latency adb "emulator 5554"\n  budget { children 8 epochs 1 }\n  reward alpha -0.07 beta -0.1\n}');
  assert.deepEqual(r.problems, []);
  const s = r.file.searches[0].settings;
  assert.deepEqual(s.map((x) => x.key.value), ['space', 'target', 'latency', 'budget', 'reward']);
  assert.deepEqual(s[1].values[0], { value: 75, unit: 'ms', type: 'quantity', raw: '75ms', span: s[1].values[0].span });
  assert.equal(s[2].values[1].value, 'emulator 5554');
  assert.deepEqual(s[3].children?.map((c) => [c.key.value, c.values.map((v) => v.value)]), [['children', [8, 'epochs', 1]]]);
  assert.deepEqual(s[4].values.map((v) => v.value), ['alpha', -0.07, 'beta', -0.1]);
});

test('imports and comments', () => {
  const r = parse('// header\nimport "a b.mnas" # trailing\n/* block\ncomment */ model M { input 8x8x1 }');
  assert.deepEqual(r.problems, []);
  assert.equal(r.file.imports[0].path.value, 'a b.mnas');
  assert.equal(r.comments.length, 3);
});

test('three separate errors give three diagnostics, and parsing goes on', () => {
  const { text, spans } = marked(`model A {
  input 32x32x3
  block b1 { mbconv e6 k3 s2 f24 x2 ⟦q⟧ }
  block b2 { mbconv e6 k3 s2 f24 x2⟦⟧
  block b3 { mbconv e6 k3 s1 f24 ⟦]⟧ }
}
model B { input 32x32x3 block c1 { conv f8 } }
`);
  const r = parse(text);
  assert.deepEqual(r.problems.map((p) => p.span), spans);
  assert.deepEqual(r.file.models.map((m) => [m.name.value, m.blocks.map((b) => b.name.value)]), [['A', ['b1', 'b2', 'b3']], ['B', ['c1']]]);
  assert.match(r.problems[1].message, /Expected '\}'/);
});

test('a missing brace costs one declaration, not the rest of the file', () => {
  const r = parse('model A {\n  input 8x8x1\n  block b1 { conv f8 }\n\nmodel B {\n  input 8x8x1\n}\n');
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0].span.start, r.problems[0].span.end, 'zero-width');
  assert.deepEqual(r.file.models.map((m) => m.name.value), ['A', 'B']);
});

test('stray top-level text is reported once and skipped', () => {
  const { text, spans } = marked('⟦hello world⟧\nmodel M { input 8x8x1 block b { conv f8 } }');
  const r = parse(text);
  assert.deepEqual(r.problems.map((p) => p.span), spans);
  assert.match(r.problems[0].message, /top level/);
  assert.equal(r.file.models.length, 1);
});

test('an unknown character is a lexer error naming it', () => {
  const { text, spans } = marked('model M { input 8x8x1 ⟦$⟧ }');
  const r = parse(text);
  assert.deepEqual(r.problems.map((p) => p.span), spans);
  assert.match(r.problems[0].message, /Unexpected character '\$'/);
});

test('a number glued to letters is not split into a shorter number', () => {
  for (const src of ['model M { input 224x224x3x }', 'search Q { target 75msx }']) {
    const r = parse(src);
    assert.ok(r.problems.length > 0, src);
    assert.ok(!r.tokens.some((t) => t.image === '22' || t.image === '7'), src);
  }
});

test('editing one declaration keeps the others, with their spans moved', () => {
  const a = 'model A { input 8x8x1 block b { conv f8 } }\nmodel B { input 8x8x1 block c { conv f16 } }\n';
  const first = parse(a);
  const b = a.replace('block b {', 'block bb {');
  const second = parse(b);
  const m = second.file.models[1];
  assert.equal(b.slice(m.name.span.start, m.name.span.end), 'B');
  assert.equal(b.slice(m.blocks[0].spec.f!.span.start, m.blocks[0].spec.f!.span.end), 'f16');
  assert.equal(m.name.span.start, first.file.models[1].name.span.start + 1);
  // The copy handed out is not the cached one: mutating it changes nothing next time.
  m.blocks.length = 0;
  assert.equal(parse(b).file.models[1].blocks.length, 1);
});

test('with the previous parse, an edit re-lexes and re-parses only the declaration it touches', () => {
  const decl = (name: string, f: number) => `model ${name} {\n  input 8x8x1\n  block b { conv f${f} }\n}\n`;
  const text = ['A', 'B', 'C', 'D'].map((n, i) => decl(n, 8 * (i + 1))).join('\n');
  const first = parse(text);
  const [a, b, c, d] = first.file.models;
  const tokenOfD = first.tokens.find((t) => t.image === 'D')!;
  const edited = text.replace('conv f16', 'conv f160'); // in B, one character longer
  const second = parse(edited, first);
  // A and C, D are the same nodes (C and D moved one character in place); only B is new.
  assert.equal(second.file.models[0], a);
  assert.notEqual(second.file.models[1], b);
  assert.equal(second.file.models[2], c);
  assert.equal(second.file.models[3], d);
  assert.ok(second.tokens.includes(tokenOfD));
  assert.equal(edited.slice(d.name.span.start, d.name.span.end), 'D');
  assert.equal(tokenOfD.startOffset, edited.indexOf('model D') + 'model '.length);
  assert.equal(JSON.stringify({ file: second.file, problems: second.problems }), JSON.stringify({ file: parse(edited).file, problems: parse(edited).problems }));
});
