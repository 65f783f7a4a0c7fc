import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { cursor, EXAMPLES, exampleUri, TestClient } from './client';

const A1 = fs.readFileSync(path.join(EXAMPLES, 'mnasnet-a1.mnas'), 'utf8');

describe('hover over a real connection', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start({ settings: { hover: { showLayers: true } } }); });
  after(async () => assert.equal(await client.stop(), 0));

  const hoverAt = async (uri: string, marked: string): Promise<string> => {
    const c = cursor(marked);
    await client.open(uri, c.text);
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: c.position });
    assert.ok(h, `no hover at ${JSON.stringify(c.position)}`);
    return (h.contents as MarkupContent).value;
  };

  test('a block name shows its shape, exact cost, share and layers', async () => {
    const md = await hoverAt(exampleUri('mnasnet-a1.mnas'), A1.replace('block b3', 'block b<|>3'));
    assert.match(md, /56x56x24 -> 28x28x40/);
    assert.match(md, /Params: \*\*39,098\*\*/);
    assert.match(md, /Mult-adds: \*\*28,850,592\*\*/);
    assert.match(md, /of the model's 3,887,038/);
    assert.match(md, /\d+\.\d%/);
    // Three layers, the first without a residual (it changes the shape), SE on each.
    assert.match(md, /1\. `56x56x24 -> 28x28x40`, no residual/);
    assert.match(md, /3\. `28x28x40 -> 28x28x40`, identity residual/);
    assert.match(md, /SE 72->6->72/);
    // The default device profile (pixel1-published) adds the block's latency and its share.
    assert.match(md, /Latency: \*\*≈ \d+\.\d+ ms\*\* on `pixel1-published` \(±10%\), \d+\.\d% of the model's 78\.0 ms \(approximate, fitted to published figures\)/);
  });
});

describe('hover on models, spaces, choices, settings and keywords', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start({ settings: { hover: { showLayers: false } } }); });
  after(async () => assert.equal(await client.stop(), 0));

  const hoverText = async (uri: string, marked: string): Promise<string | null> => {
    const c = cursor(marked);
    await client.open(uri, c.text);
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: c.position });
    return h && (h.contents as MarkupContent).value;
  };
  const example = (name: string) => fs.readFileSync(path.join(EXAMPLES, name), 'utf8');

  test('the mnas.hover.showLayers setting hides the layer list', async () => {
    const md = await hoverText(exampleUri('mnasnet-a1.mnas'), A1.replace('block b3', 'block <|>b3'));
    assert.match(md!, /56x56x24 -> 28x28x40/);
    assert.doesNotMatch(md!, /Layers/);
  });

  test('settings are read again after didChangeConfiguration', async () => {
    const marked = A1.replace('block b3', 'block <|>b3');
    assert.doesNotMatch((await hoverText(exampleUri('mnasnet-a1.mnas'), marked))!, /Layers/);
    await client.changeConfiguration({ hover: { showLayers: true } });
    assert.match((await hoverText(exampleUri('mnasnet-a1.mnas'), marked))!, /\*\*Layers\*\*/);
    await client.changeConfiguration({ hover: { showLayers: false } });
  });

  test('a model name shows totals', async () => {
    const md = await hoverText(exampleUri('mnasnet-a1.mnas'), A1.replace('model MnasNetA1', 'model Mnas<|>NetA1'));
    assert.match(md!, /Params: \*\*3,887,038\*\*/);
    assert.match(md!, /Mult-adds: \*\*311,579,072\*\*/);
    assert.match(md!, /224x224x3 -> 1x1x1000/);
    assert.match(md!, /7 blocks \/ 16 layers/);
  });

  test('a space name shows its size and cost ranges', async () => {
    const text = example('mnas-space.mnas').replace('space MnasSpace', 'space <|>MnasSpace');
    const md = await hoverText(exampleUri('mnas-space.mnas'), text);
    assert.match(md!, /~10\^18\.1/);
    assert.match(md!, /\| params \| 1,668,246 \| 14,041,693 \|/);
    assert.match(md!, /- b1: 288/);
  });

  test('a choice value shows the block under each alternative, the hovered one marked', async () => {
    const text = example('search-quickstart.mnas').replace('block b2 { x + [-1, 0, 1] }', 'block b2 { x + [-1, 0, <|>1] }');
    const md = await hoverText(exampleUri('search-quickstart.mnas'), text);
    assert.match(md!, /\| x \+ -1 \(x1\) \| `28x28x16 -> 14x14x24` \| 5,136 \|/);
    assert.match(md!, /\| x \+ 0 \(x2\) \| `28x28x16 -> 14x14x24` \| 13,968 \|/);
    assert.match(md!, /\*\*▶ x \+ 1 \(x3\)\*\*/);
  });

  test('a choice under `block *` shows the whole model per value', async () => {
    const text = example('mnas-space.mnas').replace('k [3, 5]', 'k [3, <|>5]');
    const md = await hoverText(exampleUri('mnas-space.mnas'), text);
    assert.match(md!, /\| k3 \| 3,504,872 \| 300,774,272 \|/);
    assert.match(md!, /\*\*▶ k5\*\*/);
  });

  test('search settings show their help, and target its value in ms', async () => {
    const uri = 'file:///virtual/search.mnas';
    const base = 'search Q {\n  space S\n  <|>target 0.5s\n}\n';
    assert.match((await hoverText(uri, base))!, /Target latency T: a time .*or a factor of a model's latency/);
    assert.match((await hoverText(uri, base.replace('<|>target 0.5s', 'target <|>0.5s')))!, /\*\*500 ms\*\*/);
    assert.match((await hoverText(uri, 'search Q {\n  budget {\n    <|>children 4\n  }\n}\n'))!, /Child models to sample/);
    // A dataset name: what it is and where it comes from.
    assert.match((await hoverText(uri, 'search Q {\n  dataset fashion-<|>mnist { train 4000 }\n}\n'))!, /`fashion-mnist`: Fashion-MNIST: 60,000 \+ 10,000 .*dataset-fashion-mnist/);
    assert.match((await hoverText(uri, 'search Q {\n  dataset <|>idx "data/mnist"\n}\n'))!, /`idx`: Any MNIST-format data/);
  });

  test('keywords and fields get a short doc', async () => {
    const uri = exampleUri('mnasnet-a1.mnas');
    assert.match((await hoverText(uri, A1.replace('f40 x3', 'f40 x<|>3')))!, /repeats its layer 3 times/);
    assert.match((await hoverText(uri, A1.replace('b2 { mbconv', 'b2 { mb<|>conv')))!, /inverted bottleneck/);
    assert.match((await hoverText(uri, A1.replace('b1 { sepconv k3 s1 f16 x1 skip', 'b1 { sepconv k3 s1 f16 x1 sk<|>ip')))!, /residual shortcut/);
  });

  test('the value of `input` shows the shape and what the model costs at it', async () => {
    const md = await hoverText(exampleUri('mnasnet-a1.mnas'), A1.replace('input 224x224x3', 'input 224x<|>224x3'));
    assert.match(md!, /\*\*input 224x224x3\*\*: height 224, width 224, 3 channels/);
    assert.match(md!, /150,528 values per image/);
    assert.match(md!, /costs \*\*311,579,072\*\* mult-adds \(311\.6M\)/);
    assert.match(md!, /Feature maps: 224x224x3 -> 112x112x32 \(stem\) -> 7x7x320 \(b7\) -> 1x1x1000 \(output\)/);
  });

  test('a position that is not whole numbers is refused with InvalidParams, and the server lives on', async () => {
    const uri = exampleUri('mnasnet-a1.mnas');
    await client.open(uri, A1);
    for (const position of [{ line: 1.5, character: 0 }, { line: 0, character: -1 }, { line: '1', character: 0 }]) {
      await assert.rejects(client.request('textDocument/hover', { textDocument: { uri }, position }), (e: { code: number; message: string }) => {
        assert.equal(e.code, -32602);
        assert.match(e.message, /whole numbers/);
        return true;
      });
    }
    await assert.rejects(client.request('textDocument/completion', { textDocument: { uri }, position: { line: 2.5, character: 1 } }), { code: -32602 });
    assert.ok(await client.request('textDocument/hover', { textDocument: { uri }, position: { line: 1, character: 8 } }) !== undefined);
  });

  test('a refused layer delta is never built: the hover says it is not valid, at once', async () => {
    const uri = 'file:///virtual/big-delta.mnas';
    const text = example('search-quickstart.mnas').replace('block b2 { x + [-1, 0, 1] }', 'block b2 { x + [-1, 0, <|>10000000] }');
    const md = await hoverText(uri, text);
    assert.match(md!, /\*\*▶ x \+ 10000000\*\* \| not valid: Layer delta 10000000 must be a whole number within \+-256/);
    assert.match(md!, /\| x \+ 0 \(x2\) \| `28x28x16 -> 14x14x24` \| 13,968 \|/);
  });

  test('nothing to say on whitespace or inside a comment', async () => {
    assert.equal(await hoverText('file:///virtual/empty.mnas', '// a <|>comment\n\n'), null);
  });
});
