import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CodeAction, Diagnostic } from 'vscode-languageserver-protocol';
import { cursors, EXAMPLES, exampleUri, TestClient } from './client';

// Three independent errors; `<|>` pairs mark each expected range.
const THREE_ERRORS = `model M {
  input 32x32x3
  block b1 { mbconv e6 <|>k4<|> s1 f16 }
}
space S from <|>Mx<|> {
  block * { k [3, 5] }
}
search Q {
  space S
  target <|>5<|>
}
`;

const rangeOf = (d: Diagnostic) => [d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character];

describe('pull diagnostics', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start({ pull: true }); });
  after(async () => assert.equal(await client.stop(), 0));

  test('the server announces pull diagnostics to a client that supports them', () => {
    assert.ok(client.init.capabilities.diagnosticProvider);
  });

  test('three separate errors give exactly three diagnostics with exact ranges', async () => {
    const { text, positions } = cursors(THREE_ERRORS);
    const uri = 'file:///virtual/three.mnas';
    await client.open(uri, text);
    const ds = await client.pull(uri);
    assert.deepEqual(ds.map((d) => d.code), ['even-kernel', 'unknown-name', 'target-units']);
    const expected = [0, 2, 4].map((i) => [positions[i].line, positions[i].character, positions[i + 1].line, positions[i + 1].character]);
    assert.deepEqual(ds.map(rangeOf), expected);
    assert.ok(ds.every((d) => d.source === 'mnas' && d.severity === 1));
    assert.match(ds[1].message, /Did you mean `M`\?/);
  });

  test('quick fixes come back as code actions, the preferred one marked', async () => {
    const { text, positions } = cursors(THREE_ERRORS);
    const uri = 'file:///virtual/three.mnas';
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri }, range: { start: positions[0], end: positions[1] }, context: { diagnostics: [] },
    });
    assert.deepEqual(actions.map((a) => a.title), ['Change to k5', 'Change to k3']);
    assert.equal(actions[0].isPreferred, true);
    const edit = actions[0].edit!.changes![uri][0];
    assert.deepEqual(edit.range, { start: positions[0], end: positions[1] });
    assert.equal(edit.newText, 'k5');
    void text;
  });

  test('the examples are clean', async () => {
    for (const name of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.mnas'))) {
      const uri = exampleUri(name);
      await client.open(uri, fs.readFileSync(path.join(EXAMPLES, name), 'utf8'));
      assert.deepEqual(await client.pull(uri), [], name);
    }
  });

  test('a change to an open imported file refreshes its importers', async () => {
    const base = 'file:///virtual/imports/';
    await client.open(`${base}skeleton.mnas`, 'model Sk {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n}\n');
    await client.open(`${base}space.mnas`, 'import "skeleton.mnas"\nspace S from Sk {\n  block b1 { k [3, 5] }\n}\n');
    assert.deepEqual(await client.pull(`${base}space.mnas`), []);
    const seen = client.refreshes;
    await client.change(`${base}skeleton.mnas`, 'model Renamed {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n}\n');
    await client.refreshAfter(seen);
    const ds = await client.pull(`${base}space.mnas`);
    assert.deepEqual(ds.map((d) => d.code), ['unknown-name']);
    assert.match(ds[0].message, /Unknown model `Sk`/);
  });

  test('syntax errors are reported where the fix goes, and later declarations still analyse', async () => {
    const uri = 'file:///virtual/broken.mnas';
    await client.open(uri, 'model M {\n  input 32x32x3\n  block b1 { mbconv e6 k3 s1 f16\n}\nmodel N {\n  input 32x32x3\n  block b1 { conv k4 f8 }\n}\n');
    const ds = await client.pull(uri);
    assert.ok(ds.some((d) => d.code === 'syntax'), JSON.stringify(ds));
    assert.ok(ds.some((d) => d.code === 'even-kernel' && d.range.start.line === 6));
  });

  test('a key repeated in a dataset block: one diagnostic on the repeat, and its quick fix removes it', async () => {
    const { text, positions } = cursors(`model M {
  input 32x32x3
  block b1 { mbconv e6 k3 s1 f16 }
}
space S from M {
  block * { k [3, 5] }
}
search Q {
  space S
  target 75ms
  dataset mnist { train 4000 <|>train 2000<|> test 100 }
}
`);
    const uri = 'file:///virtual/repeated.mnas';
    await client.open(uri, text);
    const ds = await client.pull(uri);
    assert.deepEqual(ds.map((d) => d.code), ['repeated-field']);
    assert.deepEqual(rangeOf(ds[0]), [positions[0].line, positions[0].character, positions[1].line, positions[1].character]);
    assert.equal(ds[0].message, '`train` is set twice in `dataset`: the first (`train 4000`) counts. Remove this one.');
    const actions = await client.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri }, range: ds[0].range, context: { diagnostics: ds },
    });
    assert.deepEqual(actions.map((a) => [a.title, a.isPreferred]), [["Remove the second 'train'", true]]);
    const [edit] = actions[0].edit!.changes![uri];
    assert.deepEqual(edit, { range: ds[0].range, newText: '' });
    const lines = text.split('\n');
    const line = lines[edit.range.start.line];
    lines[edit.range.start.line] = line.slice(0, edit.range.start.character) + line.slice(edit.range.end.character);
    await client.change(uri, lines.join('\n'));
    assert.deepEqual(await client.pull(uri), []);
  });
});

describe('push diagnostics (client without pull support)', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start({ pull: false }); });
  after(async () => assert.equal(await client.stop(), 0));

  test('the server pushes on open and on change', async () => {
    assert.equal(client.init.capabilities.diagnosticProvider, undefined);
    const uri = 'file:///virtual/push.mnas';
    const { text } = cursors(THREE_ERRORS);
    let next = client.nextDiagnostics(uri);
    await client.open(uri, text);
    assert.equal((await next).length, 3);
    next = client.nextDiagnostics(uri);
    await client.change(uri, text.replace('k4', 'k5').replace('Mx', 'M').replace('target 5', 'target 5ms'));
    assert.deepEqual(await next, []);
  });

  test('an importer is re-pushed when the file it imports changes', async () => {
    const base = 'file:///virtual/push-imports/';
    let next = client.nextDiagnostics(`${base}space.mnas`);
    await client.open(`${base}skeleton.mnas`, 'model Sk {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n}\n');
    await client.open(`${base}space.mnas`, 'import "skeleton.mnas"\nspace S from Sk {\n  block b1 { k [3, 5] }\n}\n');
    assert.deepEqual(await next, []);
    next = client.nextDiagnostics(`${base}space.mnas`);
    await client.change(`${base}skeleton.mnas`, 'model Other {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n}\n');
    assert.deepEqual((await next).map((d) => d.code), ['unknown-name']);
  });

  test('a burst of edits is published once, for the last version; every publish carries its version', async () => {
    const uri = 'file:///virtual/burst.mnas';
    const base = 'model M {\n  input 32x32x3\n  block b1 { mbconv e6 k3 s1 f16 }\n}\n';
    const first = client.nextDiagnostics(uri);
    await client.open(uri, base);
    await first;
    const before = client.publishes(uri).length;
    assert.equal(client.publishes(uri)[before - 1].version, 1);
    // 40 edits sent back to back, as fast typing does; the last one leaves an even kernel.
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 40; i++) sends.push(client.change(uri, base.replace('f16', `f${16 + i}`).replace('k3', i === 39 ? 'k4' : 'k3')));
    await Promise.all(sends);
    const last = client.versionOf(uri)!;
    const final = await client.diagnosticsOfVersion(uri, last);
    assert.deepEqual(final.diagnostics.map((d) => d.code), ['even-kernel']);
    const burst = client.publishes(uri).slice(before);
    // One publish when the burst is processed at once; a loaded machine may split it, never into one per edit.
    assert.ok(burst.length <= 3, `${burst.length} publishes for 40 edits`);
    assert.ok(burst.every((p, i) => typeof p.version === 'number' && (i === 0 || p.version > burst[i - 1].version!)), JSON.stringify(burst.map((p) => p.version)));
    assert.equal(burst[burst.length - 1].version, last);
  });

  test('closing a document clears its diagnostics', async () => {
    const uri = 'file:///virtual/push.mnas';
    const next = client.nextDiagnostics(uri);
    await client.close(uri);
    assert.deepEqual(await next, []);
  });

  test('an untitled document analyses; its imports resolve against the workspace folder', async () => {
    const uri = 'untitled:Untitled-1';
    const next = client.nextDiagnostics(uri);
    await client.open(uri, 'import "mobilenetv2.mnas"\nimport "missing.mnas"\nspace S from MobileNetV2 {\n  block * { k [3, 5] }\n}\n');
    const ds = await next;
    assert.deepEqual(ds.map((d) => d.code), ['import-not-found']);
    assert.equal(ds[0].range.start.line, 1);
  });
});
