// Latency lines from the active device profile (setting `mnas.deviceProfile`) in hover and
// code lens, over the real stdio server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { CodeLens, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { cursor, EXAMPLES, exampleUri, TestClient } from './client';

const A1 = fs.readFileSync(path.join(EXAMPLES, 'mnasnet-a1.mnas'), 'utf8');

/** A calibrated-looking profile: one measured key (A1's stem), a flat fallback for the rest. */
function writeProfile(dir: string): string {
  const file = path.join(dir, 'toy.json');
  const kind = { coef: [0.5, 0, 0, 0, 0, 0], n: 10, rmsePct: 20 };
  fs.writeFileSync(file, JSON.stringify({
    format: 'mnas-device-profile', version: 1, name: 'toy', approximate: false,
    device: { model: 'test cpu', abi: 'x64', cores: 2, governor: 'unknown', runtime: 'test', threads: 1 },
    created: '2026-01-01T00:00:00Z', source: { kind: 'calibrated' },
    table: { 'stem|224x224x3|f32|k3|s2|relu': { ms: 2, n: 20, spread: 0.1 } },
    fallback: { features: ['one', 'denseMAdds', 'dwMAdds', 'params', 'act', 'ops'], kinds: {}, default: kind },
    overhead: { ms: 1, scale: 1 },
    accuracy: { models: 10, rmsePct: 3, within5: 0.9, within10: 1, maxErrorPct: 6 },
  }));
  return file;
}

describe('latency from the device profile', { timeout: 30_000 }, () => {
  let client: TestClient;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-lsp-profile-'));
    client = await TestClient.start({ settings: { hover: { showLayers: false } } });
  });
  after(async () => {
    assert.equal(await client.stop(), 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const hoverText = async (marked: string): Promise<string> => {
    const uri = exampleUri('mnasnet-a1.mnas');
    const c = cursor(marked);
    await client.open(uri, c.text);
    const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position: c.position });
    assert.ok(h);
    return (h.contents as MarkupContent).value;
  };
  const lens = async (): Promise<string> => {
    const uri = exampleUri('mnasnet-a1.mnas');
    await client.open(uri, A1);
    const lenses = await client.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
    return lenses[0].command!.title;
  };

  test('the default profile, pixel1-published, gives A1 its published 78 ms, labelled approximate', async () => {
    const md = await hoverText(A1.replace('model MnasNetA1', 'model Mnas<|>NetA1'));
    assert.match(md, /Latency: \*\*≈ 78\.0 ms\*\* on `pixel1-published` \(±10%; approximate, fitted to published figures\)/);
    assert.match(await lens(), / · ≈ 78\.0 ms \(pixel1-published, approx\.\)$/);
  });

  test('a block shows its latency and its share of the model', async () => {
    const md = await hoverText(A1.replace('block b3', 'block b<|>3'));
    const m = /Latency: \*\*≈ (\d+\.\d+) ms\*\* on `pixel1-published` \(±10%\), (\d+\.\d)% of the model's 78\.0 ms/.exec(md);
    assert.ok(m, md);
    assert.ok(Math.abs((100 * Number(m[1])) / 78 - Number(m[2])) < 0.2);
  });

  test('mnas.deviceProfile as a path: that profile, with its table coverage', async () => {
    const file = writeProfile(dir);
    await client.changeConfiguration({ hover: { showLayers: false }, deviceProfile: file });
    const md = await hoverText(A1.replace('model MnasNetA1', 'model Mnas<|>NetA1'));
    // 1 of 18 units (stem, 16 layers, head) measured; the rest 0.5 ms each from the fallback; +1 ms overhead.
    assert.match(md, /Latency: \*\*≈ 11\.5 ms\*\* on `toy` \(±\d+%; 6% of layers measured, the rest from the fitted fallback\)/);
    assert.match(await lens(), /≈ 11\.5 ms \(toy\)$/);
  });

  test('a relative target shows T in ms on the editor\'s profile: 1.0x MobileNetV2 is the paper\'s 75 ms on pixel1-published', async () => {
    await client.changeConfiguration({ hover: { showLayers: false } });
    const uri = exampleUri('mnas-space.mnas');
    const space = fs.readFileSync(path.join(EXAMPLES, 'mnas-space.mnas'), 'utf8');
    const c = cursor(`${space}\nsearch Paper {\n  space MnasSpace\n  target 1.0<|>x MobileNetV2\n}\n`);
    await client.open(uri, c.text);
    const hoverAt = async (position: typeof c.position) => {
      const h = await client.request<Hover | null>('textDocument/hover', { textDocument: { uri }, position });
      assert.ok(h);
      return (h.contents as MarkupContent).value;
    };
    const md = await hoverAt(c.position);
    assert.match(md, /Target latency T = \*\*1 × latency of `MobileNetV2`\*\* on this search's latency source, measured once when a run starts/);
    const m = /On `pixel1-published`: `MobileNetV2` ≈ (\d+\.\d) ms, so \*\*T ≈ (\d+\.\d) ms\*\*/.exec(md);
    assert.ok(m, md);
    assert.equal(m[1], m[2]);
    assert.ok(Math.abs(Number(m[2]) - 75) <= 1, `MobileNetV2 on pixel1-published: ${m[2]} ms`);
    // On the model name too, and scaled by the factor.
    const half = cursor(`${space}\nsearch Paper {\n  space MnasSpace\n  target 0.5x Mobile<|>NetV2\n}\n`);
    await client.open(uri, half.text);
    const md2 = await hoverAt(half.position);
    const m2 = /≈ (\d+\.\d) ms, so \*\*T ≈ (\d+\.\d+) ms\*\*/.exec(md2);
    assert.ok(m2, md2);
    assert.ok(Math.abs(Number(m2[2]) - Number(m2[1]) / 2) < 0.1);
    // A name that is not a model: said in the hover (the diagnostic has the suggestion).
    const bad = cursor(`${space}\nsearch Paper {\n  space MnasSpace\n  target 1.0<|>x MobileNetV3\n}\n`);
    await client.open(uri, bad.text);
    assert.match(await hoverAt(bad.position), /No model `MobileNetV3` is declared or imported here/);
  });

  test('an unknown profile is reported in hover, without breaking it', async () => {
    await client.changeConfiguration({ hover: { showLayers: false }, deviceProfile: 'no-such-phone' });
    const md = await hoverText(A1.replace('model MnasNetA1', 'model Mnas<|>NetA1'));
    assert.match(md, /Params: \*\*3,887,038\*\*/);
    assert.match(md, /Latency: Device profile `no-such-phone` not found/);
    assert.doesNotMatch(await lens(), /≈/);
    await client.changeConfiguration({ hover: { showLayers: false } });
  });
});
