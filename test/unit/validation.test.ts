import { test } from 'node:test';
import assert from 'node:assert/strict';
import { marked } from '../helpers/marked';
import { analyzeFiles, analyzeText } from '../helpers/analyze';

/** Expects exactly the marked spans, each with the given code (in order). */
function expectProblems(src: string, codes: string[], files: Record<string, string> = {}) {
  const { text, spans } = marked(src);
  const a = analyzeFiles({ ...files, 'main.mnas': text });
  const got = a.problems.map((p) => ({ code: p.code, at: text.slice(p.span.start, p.span.end), span: p.span }));
  assert.deepEqual(got.map((g) => g.code), codes, JSON.stringify(got, null, 1));
  assert.deepEqual(got.map((g) => g.span), spans, JSON.stringify(got, null, 1));
  return a.problems;
}

const M = (body: string) => `model M {\n  input 32x32x3\n  stem conv k3 s2 f16\n${body}\n  head conv f64 classes 10\n}\n`;

test('valid model: no problems', () => {
  assert.deepEqual(analyzeText(M('  block b1 { mbconv e6 k3 s1 f16 x2 se 0.25 }')).problems, []);
});

test('unknown skeleton, with a did-you-mean fix', () => {
  const p = expectProblems(`${M('  block b1 { conv f8 }')}space S from ⟦N⟧ { }`, ['unknown-name']);
  assert.match(p[0].message, /Did you mean `M`/);
  assert.equal(p[0].fixes?.[0].edits[0].newText, 'M');
});

test('duplicate names: declarations and blocks', () => {
  expectProblems(`${M('  block b1 { conv f8 }\n  block ⟦b1⟧ { conv f8 }')}model ⟦M⟧ { input 8x8x1 block c { conv f8 } }`, ['duplicate-name', 'duplicate-name']);
});

test('missing required fields: input, op, filters, expansion, blocks', () => {
  expectProblems('model ⟦A⟧ { block b { conv f8 } }', ['missing-input']);
  expectProblems(M('  block ⟦b1⟧ { k3 f8 }'), ['missing-op']);
  expectProblems(M('  block ⟦b1⟧ { conv k3 }'), ['missing-filters']);
  expectProblems(M('  block b1 { ⟦mbconv⟧ k3 f8 }'), ['missing-expansion']);
  expectProblems('model ⟦A⟧ { input 8x8x1 }', ['no-blocks']);
});

test('missing input offers a quick fix that inserts it', () => {
  const { text } = marked('model A { block b { conv f8 } }');
  const p = analyzeText(text).problems[0];
  const edit = p.fixes![0].edits[0];
  const fixed = text.slice(0, edit.span.start) + edit.newText + text.slice(edit.span.end);
  assert.deepEqual(analyzeText(fixed).problems, []);
});

test('kernel must be odd, with both neighbours offered', () => {
  const p = expectProblems(M('  block b1 { conv ⟦k4⟧ f8 }'), ['even-kernel']);
  assert.deepEqual(p[0].fixes?.map((f) => f.edits[0].newText), ['k5', 'k3']);
});

test('expansion on a non-mbconv op', () => {
  expectProblems(M('  block b1 { sepconv ⟦e6⟧ k3 f8 }'), ['expansion-not-mbconv']);
});

test('a stride larger than the feature map is accepted: same padding gives 1x1', () => {
  // 'same' padding: a stride larger than the map gives ceil(H / s) = 1, never less.
  expectProblems('model A { input 4x4x1 block b1 { conv s2 f8 } block b2 { conv s2 f8 } block b3 { conv s2 f8 } }', []);
  expectProblems('model A { input 1x1 block b1 { conv k3 s2 f8 } }', []);
});

test('multipliers and factors must be > 0', () => {
  expectProblems(`model A { input 8x8x1 width ⟦0⟧ depth ⟦-1⟧ block b { conv f8 } }`, ['bad-multiplier', 'bad-multiplier']);
  expectProblems(`${M('  block b1 { conv f8 }')}space S from M { block b1 { f * [⟦0⟧, 1.0] } }`, ['bad-choice']);
});

test('filters that round to 0', () => {
  expectProblems(`model A { input 8x8x1 block b { conv f2 } }\nspace S from A { block b { f * ⟦[0.1, 1.0]⟧ } }`, ['filters-round-to-zero']);
});

test('skip identity that cannot apply to any layer', () => {
  const p = expectProblems(M('  block b1 { mbconv e6 k3 s2 f24 x1 skip ⟦identity⟧ }'), ['skip-identity-shape']);
  assert.match(p[0].message, /16x16x16 -> 8x8x24/);
  // With two layers the second one takes the identity residual: fine.
  assert.deepEqual(analyzeText(M('  block b1 { mbconv e6 k3 s2 f24 x2 skip identity }')).problems, []);
});

test('choice lists: empty, duplicates, wrong values, wrong mode', () => {
  const sp = (body: string) => `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { ${body} } }`;
  expectProblems(sp('k ⟦[]⟧'), ['empty-choice']);
  expectProblems(sp('k [3, 5, ⟦5⟧]'), ['duplicate-choice']);
  expectProblems(sp('k [3, ⟦4⟧]'), ['bad-choice']);
  const p = expectProblems(sp('op [conv, ⟦mbconvv⟧]'), ['bad-choice']);
  assert.match(p[0].message, /Did you mean `mbconv`/);
  expectProblems(sp('⟦f⟧ [0.5, 1.0]'), ['choice-mode']);
  expectProblems(sp('x ⟦*⟧ [0, 1]'), ['choice-mode']);
  expectProblems(sp('k ⟦+⟧ [3, 5]'), ['choice-mode']);
});

test('space: unknown block, layers below one, expansion on a never-mbconv block', () => {
  const base = M('  block b1 { sepconv k3 s1 f16 x1 }');
  expectProblems(`${base}space S from M { block ⟦b9⟧ { k [3, 5] } }`, ['unknown-block']);
  expectProblems(`${base}space S from M { block b1 { x + ⟦[-1, 0]⟧ } }`, ['layers-below-one']);
  expectProblems(`${base}space S from M { block b1 { ⟦e [3, 6]⟧ } }`, ['expansion-not-mbconv']);
  assert.deepEqual(analyzeText(`${base}space S from M { block b1 { op [sepconv, mbconv] e [3, 6] } }`).problems, []);
});

test('warnings: factor collisions and spaces over 10^30', () => {
  const p = expectProblems(`model A { input 8x8x1 block b { conv f2 } }\nspace S from A { block b { f * ⟦[0.75, 1.0]⟧ } }`, ['factor-collision']);
  assert.equal(p[0].severity, 'warning');
  const blocks = Array.from({ length: 12 }, (_, i) => `block b${i} { mbconv e6 k3 s1 f16 x2 }`).join('\n');
  const big = expectProblems(`model A { input 8x8x1 ${blocks} }\nspace ⟦S⟧ from A { block * { op [conv, sepconv, mbconv] e [3, 6] k [3, 5] se [0, 0.25] skip [identity, pool, none] f * [0.75, 1.0, 1.25] x + [-1, 0, 1] } }`, ['space-too-large']);
  assert.equal(big[0].severity, 'warning');
});

test('imports: found, missing, cycles', () => {
  const lib = 'model Lib { input 8x8x1 block b { conv f8 } }';
  assert.deepEqual(analyzeFiles({ 'lib.mnas': lib, 'main.mnas': 'import "lib.mnas"\nspace S from Lib { block b { k [3, 5] } }' }).problems, []);
  expectProblems('import ⟦"nope.mnas"⟧', ['import-not-found']);
  const p = expectProblems('import ⟦"a.mnas"⟧\nmodel M { input 8x8x1 block b { conv f8 } }', ['import-cycle'], {
    'a.mnas': 'import "b.mnas"', 'b.mnas': 'import "main.mnas"',
  });
  assert.match(p[0].message, /main\.mnas -> a\.mnas -> b\.mnas -> main\.mnas/);
});

test('search: units, missing space, unknown settings', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const p = expectProblems(`${space}search Q {\n  space S\n  target ⟦75⟧\n}`, ['target-units']);
  assert.equal(p[0].fixes?.[0].edits[0].newText, '75ms');
  expectProblems(`${space}search Q {\n  space ⟦Nope⟧\n  target 75ms\n}`, ['unknown-name']);
  expectProblems(`${space}search Q {\n  space ⟦M⟧\n  target 75ms\n}`, ['wrong-kind']);
  expectProblems(`${space}search ⟦Q⟧ {\n  target 75ms\n}`, ['missing-space']);
  const u = expectProblems(`${space}search Q {\n  space S\n  target 75ms\n  ⟦budgte⟧ { children 4 }\n}`, ['unknown-setting']);
  assert.match(u[0].message, /Did you mean `budget`/);
  expectProblems(`${space}search Q {\n  space S\n  target 75ms\n  budget { ⟦child⟧ 4 }\n}`, ['unknown-setting']);
  expectProblems(`${space}search Q {\n  space S\n  target 75ms\n  dataset ⟦cifar⟧\n}`, ['unknown-dataset']);
});

test('search config: defaults, presets and units', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const a = analyzeText(`${space}search Q {\n  space S\n  target 0.5s\n  reward hard\n  max params 2.5M\n  latency adb "R58M 12"\n  budget { children 16 epochs 2 }\n  controller { lr 0.001 }\n}`);
  assert.deepEqual(a.problems, []);
  const e = a.local.get('Q');
  assert.ok(e?.kind === 'search');
  const c = e.resolution.config!;
  assert.deepEqual(c.target, { kind: 'ms', ms: 500 });
  assert.deepEqual(c.reward, { preset: 'hard', alpha: 0, beta: -1 });
  assert.equal(c.constraints.maxParams, 2.5e6);
  assert.deepEqual(c.latency, { kind: 'adb', serial: 'R58M 12' });
  assert.deepEqual(c.budget, { children: 16, epochs: 2, batch: 64 });
  assert.equal(c.controller.lr, 0.001);
  assert.equal(c.controller.clip, 0.2);
});

test('repeated fields in a block are reported on the repeat', () => {
  expectProblems(M('  block b1 { conv k3 f8 ⟦k5⟧ }'), ['repeated-field']);
});

test('the analysis cache sees an edit two imports away', async () => {
  const { AnalysisCache, analyze } = await import('../../server/src/analysis/analysis');
  const files: Record<string, string> = {
    'main.mnas': 'import "b.mnas"\nspace S from C { block b { k [3, 5] } }',
    'b.mnas': 'import "c.mnas"',
    'c.mnas': 'model C { input 8x8x1 block b { conv f8 } }',
  };
  const host = { read: (f: string) => files[f.replace('/v/', '')] };
  const cache = new AnalysisCache();
  assert.deepEqual(analyze('/v/main.mnas', files['main.mnas'], host, cache).problems, []);
  files['c.mnas'] = 'model D { input 8x8x1 block b { conv f8 } }';
  const again = analyze('/v/main.mnas', files['main.mnas'], host, cache);
  assert.deepEqual(again.problems.map((p) => p.code), ['unknown-name']);
});

test('search dataset: mnist, fashion-mnist, folder "path", cifar10 "path" and idx "path" forms resolve into the config', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const cfg = (d: string) => {
    const a = analyzeText(`${space}search Q {\n  space S\n  target 75ms\n  ${d}\n}`);
    assert.deepEqual(a.problems, []);
    const e = a.local.get('Q');
    assert.ok(e?.kind === 'search');
    return e.resolution.config!.dataset;
  };
  assert.deepEqual({ ...cfg('dataset mnist { train 4000  test 1000 }') }, { name: 'mnist', train: 4000, test: 1000, resolution: undefined, width: undefined });
  assert.deepEqual({ ...cfg('dataset folder "path/to/images" { train 800  test 200  resolution 32  channels 3 }') },
    { name: 'folder', path: 'path/to/images', train: 800, test: 200, resolution: 32, width: undefined, channels: 3 });
  // The path is kept as written (the engine resolves it against the .mnas file's folder).
  assert.deepEqual({ ...cfg('dataset cifar10 "../data/cifar-10-batches-bin" { train 5000 test 1000 }') },
    { name: 'cifar10', path: '../data/cifar-10-batches-bin', train: 5000, test: 1000, resolution: undefined, width: undefined });
  assert.equal(cfg('dataset cifar10 "c" { channels 1 }').channels, 1);
  assert.deepEqual([cfg('dataset folder "imgs"').train, cfg('dataset folder "imgs"').test], [4000, 1000], 'defaults');
  assert.deepEqual([cfg('dataset folder "imgs" train 80 test 20').train, cfg('dataset folder "imgs" train 80 test 20').test], [80, 20], 'inline form');
  assert.equal(cfg('dataset cifar10 "c" { train 50000  test 10000 }').train, 50000, 'the whole of CIFAR-10 fits');
  assert.deepEqual({ ...cfg('dataset fashion-mnist { train 8000  test 2000 }') }, { name: 'fashion-mnist', train: 8000, test: 2000, resolution: undefined, width: undefined });
  assert.equal(cfg('dataset fashion-mnist { train 60000  test 10000 }').train, 60000, 'the whole of Fashion-MNIST fits');
  assert.deepEqual({ ...cfg('dataset idx "data/mnist" { train 500  test 100 }') }, { name: 'idx', path: 'data/mnist', train: 500, test: 100, resolution: undefined, width: undefined });
  assert.equal(cfg('dataset idx "d" { channels 1 }').channels, 1);
});

test('search dataset errors: paths, channels, sizes', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const ds = (d: string, codes: string[]) => expectProblems(`${space}search Q {\n  space S\n  target 75ms\n  ${d}\n}`, codes);
  let p = ds('dataset ⟦folder⟧ { train 800  test 200 }', ['missing-dataset-path']);
  assert.match(p[0].message, /`dataset folder` needs a folder with one subfolder .* per class, in quotes/);
  p = ds('dataset ⟦cifar10⟧ { train 800 }', ['missing-dataset-path']);
  assert.match(p[0].message, /data_batch_1\.bin/);
  p = ds('dataset folder ⟦images⟧ { train 800 }', ['missing-dataset-path']);
  assert.equal(p[0].fixes?.[0].edits[0].newText, '"images"');
  ds('dataset folder ⟦""⟧ { train 8 }', ['bad-value']);
  p = ds('dataset mnist ⟦"digits"⟧ { train 8 }', ['bad-setting']);
  assert.match(p[0].message, /built in and takes no path/);
  p = ds('dataset folder "i" { channels ⟦2⟧ }', ['bad-value']);
  assert.match(p[0].message, /1 \(luminance\) or 3 \(RGB\)/);
  ds('dataset mnist { channels ⟦3⟧ }', ['bad-value']);
  ds('dataset folder "i" { resolution ⟦2000⟧ }', ['bad-value']);
  ds('dataset folder "i" { resolution ⟦0⟧ }', ['bad-value']);
  p = ds('dataset cifar10 "c" { train ⟦50001⟧  test 1000 }', ['bad-value']);
  assert.match(p[0].message, /50000 training images/);
  p = ds('dataset cifar10 "c" { train 100  test ⟦10001⟧ }', ['bad-value']);
  assert.match(p[0].message, /10000 test images/);
  ds('dataset mnist { train 9000  test ⟦1001⟧ }', ['bad-value']);
  p = ds('dataset folder "i" { ⟦chanels⟧ 3 }', ['unknown-setting']);
  assert.match(p[0].message, /Did you mean `channels`/);
  p = ds('dataset ⟦idx⟧ { train 800 }', ['missing-dataset-path']);
  assert.match(p[0].message, /`dataset idx` needs the folder holding the four MNIST-format IDX files \(train-images-idx3-ubyte, .*\.gz or not\)/);
  p = ds('dataset fashion-mnist ⟦"/usr/share/datasets/fashion-mnist"⟧', ['bad-setting']);
  assert.match(p[0].message, /`fashion-mnist` is built in and takes no path/);
  p = ds('dataset fashion-mnist { channels ⟦3⟧ }', ['bad-value']);
  assert.match(p[0].message, /`fashion-mnist` is greyscale/);
  ds('dataset idx "d" { channels ⟦3⟧ }', ['bad-value']);
  p = ds('dataset fashion-mnist { train ⟦60001⟧ }', ['bad-value']);
  assert.match(p[0].message, /60000 training images/);
  ds('dataset fashion-mnist { test ⟦10001⟧ }', ['bad-value']);
  p = ds('dataset ⟦fashion_mnist⟧', ['unknown-dataset']);
  assert.match(p[0].message, /Did you mean `fashion-mnist`/);
  p = ds('dataset ⟦cifar100⟧ "c"', ['unknown-dataset']);
  assert.match(p[0].message, /Did you mean `cifar10`/);
  ds('dataset ⟦"imgs"⟧', ['bad-setting']);
});

test('multipliers cannot scale a checked value past its limit: depth over 256 layers, width over 65536 filters', () => {
  const deep = expectProblems('model A { input 8x8x1 depth ⟦16⟧ block b1 { conv f8 x16 } block b2 { conv f8 x17 } }', ['too-large']);
  assert.match(deep[0].message, /Depth 16 gives block `b2` 272 layers, over the limit of 256/);
  const wide = expectProblems('model A { input 8x8x1 width ⟦2⟧ stem conv k3 f40000 block b1 { conv f8 } }', ['too-large']);
  assert.match(wide[0].message, /Width 2 gives the stem 80000 filters/);
  // A space's deltas and factors count the skeleton's multipliers too.
  const sp = expectProblems('model A { input 8x8x1 depth 2 block b1 { conv f8 x100 } }\nspace S from A { block b1 { x + ⟦[0, 29]⟧ } }', ['too-large']);
  assert.match(sp[0].message, /more than 256 layers \(after the depth multiplier 2\) with delta 29/);
});

/** Applies a problem's preferred (or first) quick fix to `text`. */
function applyFix(text: string, p: { fixes?: { preferred?: boolean; edits: { span: { start: number; end: number }; newText: string }[] }[] }): string {
  const fix = p.fixes?.find((f) => f.preferred) ?? p.fixes?.[0];
  assert.ok(fix, 'a quick fix');
  let out = text;
  for (const e of [...fix.edits].sort((a, b) => b.span.start - a.span.start)) out = out.slice(0, e.span.start) + e.newText + out.slice(e.span.end);
  return out;
}

test('a typo inside a block is one error at the typo, with a quick fix; the block and its fields stay', () => {
  const cases: [string, string, RegExp][] = [
    ['⟦mbconvv⟧ e6 k3 s1 f16 x1', 'unknown-field', /`mbconvv` is not a block field\. Did you mean `mbconv`\?/],
    ['mbconv e6 ⟦k 3⟧ s1 f16 x1', 'field-form', /Write `k3`/],
    ['mbconv e6 k3 s1 f16 x1 ⟦se0.25⟧', 'field-form', /Write `se 0\.25`/],
    ['⟦op mbconv⟧ e6 k3 s1 f16 x1', 'field-form', /the op stands alone: write `mbconv`/],
    ['mbconv e6 k3 s1 ⟦f-8⟧ x1', 'bad-value', /Filters must be a whole number >= 1, got -8/],
    ['mbconv e6 k3 ⟦swsh⟧ s1 f16 x1', 'unknown-field', /Did you mean `swish`\?/],
    ['mbconv e6 k3 s1 ⟦16⟧ x1', 'unknown-field', /A number on its own in a block/],
  ];
  for (const [fields, code, message] of cases) {
    const src = `model M {\n  input 32x32x3\n  block b1 { ${fields} }\n  block b2 { mbconv e6 k3 s2 f24 x2 }\n}\n`;
    const [p] = expectProblems(src, [code]);
    assert.match(p.message, message);
    const a = analyzeText(marked(src).text);
    const m = a.local.get('M');
    assert.ok(m?.kind === 'model');
    assert.deepEqual(m.node.blocks.map((b) => b.name.value), ['b1', 'b2'], fields);
    // The fields around the typo are kept.
    assert.equal(m.node.blocks[0].spec.x?.value, 1);
    assert.equal(m.node.blocks[0].spec.s?.value, 1);
    if (code !== 'bad-value' && !fields.includes('⟦16⟧')) {
      const fixed = applyFix(a.text, p);
      assert.deepEqual(analyzeText(fixed).problems.filter((q) => q.severity === 'error').map((q) => q.message), [], fixed);
    }
  }
  // Outside braces the grammar is unchanged: an unbraced stem ends at a word it does not know.
  const codes = analyzeText('model M { input 8x8x1 stem conv k3 f8\n  blk b1 { conv f8 } }').problems.map((q) => q.code);
  assert.ok(codes.includes('syntax') && !codes.includes('unknown-field'), codes.join());
});

test('a model counting more than 2^53 mult-adds is a clear error, never a rounded figure', () => {
  const [p] = expectProblems('model ⟦Huge⟧ { input 8192x8192x4096 stem conv k31 s1 f65536 block b1 { conv k1 f8 } }', ['too-large']);
  assert.match(p.message, /over 2\^53 \(9,007,199,254,740,991\), where counts stop being exact/);
});

test('lexing: a BOM is whitespace; an unterminated comment or string says where it opened; control characters never raw; binary data is a short list', () => {
  assert.deepEqual(analyzeText('\uFEFFmodel M { input 8x8x1 block b1 { conv f8 } }').problems, []);
  const [c] = expectProblems('model M { input 8x8x1 block b1 { conv f8 } }\n⟦/*⟧ notes', ['unterminated']);
  assert.match(c.message, /Unterminated comment: the `\/\*` at line 2, column 1 has no closing `\*\/`/);
  const [s] = expectProblems('import ⟦"⟧lib.mnas\nmodel M { input 8x8x1 block b1 { conv f8 } }', ['unterminated']);
  assert.match(s.message, /Unterminated string: the `"` at line 1, column 8/);
  const [nul] = expectProblems('model M { input 8x8x1 block b1 { conv f8 } }⟦\u0000⟧', ['lex']);
  assert.match(nul.message, /'\\u\{0000\}'/);
  assert.ok(!/[\u0000-\u001f]/.test(nul.message));
  const binary = Array.from({ length: 20000 }, (_, i) => String.fromCharCode((i * 7919) % 256)).join('');
  const a = analyzeText(binary);
  assert.ok(a.problems.length <= 101, `${a.problems.length} problems`);
  assert.ok(a.problems.every((p) => !/[\u0000-\u001f\u007f-\u009f]/.test(p.message)));
  assert.ok(a.problems.map((p) => p.message).join('\n').length < 20_000);
  assert.ok(a.problems.some((p) => /…and \d+ more/.test(p.message)), 'says how many more');
});

test('importing a directory says it is a directory', async () => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { analyze, diskHost } = await import('../../server/src/analysis/analysis');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-dir-'));
  try {
    fs.mkdirSync(path.join(dir, 'lib'));
    const a = analyze(path.join(dir, 'main.mnas'), 'import "lib"\n', diskHost);
    assert.deepEqual(a.problems.map((p) => p.code), ['import-not-file']);
    assert.match(a.problems[0].message, /`lib` is a directory, not a file/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('relative target: `target 0.8x MODEL` names a model, measured when the run starts', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const a = analyzeText(`${space}search Q {\n  space S\n  target 0.8x M\n}`);
  assert.deepEqual(a.problems, []);
  const e = a.local.get('Q');
  assert.ok(e?.kind === 'search');
  assert.deepEqual(e.resolution.config!.target, { kind: 'relative', factor: 0.8, model: 'M' });
  // An imported model counts too.
  const imported = analyzeFiles({ 'main.mnas': `import "m.mnas"\nspace S from M { block b1 { k [3, 5] } }\nsearch Q {\n  space S\n  target 1.0x M\n}`, 'm.mnas': M('  block b1 { mbconv e6 k3 s1 f16 x2 }') });
  assert.deepEqual(imported.problems, []);
});

test('relative target: unknown or wrong-kind names, a missing x, a missing model, a bad factor', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const unknown = expectProblems(`${space}search Q {\n  space S\n  target 0.8x ⟦N⟧\n}`, ['unknown-name']);
  assert.match(unknown[0].message, /Unknown model `N`\. Did you mean `M`\?/);
  assert.equal(unknown[0].fixes?.[0].edits[0].newText, 'M');
  const kind = expectProblems(`${space}search Q {\n  space S\n  target 0.8x ⟦S⟧\n}`, ['wrong-kind']);
  assert.match(kind[0].message, /`S` is a space; a relative target names a model/);
  const noX = expectProblems(`${space}search Q {\n  space S\n  target ⟦0.8⟧ M\n}`, ['target-units']);
  assert.equal(noX[0].fixes?.[0].edits[0].newText, '0.8x');
  const noModel = expectProblems(`${space}search Q {\n  space S\n  target ⟦0.8x⟧\n}`, ['bad-setting']);
  assert.match(noModel[0].message, /needs the model it is relative to: `target 0.8x MobileNetV2`/);
  expectProblems(`${space}search Q {\n  space S\n  target ⟦0x⟧ M\n}`, ['bad-value']);
  // An absolute target stays as it was.
  const a = analyzeText(`${space}search Q {\n  space S\n  target 75ms\n}`);
  const e = a.local.get('Q');
  assert.ok(e?.kind === 'search');
  assert.deepEqual(e.resolution.config!.target, { kind: 'ms', ms: 75 });
});

test('a key repeated in a search block is reported on the whole repeat, the first counts, and the fix removes the repeat', () => {
  const space = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] } }\n`;
  const search = (body: string) => `${space}search Q {\n  space S\n  target 75ms\n${body}\n}`;
  const cases: { body: string; key: string; first: string; check: (c: NonNullable<ReturnType<typeof config>>) => void }[] = [
    { body: '  dataset mnist { train 4000 ⟦train 2000⟧ test 100 }', key: 'train', first: 'train 4000', check: (c) => assert.equal(c.dataset.train, 4000) },
    { body: '  dataset fashion-mnist {\n    train 4000\n    test 500\n    ⟦test 900⟧\n  }', key: 'test', first: 'test 500', check: (c) => assert.equal(c.dataset.test, 500) },
    { body: '  budget children 3 { ⟦children 4⟧ epochs 2 }', key: 'children', first: 'children 3', check: (c) => assert.equal(c.budget.children, 3) },
    { body: '  controller {\n    lr 0.01\n    clip 0.1 ⟦lr 0.5⟧\n  }', key: 'lr', first: 'lr 0.01', check: (c) => assert.equal(c.controller.lr, 0.01) },
    { body: '  max params 5M\n  max madds 300M\n  ⟦max params 6M⟧', key: 'max params', first: 'max params 5M', check: (c) => assert.equal(c.constraints.maxParams, 5e6) },
    { body: '  seed 3\n  controller { lr 0.01 ⟦seed 4⟧ }', key: 'seed', first: 'seed 3', check: (c) => assert.equal(c.seed, 3) },
    { body: '  controller { seed 4 }\n  ⟦seed 3⟧', key: 'seed', first: 'seed 4', check: (c) => assert.equal(c.seed, 4) },
    { body: '  budget { children 4 }\n  ⟦budget { epochs 2 }⟧', key: 'budget', first: 'budget', check: (c) => assert.equal(c.budget.epochs, 1) },
  ];
  function config(text: string) {
    const e = analyzeText(text).local.get('Q');
    return e?.kind === 'search' ? e.resolution.config : undefined;
  }
  for (const { body, key, first, check } of cases) {
    const src = search(body);
    const [p] = expectProblems(src, ['repeated-field']);
    assert.ok(p.message.startsWith(`\`${key}\` is set twice`), p.message);
    assert.ok(p.message.includes(`the first (\`${first}`), p.message);
    const { text } = marked(src);
    check(config(text)!);
    assert.equal(p.fixes?.length, 1);
    assert.deepEqual(p.fixes![0].edits.map((e) => e.span), [p.span], 'the fix removes exactly the repeat');
    const fixed = applyFix(text, p);
    assert.deepEqual(analyzeText(fixed).problems, [], fixed);
    check(config(fixed)!);
  }
});

test('a field repeated in a model, its head or a block is reported on the whole repeat, and the fix leaves valid text', () => {
  const cases = [
    'model A {\n  input 32x32x3\n  ⟦input 64⟧\n  block b { conv f8 }\n}',
    'model A {\n  input 32x32x3\n  act relu ⟦act swish⟧\n  block b { conv f8 }\n}',
    'model A {\n  input 32x32x3\n  block b { mbconv e6 se 0.25 k3 ⟦se 0.5⟧ f8 }\n}',
    'model A {\n  input 32x32x3\n  block b { conv skip none f8 ⟦skip pool⟧ }\n}',
    'model A {\n  input 32x32x3\n  block b { conv f8 }\n  head conv f64 dropout 0.2 ⟦dropout 0.3⟧ ⟦conv f32⟧\n}',
    'model A {\n  input 32x32x3\n  stem conv k3 s2 f16\n  ⟦stem conv k5 f8⟧\n  block b { conv f8 }\n}',
  ];
  for (const src of cases) {
    const { text, spans } = marked(src);
    const ps = expectProblems(src, spans.map(() => 'repeated-field'));
    let fixed = text;
    for (const p of [...ps].reverse()) {
      assert.match(p.message, /twice .*: the first counts\. Remove this one\./, p.message);
      assert.deepEqual(p.fixes![0].edits.map((e) => e.span), [p.span]);
      fixed = applyFix(fixed, p);
    }
    assert.deepEqual(analyzeText(fixed).problems, [], fixed);
  }
});

test('a field chosen twice in a space block is reported on the whole repeat, with a fix', () => {
  const src = `${M('  block b1 { mbconv e6 k3 s1 f16 x2 }')}space S from M { block b1 { k [3, 5] ⟦k [7]⟧ } }\n`;
  const [p] = expectProblems(src, ['repeated-field']);
  assert.match(p.message, /`k` is chosen twice in this block: the first \(`k \[3, 5\]`\) counts\. Remove this one\./);
  const { text } = marked(src);
  assert.deepEqual(analyzeText(applyFix(text, p)).problems, []);
});
