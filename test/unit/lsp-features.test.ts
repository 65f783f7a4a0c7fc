// The LSP feature functions called directly on analyses of inline documents (Prisma-style):
// the parts a real connection cannot reach yet, and the small helpers.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { analyze, type FileHost } from '../../server/src/analysis/analysis';
import { codeLenses } from '../../server/src/lsp/codeLens';
import { completion } from '../../server/src/lsp/completion';
import { hover } from '../../server/src/lsp/hover';
import { grouped, millions, short } from '../../server/src/lsp/numbers';
import { offsetOf, positionOf, rangeOf } from '../../server/src/lsp/positions';
import { rename } from '../../server/src/lsp/rename';

const files: Record<string, string> = {
  '/p/skeleton.mnas': 'model Sk {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n  block b2 { mbconv e6 k3 s2 f16 }\n}\n',
  '/p/space.mnas': 'import "skeleton.mnas"\nspace S from Sk {\n  block b2 { k [3, 5] }\n}\n',
};
const host: FileHost = { read: (f) => files[f] };
const analysisOf = (file: string, text = files[file]) => analyze(file, text, host);
const md = (h: ReturnType<typeof hover>) => (h?.contents as { value: string }).value;

describe('numbers', () => {
  test('grouped, short and millions', () => {
    assert.equal(grouped(3887038), '3,887,038');
    assert.equal(grouped(12n ** 20n), '3,833,759,992,447,475,122,176');
    assert.equal(grouped(-1234), '-1,234');
    assert.equal(short(1668246), '1.67M');
    assert.equal(short(14041693), '14.0M');
    assert.equal(short(27050), '27.1K');
    assert.equal(millions(311579072), '311.6M');
  });
});

describe('positions', () => {
  test('offsets and positions round-trip, CRLF and astral characters included', () => {
    const text = 'a\r\n// 🙂 x\r\nmodel M {}';
    const a = analysisOf('/p/t.mnas', text);
    const at = text.indexOf('model');
    assert.deepEqual(positionOf(a, at), { line: 2, character: 0 });
    assert.equal(offsetOf(a, { line: 2, character: 6 }), at + 6);
    // UTF-16 columns: the emoji counts as two.
    assert.deepEqual(rangeOf(a, { start: text.indexOf('x'), end: text.indexOf('x') + 1 }).start, { line: 1, character: 6 });
  });
});

describe('latency slot', () => {
  test('hover and code lens show cost.latencyMs only once it is defined', () => {
    const a = analysisOf('/p/skeleton.mnas');
    const lensTitle = () => codeLenses(a, { uri: 'file:///p/skeleton.mnas' })[0].command!.title;
    const at = { position: positionOf(a, files['/p/skeleton.mnas'].indexOf('Sk')) };
    assert.doesNotMatch(md(hover(a, at)), /Latency/);
    assert.doesNotMatch(lensTitle(), / ms\b/);
    const entry = a.local.get('Sk')!;
    assert.equal(entry.kind, 'model');
    if (entry.kind === 'model') entry.cost.latencyMs = 12.34;
    assert.match(md(hover(a, at)), /Latency: ~12\.3 ms/);
    assert.match(lensTitle(), /· ~12\.3 ms$/);
  });
});

describe('completion without snippet support', () => {
  test('snippets degrade to plain text with the placeholders filled in', () => {
    const text = 'model M {\n  input 32x32x3\n  \n}\n';
    const a = analysisOf('/p/c.mnas', text);
    const items = completion(a, { position: { line: 2, character: 2 } }, { snippets: false });
    const block = items.find((i) => i.label === 'block')!;
    assert.equal(block.insertText, 'block b1 { mbconv e6 k3 s1 f16 }');
    assert.equal(block.insertTextFormat, 1);
    assert.ok(!items.some((i) => i.label === 'input'), 'input is already given');
  });
});

describe('rename across files', () => {
  test('a block renamed from the space also renames the skeleton file it imports', () => {
    const space = analysisOf('/p/space.mnas');
    const text = files['/p/space.mnas'];
    const r = rename(space, { uri: 'file:///p/space.mnas', position: positionOf(space, text.indexOf('b2')), newName: 'stage2' },
      [{ uri: 'file:///p/space.mnas', analysis: space }],
      { read: (f) => files[f], uriOf: (f) => `file://${f}` });
    assert.ok('ok' in r);
    if (!('ok' in r)) return;
    const changes = r.ok.changes!;
    assert.deepEqual(Object.keys(changes).sort(), ['file:///p/skeleton.mnas', 'file:///p/space.mnas']);
    assert.deepEqual(changes['file:///p/skeleton.mnas'].map((e) => e.range.start), [{ line: 3, character: 8 }]);
    assert.deepEqual(changes['file:///p/space.mnas'].map((e) => e.range.start), [{ line: 2, character: 8 }]);
  });
});

describe('a wrong value is never replaced in a figure', () => {
  const text = 'model W {\n  input 32x32x3\n  block b1 { mbconv e6 k4 s1 f16 }\n  block b2 { mbconv e6 k3 s2 f24 }\n  block b3 { conv k3 s1 f-8 }\n  block b4 { conv k3 f8 }\n}\nspace S from W { block b4 { k [3, 5] } }\n';
  const a = analysisOf('/p/w.mnas', text);
  const hoverAt = (needle: string, delta = 1) => md(hover(a, { position: positionOf(a, text.indexOf(needle) + delta) }));

  test('a block with k4 shows no cost (not k3\'s), and says which field to fix', () => {
    const b1 = hoverAt('b1');
    assert.match(b1, /Block `b1` has an invalid or missing `k` \(see the error\): costs are not shown/);
    assert.doesNotMatch(b1, /Params|k3/);
  });

  test('a block fed by valid blocks keeps its costs, without shares of a model that has errors', () => {
    const b2 = hoverAt('b2 {');
    assert.match(b2, /Params: \*\*\d[\d,]*\*\*/);
    assert.doesNotMatch(b2, /of the model's/);
  });

  test('a block after one whose filters were replaced shows no cost: its input shape is a fallback\'s', () => {
    assert.match(hoverAt('b4'), /Block `b3` has an invalid or missing `f`/);
  });

  test('the model, its code lens, and a space over it show no totals', () => {
    assert.match(hoverAt('W {', 0), /costs are not shown/);
    assert.doesNotMatch(hoverAt('W {', 0), /Params/);
    const lenses = codeLenses(a, { uri: 'file:///p/w.mnas' }).map((l) => l.command!.title);
    assert.deepEqual(lenses, ['4 blocks · costs not shown until the errors are fixed', 'skeleton has errors: figures not shown']);
    assert.match(hoverAt('S from', 0), /Skeleton `W`: Model|Skeleton `W`: Block `b1`/);
    assert.match(hoverAt('[3, 5]', 4), /Skeleton `W`: Block `b3` has an invalid or missing `f`/);
  });
});

describe('diagnostics over mnas.maxProblems', () => {
  test('the first N are listed and one more says how many are not', async () => {
    const { diagnostics } = await import('../../server/src/lsp/diagnostics');
    const text = Array.from({ length: 5 }, (_, i) => `model M${i} { }`).join('\n');
    const a = analysisOf('/p/many.mnas', text);
    const d = diagnostics(a, 3);
    assert.equal(d.length, 4);
    assert.match(d[3].message, new RegExp(`…and ${a.problems.length - 3} more problems not shown \\(setting mnas\\.maxProblems is 3\\)`));
  });
});

describe('work reused across edits', () => {
  test('an edit to one model re-resolves that model only; the others keep their resolution, spans moved', () => {
    const other = 'model Other {\n  input 32x32x3\n  block b1 { conv k4 f8 }\n}\n';
    const before = `model Edited {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n}\n${other}`;
    const after = before.replace('conv k3 f8', 'conv k3 f16 relu6');
    const a1 = analysisOf('/p/reuse.mnas', before);
    const a2 = analysisOf('/p/reuse.mnas', after);
    const model = (a: typeof a1, n: string) => { const e = a.local.get(n); assert.ok(e?.kind === 'model'); return e; };
    assert.equal(model(a2, 'Other').resolved.spec, model(a1, 'Other').resolved.spec, 'Other reused');
    assert.notEqual(model(a2, 'Edited').resolved.spec, model(a1, 'Edited').resolved.spec, 'Edited resolved again');
    assert.equal(model(a2, 'Edited').resolved.spec.blocks[0].f, 16);
    // Other's even-kernel error moved with it.
    const at = a2.problems.find((p) => p.code === 'even-kernel')!;
    assert.equal(after.slice(at.span.start, at.span.end), 'k4');
    assert.equal(after.slice(at.fixes![0].edits[0].span.start, at.fixes![0].edits[0].span.end), 'k4');
  });

  test('the whole-model latency estimate is computed once per analysed model and profile', async () => {
    const { latencyEstimate } = await import('../../server/src/lsp/costMarkdown');
    const { loadProfile } = await import('../../server/src/cost/latency/store');
    const a = analysisOf('/p/skeleton.mnas');
    const e = a.local.get('Sk')!;
    assert.ok(e.kind === 'model');
    const ctx = { profile: loadProfile('pixel1-published') };
    assert.equal(latencyEstimate(ctx, e), latencyEstimate(ctx, e));
  });

  test("the workspace parses an edited document from its last parse: kept declarations are the same nodes, diagnostics those of a fresh analysis", async () => {
    const { TextDocument } = await import('vscode-languageserver-textdocument');
    const { Workspace } = await import('../../server/src/lsp/workspace');
    const { diagnostics } = await import('../../server/src/lsp/diagnostics');
    const uri = 'file:///p/typed.mnas';
    const model = (n: string, k: number) => `model ${n} {\n  input 32x32x3\n  block b1 { conv k${k} f8 }\n}\n`;
    const text = [model('A', 3), model('B', 4), model('C', 3)].join('\n');
    let doc = TextDocument.create(uri, 'mnas', 1, text);
    const workspace = new Workspace({ get: (u) => (u === uri ? doc : undefined), all: () => [doc] });
    const first = workspace.get(uri)!;
    const [a, b, c] = first.parsed.file.models;
    const edited = text.replace('model A {\n  input 32x32x3', 'model A {\n  input 64x64x3\n  width 0.5');
    doc = TextDocument.update(doc, [{ text: edited }], 2);
    workspace.invalidate(workspace.pathOf(uri), uri);
    const second = workspace.get(uri)!;
    assert.notEqual(second.parsed.file.models[0], a);
    assert.equal(second.parsed.file.models[1], b);
    assert.equal(second.parsed.file.models[2], c);
    const fresh = analyze(workspace.pathOf(uri), edited, host);
    assert.deepEqual(diagnostics(second), diagnostics(fresh));
    // B's even kernel, moved down one line with it.
    assert.deepEqual(diagnostics(second).map((d) => [d.code, d.range.start.line]), [['even-kernel', 8]]);
  });

  test('files read from disk are served again while their size and modification time stay the same', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const { DiskFiles } = await import('../../server/src/lsp/workspace');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-disk-'));
    try {
      const file = path.join(dir, 'lib.mnas');
      fs.writeFileSync(file, 'model A { }');
      const disk = new DiskFiles();
      assert.equal(disk.read(file), 'model A { }');
      assert.equal(disk.read(file), 'model A { }');
      assert.equal(disk.reads, 1);
      fs.writeFileSync(file, 'model BB { }');
      assert.equal(disk.read(file), 'model BB { }', 'a changed size is re-read');
      fs.writeFileSync(file, 'model CC { }');
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      assert.equal(disk.read(file), 'model CC { }', 'a changed modification time is re-read');
      disk.forget(file);
      assert.equal(disk.read(file), 'model CC { }');
      assert.equal(disk.reads, 4);
      assert.equal(disk.read(path.join(dir, 'missing.mnas')), undefined);
      assert.equal(disk.read(dir), undefined, 'a directory is not a file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
