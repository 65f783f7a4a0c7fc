// MNAS: Show Search Space Statistics: the space's size and exact min/max params and mult-adds
// (`mnas estimate FILE --model SPACE`, the cost model the hover uses) in a read-only document.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runCli } from '../cli';
import type { Log } from '../log';
import { pickDeclaration, targetDocument } from './common';

export function registerStatsCommand(context: vscode.ExtensionContext, log: Log): vscode.Disposable {
  return vscode.commands.registerCommand('mnas.showSpaceStatistics', async (uri?: unknown) => {
    const doc = await targetDocument(uri);
    if (!doc) return;
    const space = await pickDeclaration(doc, 'space');
    if (!space) return;
    if (doc.isDirty) await doc.save();
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `MNAS: statistics of ${space}` },
      () => runCli(context, ['estimate', doc.uri.fsPath, '--model', space], path.dirname(doc.uri.fsPath), () => {}));
    if (r.code !== 0 && !r.stdout) {
      log.error(r.stderr);
      void vscode.window.showErrorMessage(`MNAS: could not compute the statistics of ${space}: ${r.stderr.trim().split('\n').pop() ?? `exit code ${r.code}`}`);
      return;
    }
    const shown = await vscode.workspace.openTextDocument({ language: 'plaintext', content: `Search space ${space} (${path.basename(doc.uri.fsPath)})\n\n${r.stdout}` });
    await vscode.window.showTextDocument(shown, { viewColumn: vscode.ViewColumn.Beside, preview: true });
  });
}
