// MNAS Studio's VS Code entry point (bundled to dist/client.cjs): the language client over IPC,
// the commands, the status bar, the search runner (a CLI child process) and the results panels.
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { CHILD_DETAIL_REQUEST, type ChildDetailParams, type ChildDetailResult } from '../../server/src/lsp/protocol';
import { registerDeviceCommands } from './commands/device';
import { registerExampleCommands } from './commands/examples';
import { registerSearchCommands } from './commands/search';
import { registerStatsCommand } from './commands/stats';
import { createLanguageClient } from './languageClient';
import { createLog } from './log';
import { type PanelHost, RESULTS_VIEW_TYPE, ResultsPanelSerializer } from './panels/resultsPanel';
import { SearchRunner } from './searchRunner';
import { TrainRunner } from './trainRunner';
import { StatusBar } from './statusBar';

let client: LanguageClient | undefined;
let searchRunner: SearchRunner | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const started = performance.now();
  const log = createLog();
  context.subscriptions.push(log);
  const status = new StatusBar();
  context.subscriptions.push(status);

  let exportChild: PanelHost['exportChild'] = async () => {};
  const trainer = new TrainRunner(context, log);
  const trainChild: PanelHost['trainChild'] = async (run, c) => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('MNAS: training runs code from this workspace\'s settings; trust the workspace first.');
      return;
    }
    await trainer.run(run, [c.cachedFrom ?? c.id]).then(undefined, (e: Error) => vscode.window.showErrorMessage(`MNAS: ${e.message}`));
  };
  const host: PanelHost = {
    extensionUri: context.extensionUri, log, exportChild: (run, c) => exportChild(run, c), trainChild,
    childDetail: (c) => client
      ? client.sendRequest<ChildDetailResult>(CHILD_DETAIL_REQUEST, { id: c.id, name: c.name, model: c.model } satisfies ChildDetailParams)
      : Promise.reject(new Error('the language server is not running')),
  };
  const device = registerDeviceCommands(context, log, status);
  exportChild = device.exportChild;
  const runner = new SearchRunner(context, log, status, host);
  searchRunner = runner;
  context.subscriptions.push(
    runner,
    trainer,
    ...device.disposables,
    ...registerSearchCommands(runner, host),
    registerStatsCommand(context, log),
    ...registerExampleCommands(context),
    vscode.window.registerWebviewPanelSerializer(RESULTS_VIEW_TYPE, new ResultsPanelSerializer(host)),
    vscode.window.onDidChangeActiveTextEditor(() => status.refreshDevice()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('mnas.deviceProfile')) status.refreshDevice();
      // Said in the output, so what the next Train fully runs is visible before it starts.
      if (e.affectsConfiguration('mnas.train')) log.info(`settings: Train fully now trains ${trainer.budget()}`);
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => log.info('workspace trusted: search and device commands enabled')),
  );

  // The language server starts in the background: activation does not wait for it.
  client = createLanguageClient(context, log.channel);
  const serverStart = performance.now();
  client.start().then(
    () => log.info(`language server ready in ${(performance.now() - serverStart).toFixed(0)} ms`),
    (e: Error) => {
      log.error(`the language server did not start: ${e.message}`);
      void vscode.window.showErrorMessage(`MNAS: the language server did not start (${e.message}). See the MNAS output.`, 'Show Log').then((p) => p && log.channel.show(true));
    });
  const version = (context.extension.packageJSON as { version?: string }).version ?? '?';
  log.info(`MNAS Studio ${version} activated in ${(performance.now() - started).toFixed(0)} ms (workspace ${vscode.workspace.isTrusted ? 'trusted' : 'restricted'})`);
}

/** Window closing or reloading: a running search is stopped (resumable) and its processes are
 * gone before the extension host exits; the language server stops meanwhile. */
export async function deactivate(): Promise<void> {
  const stopping = [searchRunner?.shutdown(), client?.stop()];
  searchRunner = undefined;
  client = undefined;
  await Promise.allSettled(stopping);
}
