import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Range, TextEdit, WorkspaceEdit } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { cursor, EXAMPLES, exampleUri, TestClient } from './client';

const MESSY = `// a model
model   M
{
input 32x32x3   // the input
    block b1 {conv k3 f8}


  block b2
  {
     mbconv e6 k3 s2 f16 x2
  }
}
space S from M {
block * { k [ 3 ,5 ] f * [0.75,1.0] }
}
`;

const apply = (text: string, edits: TextEdit[]) => TextDocument.applyEdits(TextDocument.create('x', 'mnas', 0, text), edits);

describe('formatting and rename', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start(); });
  after(async () => assert.equal(await client.stop(), 0));

  const formatting = (uri: string) => client.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } });

  test('formatting lays the file out and is idempotent', async () => {
    const uri = 'file:///virtual/messy.mnas';
    await client.open(uri, MESSY);
    const edits = await formatting(uri);
    assert.equal(edits.length, 1);
    const once = apply(MESSY, edits);
    assert.equal(once, `// a model
model M {
  input 32x32x3 // the input
  block b1 { conv k3 f8 }

  block b2 {
    mbconv e6 k3 s2 f16 x2
  }
}
space S from M {
  block * { k [3, 5] f * [0.75, 1.0] }
}
`);
    await client.change(uri, once);
    assert.deepEqual(await formatting(uri), []);
  });

  test('formatting leaves a file with syntax errors alone', async () => {
    const uri = 'file:///virtual/unformattable.mnas';
    await client.open(uri, 'model   M {\n  block b1 { conv k3 f8\n');
    assert.deepEqual(await formatting(uri), []);
  });

  const DOC = 'model M {\n  input 32x32x3\n  block b1 { conv k3 f8 }\n}\nspace S from M {\n  block b1 { k [3, 5] }\n}\nsearch Q {\n  space S\n  target 5ms\n}\n';
  const renameAt = async (uri: string, marked: string, newName: string) => {
    const c = cursor(marked);
    await client.open(uri, c.text);
    const edit = await client.request<WorkspaceEdit>('textDocument/rename', { textDocument: { uri }, position: c.position, newName });
    return { text: c.text, edit };
  };

  test('renaming a model updates its `from` references', async () => {
    const uri = 'file:///virtual/rename.mnas';
    const { text, edit } = await renameAt(uri, DOC.replace('space S from M', 'space S from <|>M'), 'Net');
    assert.equal(apply(text, edit.changes![uri]), DOC.replace('model M', 'model Net').replace('from M', 'from Net'));
  });

  test('renaming a block from a space renames it in the skeleton too', async () => {
    const uri = 'file:///virtual/rename.mnas';
    const { text, edit } = await renameAt(uri, DOC.replace('block b1 { k', 'block b<|>1 { k'), 'stage1');
    assert.equal(apply(text, edit.changes![uri]), DOC.replaceAll('block b1', 'block stage1'));
  });

  test('renaming a space updates the search', async () => {
    const uri = 'file:///virtual/rename.mnas';
    const { text, edit } = await renameAt(uri, DOC.replace('space S from', 'space <|>S from'), 'Space2');
    assert.equal(apply(text, edit.changes![uri]), DOC.replace('space S from', 'space Space2 from').replace('  space S\n', '  space Space2\n'));
  });

  test('a rename through an import edits the imported file as well', async () => {
    const uri = exampleUri('mnas-space.mnas');
    const marked = fs.readFileSync(path.join(EXAMPLES, 'mnas-space.mnas'), 'utf8').replace('from MobileNetV2', 'from <|>MobileNetV2');
    const { edit } = await renameAt(uri, marked, 'MBv2');
    const skeleton = exampleUri('mobilenetv2.mnas');
    assert.deepEqual(Object.keys(edit.changes!).sort(), [uri, skeleton].sort());
    assert.deepEqual(edit.changes![skeleton], [{ range: { start: { line: 2, character: 6 }, end: { line: 2, character: 17 } }, newText: 'MBv2' }]);
  });

  test('prepareRename gives the name\'s range and refuses keywords', async () => {
    const uri = 'file:///virtual/rename.mnas';
    const c = cursor(DOC.replace('model M', 'model <|>M'));
    await client.open(uri, c.text);
    const r = await client.request<{ range: Range; placeholder: string }>('textDocument/prepareRename', { textDocument: { uri }, position: c.position });
    assert.deepEqual(r, { range: { start: { line: 0, character: 6 }, end: { line: 0, character: 7 } }, placeholder: 'M' });
    const k = cursor(DOC.replace('{ conv', '{ co<|>nv'));
    await client.open(uri, k.text);
    await assert.rejects(client.request('textDocument/prepareRename', { textDocument: { uri }, position: k.position }), /`conv` is a keyword/);
  });

  test('rename refuses keywords, invalid names and names already taken', async () => {
    const uri = 'file:///virtual/rename.mnas';
    const c = cursor(DOC.replace('model M', 'model <|>M'));
    await client.open(uri, c.text);
    const rename = (newName: string) => client.request('textDocument/rename', { textDocument: { uri }, position: c.position, newName });
    await assert.rejects(rename('mbconv'), /is a keyword/);
    await assert.rejects(rename('9lives'), /not a valid name/);
    await assert.rejects(rename('S'), /already declared/);
  });
});

describe('robustness', { timeout: 30_000 }, () => {
  let client: TestClient;
  before(async () => { client = await TestClient.start(); });
  after(async () => assert.equal(await client.stop(), 0));

  test('requests on unknown documents and on garbage answer empty, and the server keeps serving', async () => {
    const none = { textDocument: { uri: 'file:///virtual/never-opened.mnas' }, position: { line: 0, character: 0 } };
    assert.equal(await client.request('textDocument/hover', none), null);
    assert.deepEqual(await client.request('textDocument/completion', none), []);
    const uri = 'file:///virtual/garbage.mnas';
    const garbage = 'model { block { [ ] } } } space from { block * { k [ , , ] f * } search { budget { { } @@@ "unterminated\n';
    await client.open(uri, garbage);
    for (let line = 0; line < 2; line++) {
      for (let character = 0; character < 100; character += 7) {
        const at = { textDocument: { uri }, position: { line, character } };
        await client.request('textDocument/hover', at);
        await client.request('textDocument/completion', at);
        await client.request('textDocument/definition', at);
      }
    }
    for (const method of ['textDocument/documentSymbol', 'textDocument/semanticTokens/full', 'textDocument/codeLens', 'textDocument/diagnostic']) {
      await client.request(method, { textDocument: { uri } });
    }
    assert.ok((await client.pull(uri)).length > 0);
    assert.equal(client.stderr, '');
    assert.deepEqual(client.logs.filter((l) => l.includes('failed')), [], 'no handler threw');
  });

  test('every position of every example answers hover, completion and definition without a handler failing', async () => {
    for (const name of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.mnas'))) {
      const uri = exampleUri(name);
      const text = fs.readFileSync(path.join(EXAMPLES, name), 'utf8');
      await client.open(uri, text);
      const lines = text.split('\n');
      const pending: Promise<unknown>[] = [];
      lines.forEach((l, line) => {
        for (let character = 0; character <= l.length; character += 2) {
          const at = { textDocument: { uri }, position: { line, character } };
          pending.push(client.request('textDocument/hover', at), client.request('textDocument/completion', at), client.request('textDocument/definition', at));
        }
      });
      await Promise.all(pending);
    }
    assert.deepEqual(client.logs.filter((l) => l.includes('failed')), [], 'no handler threw');
  });
});
