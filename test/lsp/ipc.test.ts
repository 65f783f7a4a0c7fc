// The transport VS Code uses: the bundled server forked with `--node-ipc`, messages over the
// Node IPC channel. Initialize, open a broken document, receive its diagnostics, hover, exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import {
  createProtocolConnection, DidOpenTextDocumentNotification, ExitNotification, HoverRequest, InitializeRequest,
  InitializedNotification, IPCMessageReader, IPCMessageWriter, PublishDiagnosticsNotification, type PublishDiagnosticsParams,
  ShutdownRequest,
} from 'vscode-languageserver-protocol/node';
import { ensureServerBuilt, SERVER } from './build';

test('the bundled server speaks LSP over node IPC', { timeout: 60_000 }, async () => {
  ensureServerBuilt();
  const proc = fork(SERVER, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const connection = createProtocolConnection(new IPCMessageReader(proc), new IPCMessageWriter(proc));
  connection.listen();
  const diagnostics = new Promise<PublishDiagnosticsParams>((resolve) => connection.onNotification(PublishDiagnosticsNotification.type, resolve));
  // No pull-diagnostics capability: the server pushes.
  await connection.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null });
  await connection.sendNotification(InitializedNotification.type, {});
  const uri = 'untitled:ipc.mnas';
  const text = 'model M {\n  input 32x32x3\n  block b1 { mbconv e6 k4 s2 f24 x2 }\n}\n';
  await connection.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'mnas', version: 1, text } });
  const d = await diagnostics;
  assert.equal(d.uri, uri);
  assert.deepEqual(d.diagnostics.map((x) => x.code), ['even-kernel']);
  assert.deepEqual(d.diagnostics[0].range, { start: { line: 2, character: 23 }, end: { line: 2, character: 25 } });
  try {
    const hover = await connection.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 9 } });
    // The block's k4 is invalid: no cost is shown, and never k3's in its place.
    assert.match(JSON.stringify(hover?.contents), /invalid or missing `k`.*costs are not shown/);
    await connection.sendRequest(ShutdownRequest.type);
    await connection.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0);
  } finally {
    // A failed assertion must not leave the server holding this test process open.
    if (proc.exitCode === null) proc.kill();
    connection.dispose();
  }
});
