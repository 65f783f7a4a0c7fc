import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodeLens, CompletionItem, CompletionList, DocumentSymbol, Location, SemanticTokens } from 'vscode-languageserver-protocol';
import { cursor, EXAMPLES, exampleUri, TestClient } from './client';

const read = (name: string) => fs.readFileSync(path.join(EXAMPLES, name), 'utf8');

describe('completion, outline, semantic tokens, definition, code lens', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start(); });
  after(async () => assert.equal(await client.stop(), 0));

  const complete = async (marked: string, uri = 'file:///virtual/complete.mnas'): Promise<string[]> => {
    const c = cursor(marked);
    await client.open(uri, c.text);
    const r = await client.request<CompletionItem[] | CompletionList | null>('textDocument/completion', { textDocument: { uri }, position: c.position });
    const items = Array.isArray(r) ? r : r?.items ?? [];
    return items.map((i) => i.label);
  };

  test('inside a block: ops, fields and activations', async () => {
    const labels = await complete('model M {\n  input 32x32x3\n  block b1 { <|> }\n}\n');
    for (const l of ['mbconv', 'sepconv', 'conv', 'k3', 's2', 'e6', 'f', 'x', 'se 0.25', 'relu6']) assert.ok(labels.includes(l), `${l} in ${labels}`);
    assert.ok(!labels.includes('model'));
  });

  test('after `skip`: the legal skip ops only', async () => {
    assert.deepEqual(await complete('model M {\n  block b1 { mbconv e6 skip <|> }\n}\n'), ['identity', 'pool', 'none']);
  });

  test('top level: declaration keywords', async () => {
    assert.deepEqual(await complete('<|>'), ['model', 'space', 'search', 'import']);
  });

  test('after `from` and after a search\'s `space`: visible models and spaces (imports included)', async () => {
    const uri = exampleUri('scratch-completion.mnas');
    const models = await complete('import "mobilenetv2.mnas"\nmodel Local { input 32x32x3 block b1 { conv f8 } }\nspace S from <|>', uri);
    assert.deepEqual(models.sort(), ['Local', 'MobileNetV2']);
    const spaces = await complete('import "mnas-space.mnas"\nsearch Q {\n  space <|>\n}\n', uri);
    assert.deepEqual(spaces, ['MnasSpace']);
  });

  test('inside a space: the skeleton\'s blocks; inside a space block: choice snippets', async () => {
    const uri = exampleUri('scratch-completion.mnas');
    const blocks = await complete('import "mobilenetv2.mnas"\nspace S from MobileNetV2 {\n  block <|>\n}\n', uri);
    assert.deepEqual(blocks, ['*', 'b1', 'b2', 'b3', 'b4', 'b5', 'b6', 'b7']);
    const choices = await complete('import "mobilenetv2.mnas"\nspace S from MobileNetV2 {\n  block b2 {\n    k [3, 5]\n    <|>\n  }\n}\n', uri);
    assert.ok(choices.includes('f * [0.75, 1.0, 1.25]') && choices.includes('x + [-1, 0, 1]'), String(choices));
    assert.ok(!choices.includes('k [3, 5]'), 'k is already chosen');
    assert.deepEqual(await complete('space S from M {\n  block * { op [conv, <|>] }\n}\n'), ['conv', 'sepconv', 'mbconv']);
  });

  test('inside a search and its blocks: the setting keys', async () => {
    const keys = await complete('search Q {\n  space S\n  <|>\n}\n');
    assert.ok(keys.includes('target') && keys.includes('budget') && !keys.includes('space'), String(keys));
    assert.deepEqual(await complete('search Q {\n  budget {\n    epochs 1\n    <|>\n  }\n}\n'), ['children', 'batch']);
  });

  test('after `dataset`: every dataset, each with its doc', async () => {
    const c = cursor('search Q {\n  dataset <|>\n}\n');
    const uri = 'file:///virtual/complete-dataset.mnas';
    await client.open(uri, c.text);
    const r = await client.request<CompletionItem[] | CompletionList | null>('textDocument/completion', { textDocument: { uri }, position: c.position });
    const items = Array.isArray(r) ? r : r?.items ?? [];
    assert.deepEqual(items.map((i) => i.label), ['mnist', 'fashion-mnist', 'folder', 'cifar10', 'idx']);
    const doc = (l: string) => JSON.stringify(items.find((i) => i.label === l)?.documentation);
    assert.match(doc('fashion-mnist'), /Debian package dataset-fashion-mnist \(`sudo apt-get install dataset-fashion-mnist`\)/);
    assert.match(doc('idx'), /MNIST-format data/);
  });

  test('document symbols: models with blocks, spaces with blocks, searches with settings', async () => {
    const uri = exampleUri('search-quickstart.mnas');
    await client.open(uri, read('search-quickstart.mnas'));
    const symbols = await client.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri } });
    assert.deepEqual(symbols.map((s) => s.name), ['Tiny', 'TinySpace', 'Quickstart']);
    assert.deepEqual(symbols[0].children!.map((s) => s.name), ['stem', 'b1', 'b2', 'b3', 'b4', 'head']);
    assert.deepEqual(symbols[1].children!.map((s) => s.name), ['block *', 'block b2', 'block b3']);
    assert.ok(symbols[2].children!.some((s) => s.name === 'budget' && s.children!.map((c) => c.name).join() === 'children,epochs,batch'));
    // The name (selectionRange) of the model: line 3, `Tiny` after `model `.
    assert.deepEqual(symbols[0].selectionRange, { start: { line: 3, character: 6 }, end: { line: 3, character: 10 } });
    assert.equal(symbols[0].range.start.line, 3);
    assert.equal(symbols[0].range.end.line, 12);
  });

  test('semantic tokens classify names by meaning', async () => {
    const uri = 'file:///virtual/tokens.mnas';
    const text = 'model M {\n  block b1 { mbconv e6 k3 }\n}\n// note\nsearch Q {\n  space S\n}\n';
    await client.open(uri, text);
    const legend = client.init.capabilities.semanticTokensProvider!.legend;
    const r = await client.request<SemanticTokens>('textDocument/semanticTokens/full', { textDocument: { uri } });
    // Decode the relative encoding back to (line, char, length, type).
    const decoded: string[] = [];
    let line = 0, char = 0;
    for (let i = 0; i < r.data.length; i += 5) {
      line += r.data[i];
      char = r.data[i] === 0 ? char + r.data[i + 1] : r.data[i + 1];
      const image = text.split('\n')[line].slice(char, char + r.data[i + 2]);
      decoded.push(`${image}:${legend.tokenTypes[r.data[i + 3]]}`);
    }
    assert.deepEqual(decoded, [
      'model:keyword', 'M:type', 'block:keyword', 'b1:function', 'mbconv:enumMember', 'e6:number', 'k3:number',
      '// note:comment', 'search:keyword', 'Q:type', 'space:property', 'S:type',
    ]);
  });

  test('definition: `from`, a search\'s `space`, a space block, and an import', async () => {
    const uri = exampleUri('mnas-space.mnas');
    const text = read('mnas-space.mnas');
    const at = async (marked: string) => {
      const c = cursor(marked);
      await client.open(uri, c.text);
      return client.request<Location | null>('textDocument/definition', { textDocument: { uri }, position: c.position });
    };
    const skeleton = exampleUri('mobilenetv2.mnas');
    const from = await at(text.replace('from MobileNetV2', 'from Mobile<|>NetV2'));
    assert.deepEqual(from, { uri: skeleton, range: { start: { line: 2, character: 6 }, end: { line: 2, character: 17 } } });
    const block = await at(text.replace('block b7', 'block b<|>7'));
    assert.deepEqual(block, { uri: skeleton, range: { start: { line: 12, character: 8 }, end: { line: 12, character: 10 } } });
    const imp = await at(text.replace('"mobilenetv2.mnas"', '"mobile<|>netv2.mnas"'));
    assert.equal(imp!.uri, skeleton);
    const q = cursor(read('search-quickstart.mnas').replace('  space TinySpace\n', '  space Tiny<|>Space\n'));
    const quri = exampleUri('search-quickstart.mnas');
    await client.open(quri, q.text);
    const sp = await client.request<Location>('textDocument/definition', { textDocument: { uri: quri }, position: q.position });
    assert.deepEqual(sp, { uri: quri, range: { start: { line: 14, character: 6 }, end: { line: 14, character: 15 } } });
  });

  test('code lenses: cost above models and spaces, Run Search above searches', async () => {
    const a1 = exampleUri('mnasnet-a1.mnas');
    await client.open(a1, read('mnasnet-a1.mnas'));
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: a1 } });
    assert.deepEqual(lenses.map((l) => l.command!.title), ['3,887,038 params · 311.6M mult-adds · 7 blocks / 16 layers · ≈ 78.0 ms (pixel1-published, approx.)']);
    assert.equal(lenses[0].range.start.line, 2);

    const space = exampleUri('mnas-space.mnas');
    await client.open(space, read('mnas-space.mnas'));
    const sl = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: space } });
    assert.deepEqual(sl.map((l) => l.command!.title), ['~10^18.1 models · params 1.67M–14.0M']);

    const q = exampleUri('search-quickstart.mnas');
    await client.open(q, read('search-quickstart.mnas'));
    const ql = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: q } });
    const run = ql.find((l) => l.command!.command === 'mnas.runSearch')!;
    assert.deepEqual(run.command!.arguments, [q, 'Quickstart']);
    assert.equal(run.range.start.line, read('search-quickstart.mnas').split('\n').findIndex((l) => l.startsWith('search Quickstart')));
  });
});
