// A minimal LSP client over the bundled server's stdio (no mocks): spawn, initialize, open
// documents, send requests, and wait on the server's own messages (never on timers).
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection, type Diagnostic, type InitializeResult, type Position, type ProtocolConnection,
  type PublishDiagnosticsParams, StreamMessageReader, StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { ensureServerBuilt, ROOT, SERVER } from './build';

export const EXAMPLES = path.join(ROOT, 'examples');
export const exampleUri = (name: string) => pathToFileURL(path.join(EXAMPLES, name)).toString();

/** Strips every `<|>` marker; returns the text and the markers' offsets and positions. */
export function cursors(marked: string): { text: string; offsets: number[]; positions: Position[] } {
  const parts = marked.split('<|>');
  const text = parts.join('');
  const offsets: number[] = [];
  let at = 0;
  for (const p of parts.slice(0, -1)) { at += p.length; offsets.push(at); }
  return { text, offsets, positions: offsets.map((o) => positionAt(text, o)) };
}

export function cursor(marked: string): { text: string; offset: number; position: Position } {
  const c = cursors(marked);
  if (c.offsets.length !== 1) throw new Error(`expected one <|> marker, found ${c.offsets.length}`);
  return { text: c.text, offset: c.offsets[0], position: c.positions[0] };
}

export function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length - 1, character: before[before.length - 1].length };
}

export interface StartOptions {
  /** Announce pull-diagnostics support (default true). */
  pull?: boolean;
  /** What workspace/configuration answers for `mnas`. */
  settings?: Record<string, unknown>;
  rootUri?: string | null;
  /** Another server bundle to run (benchmarks compare a baseline build); default dist/server.cjs. */
  server?: string;
}

export class TestClient {
  private published = new Map<string, PublishDiagnosticsParams[]>();
  private waiters: (() => void)[] = [];
  private versions = new Map<string, number>();
  refreshes = 0;
  /** What workspace/configuration answers for `mnas`; change it, then `changeConfiguration()`. */
  settings: Record<string, unknown> = {};
  logs: string[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess, readonly connection: ProtocolConnection, readonly init: InitializeResult) {
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
  }

  static async start(options: StartOptions = {}): Promise<TestClient> {
    if (!options.server) ensureServerBuilt();
    const proc = spawn(process.execPath, [options.server ?? SERVER, '--stdio'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const connection = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    // Messages can arrive before the TestClient exists (during initialize): queue them.
    const box: { client?: TestClient } = {};
    const early: (() => void)[] = [];
    const later = (f: (c: TestClient) => void) => (box.client ? f(box.client) : early.push(() => f(box.client!)));
    proc.stderr!.on('data', (d) => later((c) => { c.stderr += String(d); }));
    connection.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => later((c) => c.record(p)));
    connection.onNotification('window/logMessage', (p: { message: string }) => later((c) => c.logs.push(p.message)));
    connection.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
      p.items.map((i) => (i.section === 'mnas' ? box.client?.settings ?? options.settings ?? {} : null)));
    connection.onRequest('workspace/diagnostic/refresh', () => { later((c) => { c.refreshes++; c.wake(); }); return null; });
    connection.onRequest('client/registerCapability', () => null);
    connection.listen();
    const pull = options.pull ?? true;
    const init = await connection.sendRequest<InitializeResult>('initialize', {
      processId: process.pid,
      rootUri: options.rootUri === undefined ? pathToFileURL(EXAMPLES).toString() : options.rootUri,
      capabilities: {
        textDocument: {
          ...(pull ? { diagnostic: { dynamicRegistration: false } } : {}),
          publishDiagnostics: {},
          hover: { contentFormat: ['markdown', 'plaintext'] },
          completion: { completionItem: { snippetSupport: true } },
          rename: { prepareSupport: true },
          documentSymbol: { hierarchicalDocumentSymbolSupport: true },
        },
        workspace: { configuration: true, diagnostics: pull ? { refreshSupport: true } : undefined },
      },
    });
    const client = new TestClient(proc, connection, init);
    client.settings = options.settings ?? {};
    box.client = client;
    for (const f of early) f();
    await connection.sendNotification('initialized', {});
    return client;
  }

  private record(p: PublishDiagnosticsParams): void {
    const list = this.published.get(p.uri) ?? [];
    list.push(p);
    this.published.set(p.uri, list);
    this.wake();
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves once `ready()` holds, re-checking on every server message this client tracks. */
  private until<T>(ready: () => T | undefined): Promise<T> {
    return new Promise((resolve) => {
      const check = () => {
        const v = ready();
        if (v !== undefined) resolve(v);
        else this.waiters.push(check);
      };
      check();
    });
  }

  /** Call before the action that triggers a push; await the result after it. */
  nextDiagnostics(uri: string): Promise<Diagnostic[]> {
    const seen = this.published.get(uri)?.length ?? 0;
    return this.until(() => {
      const list = this.published.get(uri) ?? [];
      return list.length > seen ? list[list.length - 1].diagnostics : undefined;
    });
  }

  /** Every publishDiagnostics the server sent for `uri`, in order. */
  publishes(uri: string): readonly PublishDiagnosticsParams[] {
    return this.published.get(uri) ?? [];
  }

  /** Resolves with the first publish for `uri` that carries `version`. */
  diagnosticsOfVersion(uri: string, version: number): Promise<PublishDiagnosticsParams> {
    return this.until(() => this.published.get(uri)?.find((p) => p.version === version));
  }

  /** The version of the last change sent for `uri`. */
  versionOf(uri: string): number | undefined {
    return this.versions.get(uri);
  }

  /** Resolves once the server has asked for more than `seen` diagnostic refreshes. */
  refreshAfter(seen: number): Promise<number> {
    return this.until(() => (this.refreshes > seen ? this.refreshes : undefined));
  }

  async open(uri: string, text: string): Promise<void> {
    this.versions.set(uri, 1);
    await this.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'mnas', version: 1, text } });
  }

  async change(uri: string, text: string): Promise<void> {
    const version = (this.versions.get(uri) ?? 1) + 1;
    this.versions.set(uri, version);
    await this.connection.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
  }

  async close(uri: string): Promise<void> {
    await this.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
  }

  async changeConfiguration(settings: Record<string, unknown>): Promise<void> {
    this.settings = settings;
    await this.connection.sendNotification('workspace/didChangeConfiguration', { settings: { mnas: settings } });
  }

  request<R>(method: string, params: unknown): Promise<R> {
    return this.connection.sendRequest<R>(method, params);
  }

  async pull(uri: string): Promise<Diagnostic[]> {
    const r = await this.request<{ kind: string; items: Diagnostic[] }>('textDocument/diagnostic', { textDocument: { uri } });
    return r.items;
  }

  /** shutdown + exit; resolves to the process exit code. */
  async stop(): Promise<number | null> {
    await this.connection.sendRequest('shutdown');
    await this.connection.sendNotification('exit');
    const code = await this.exited;
    this.connection.dispose();
    return code;
  }
}
