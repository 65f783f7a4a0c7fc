// Wires the pure feature functions to an LSP connection. Everything about the client (its
// capabilities, settings, open documents) lives in this closure, never at module level, so
// tests can start several servers in one process.
import {
  CodeActionKind, type Connection, DidChangeWatchedFilesNotification, DocumentDiagnosticReportKind, type InitializeParams,
  type InitializeResult, LSPErrorCodes, ResponseError, TextDocuments, TextDocumentSyncKind,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { fileURLToPath } from 'node:url';
import { childDetailOf } from './childDetail';
import { codeActions } from './codeActions';
import { codeLenses } from './codeLens';
import { completion } from './completion';
import { definition } from './definition';
import { diagnostics } from './diagnostics';
import type { Files } from './files';
import { formatting } from './formatting';
import { hover } from './hover';
import { CHILD_DETAIL_REQUEST, type ChildDetailParams } from './protocol';
import { prepareRename, rename, type RenameOutcome } from './rename';
import { LEGEND, semanticTokens } from './semanticTokens';
import { documentSymbols } from './symbols';
import { checkPosition, checkRange, guard, guardVoid } from './safe';
import { type Settings, SettingsCache } from './settings';
import { loadProfile } from '../cost/latency/store';
import type { LatencyContext } from './costMarkdown';
import { Workspace } from './workspace';

interface ClientSupport {
  pullDiagnostics: boolean;
  diagnosticRefresh: boolean;
  configuration: boolean;
  watchedFilesRegistration: boolean;
  snippets: boolean;
  prepareRename: boolean;
}

function clientSupport(params: InitializeParams): ClientSupport {
  const c = params.capabilities;
  return {
    pullDiagnostics: !!c.textDocument?.diagnostic,
    diagnosticRefresh: !!c.workspace?.diagnostics?.refreshSupport,
    configuration: !!c.workspace?.configuration,
    watchedFilesRegistration: !!c.workspace?.didChangeWatchedFiles?.dynamicRegistration,
    snippets: !!c.textDocument?.completion?.completionItem?.snippetSupport,
    prepareRename: !!c.textDocument?.rename?.prepareSupport,
  };
}

function rootOf(params: InitializeParams): string | undefined {
  const uri = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
  if (!uri?.startsWith('file:')) return undefined;
  try { return fileURLToPath(uri); } catch { return undefined; }
}

/** How long push diagnostics wait for typing to pause (each change restarts the wait). */
export const PUSH_DELAY_MS = 150;

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const workspace = new Workspace(documents);
  let support: ClientSupport = clientSupport({ capabilities: {}, processId: null, rootUri: null });
  const files: Files = { uriOf: (f) => workspace.uriOf(f), read: (f) => workspace.host.read(f) };
  let settings = new SettingsCache(connection, false);
  /** The device profile of a document's settings; profiles are loaded once (store.ts caches them). */
  const reported = new Set<string>();
  const latencyOf = (s: Settings): LatencyContext => {
    try {
      return { profile: loadProfile(s.deviceProfile, workspace.root) };
    } catch (e) {
      const message = (e as Error).message;
      if (!reported.has(message)) { reported.add(message); connection.console.warn(`mnas.deviceProfile: ${message}`); }
      return { error: message };
    }
  };

  connection.onInitialize((params): InitializeResult => {
    support = clientSupport(params);
    settings = new SettingsCache(connection, support.configuration);
    workspace.root = rootOf(params);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: [' ', '[', ','] },
        documentSymbolProvider: true,
        definitionProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        codeLensProvider: { resolveProvider: false },
        semanticTokensProvider: { legend: LEGEND, full: true },
        documentFormattingProvider: true,
        renameProvider: support.prepareRename ? { prepareProvider: true } : true,
        diagnosticProvider: support.pullDiagnostics ? { interFileDependencies: true, workspaceDiagnostics: false } : undefined,
      },
      serverInfo: { name: 'mnas-language-server', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    if (support.watchedFilesRegistration) {
      void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.mnas' }] });
    }
  });

  /**
   * Push mode only (pull clients ask when they need them). Publishes coalesce per document:
   * each change restarts its document's timer, so a burst of keystrokes is analysed and sent
   * once, for the version current then; a publish overtaken by a newer edit is dropped.
   */
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  const schedule = (uri: string, delayMs = PUSH_DELAY_MS) => {
    clearTimeout(timers.get(uri));
    timers.set(uri, setTimeout(() => { timers.delete(uri); void publish(uri); }, delayMs));
  };
  const publish = async (uri: string) => {
    const version = documents.get(uri)?.version;
    if (version === undefined) return;
    const s = await settings.get(uri);
    if (documents.get(uri)?.version !== version) return;
    const a = workspace.get(uri);
    if (!a) return;
    await connection.sendDiagnostics({ uri, version, diagnostics: diagnostics(a, s.maxProblems) });
  };
  /** Just opened: its first diagnostics go out at once. */
  const opened = new Set<string>();
  documents.onDidOpen((e) => { opened.add(e.document.uri); });

  /** A file changed: drop what depends on it and let the client re-ask (or re-push). */
  const changed = (file: string, uri?: string) => {
    const dropped = workspace.invalidate(file, uri);
    if (support.pullDiagnostics) {
      if (dropped.length > 0 && support.diagnosticRefresh) connection.languages.diagnostics.refresh();
    } else {
      for (const u of new Set([...(uri ? [uri] : []), ...dropped, ...workspace.dependents(file)])) schedule(u, opened.delete(u) ? 0 : PUSH_DELAY_MS);
    }
  };

  documents.onDidChangeContent(guardVoid(connection, 'didChange', (e) => changed(workspace.pathOf(e.document.uri), e.document.uri)));
  documents.onDidClose(guardVoid(connection, 'didClose', (e) => {
    const uri = e.document.uri;
    clearTimeout(timers.get(uri));
    timers.delete(uri);
    opened.delete(uri);
    workspace.forget(uri);
    settings.forget(uri);
    // Dependents now read this file from disk.
    changed(workspace.pathOf(uri));
    if (!support.pullDiagnostics) void connection.sendDiagnostics({ uri, diagnostics: [] });
  }));
  connection.onDidChangeWatchedFiles(guardVoid(connection, 'didChangeWatchedFiles', (p) => {
    for (const c of p.changes) if (c.uri.startsWith('file:')) changed(fileURLToPath(c.uri));
  }));
  connection.onDidChangeConfiguration(guardVoid(connection, 'didChangeConfiguration', () => {
    settings.clear();
    if (support.pullDiagnostics) { if (support.diagnosticRefresh) connection.languages.diagnostics.refresh(); }
    else for (const d of documents.all()) schedule(d.uri, 0);
  }));

  connection.languages.diagnostics.on(guard(connection, 'diagnostic', { kind: DocumentDiagnosticReportKind.Full, items: [] }, async (p) => {
    const uri = p.textDocument.uri;
    // Settings first: an analysis is used before any await (a newer one spends its parse).
    const s = await settings.get(uri);
    const a = workspace.get(uri);
    const resultId = workspace.resultId(uri);
    if (!a) return { kind: DocumentDiagnosticReportKind.Full, items: [] };
    if (resultId !== undefined && p.previousResultId === resultId) return { kind: DocumentDiagnosticReportKind.Unchanged, resultId };
    return { kind: DocumentDiagnosticReportKind.Full, resultId, items: diagnostics(a, s.maxProblems) };
  }));

  connection.onHover(guard(connection, 'hover', null, async (p) => {
    checkPosition(p.position);
    const s = await settings.get(p.textDocument.uri);
    const a = workspace.get(p.textDocument.uri);
    if (!a) return null;
    return hover(a, p, { showLayers: s.hover.showLayers, latency: latencyOf(s) });
  }));

  connection.onCodeAction(guard(connection, 'codeAction', [], (p) => {
    checkRange(p.range);
    const a = workspace.get(p.textDocument.uri);
    return a ? codeActions(a, p) : [];
  }));

  connection.onCompletion(guard(connection, 'completion', [], (p) => {
    checkPosition(p.position);
    const a = workspace.get(p.textDocument.uri);
    return a ? completion(a, p, { snippets: support.snippets }) : [];
  }));

  connection.onDocumentSymbol(guard(connection, 'documentSymbol', [], (p) => {
    const a = workspace.get(p.textDocument.uri);
    return a ? documentSymbols(a) : [];
  }));

  connection.onDefinition(guard(connection, 'definition', null, (p) => {
    checkPosition(p.position);
    const a = workspace.get(p.textDocument.uri);
    return a ? definition(a, { uri: p.textDocument.uri, position: p.position }, files) : null;
  }));

  connection.onCodeLens(guard(connection, 'codeLens', [], async (p) => {
    const s = await settings.get(p.textDocument.uri);
    const a = workspace.get(p.textDocument.uri);
    if (!a || !s.codeLens.enabled) return [];
    return codeLenses(a, { uri: p.textDocument.uri }, latencyOf(s));
  }));

  connection.languages.semanticTokens.on(guard(connection, 'semanticTokens', { data: [] }, (p) => {
    const a = workspace.get(p.textDocument.uri);
    return a ? semanticTokens(a) : { data: [] };
  }));

  connection.onDocumentFormatting(guard(connection, 'formatting', [], (p) => {
    const a = workspace.get(p.textDocument.uri);
    return a ? formatting(a) : [];
  }));

  /** A refused rename is an answer with a message for the user, not a failure. */
  const orRefuse = <T>(r: RenameOutcome<T>): T => {
    if ('error' in r) throw new ResponseError(LSPErrorCodes.RequestFailed, r.error);
    return r.ok;
  };
  connection.onPrepareRename(guard(connection, 'prepareRename', null, (p) => {
    checkPosition(p.position);
    const a = workspace.get(p.textDocument.uri);
    return a ? orRefuse(prepareRename(a, p)) : null;
  }));
  connection.onRenameRequest(guard(connection, 'rename', null, (p) => {
    checkPosition(p.position);
    const a = workspace.get(p.textDocument.uri);
    if (!a) return null;
    return orRefuse(rename(a, { uri: p.textDocument.uri, position: p.position, newName: p.newName }, workspace.openAnalyses(), files));
  }));

  connection.onRequest(CHILD_DETAIL_REQUEST, guard(connection, 'childDetail', null, (p: ChildDetailParams) => childDetailOf(p)));

  documents.listen(connection);
  connection.listen();
}
