// Starts the bundled language server (dist/server.cjs) over IPC, as in vscode-extension-samples'
// lsp-sample. LSP tracing follows the `mnas.trace.server` setting (the client id is `mnas`).
import * as vscode from 'vscode';
import { LanguageClient, type LanguageClientOptions, type ServerOptions, TransportKind } from 'vscode-languageclient/node';

export function createLanguageClient(context: vscode.ExtensionContext, outputChannel: vscode.OutputChannel): LanguageClient {
  const module = context.asAbsolutePath('dist/server.cjs');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: 'mnas' }],
    outputChannel,
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.mnas') },
  };
  return new LanguageClient('mnas', 'MNAS Language Server', serverOptions, clientOptions);
}
