// MNAS: Run Search, Stop Search, Resume Search, Open Results.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { PanelHost } from '../panels/resultsPanel';
import { ResultsPanel } from '../panels/resultsPanel';
import type { SearchRunner } from '../searchRunner';
import { pickDeclaration, pickRun, requireTrust, targetDocument } from './common';

export function registerSearchCommands(runner: SearchRunner, host: PanelHost): vscode.Disposable[] {
  return [
    // From the code lens: (uri string, search name); from menus: (uri); from the palette: ().
    vscode.commands.registerCommand('mnas.runSearch', async (uri?: unknown, name?: unknown) => {
      if (!(await requireTrust('Run Search'))) return;
      if (runner.running) {
        void vscode.window.showWarningMessage('MNAS: a search is already running. Stop it first (MNAS: Stop Search) or wait for it.', 'Stop Search')
          .then((p) => p && vscode.commands.executeCommand('mnas.stopSearch'));
        return;
      }
      const doc = await targetDocument(uri);
      if (!doc) return;
      const search = await pickDeclaration(doc, 'search', typeof name === 'string' ? name : undefined);
      if (!search) return;
      if (doc.isDirty && !(await doc.save())) {
        void vscode.window.showErrorMessage(`MNAS: save ${path.basename(doc.uri.fsPath)} first: the search reads the file from disk.`);
        return;
      }
      if (doc.uri.scheme !== 'file') {
        void vscode.window.showErrorMessage('MNAS: save the file to disk first: the search reads it from disk.');
        return;
      }
      return runner.run({ file: doc.uri, search });
    }),
    vscode.commands.registerCommand('mnas.stopSearch', () => {
      if (!runner.stop()) void vscode.window.showInformationMessage('MNAS: no search is running.');
    }),
    vscode.commands.registerCommand('mnas.resumeSearch', async (run?: unknown) => {
      if (!(await requireTrust('Resume Search'))) return;
      if (runner.running) {
        void vscode.window.showWarningMessage('MNAS: a search is already running.');
        return;
      }
      const dir = await pickRun(run, 'Resume which run?');
      if (!dir) return;
      if (!fs.existsSync(path.join(dir, 'run.json'))) {
        void vscode.window.showErrorMessage(`MNAS: ${dir} is not a run folder (no run.json).`);
        return;
      }
      return runner.run({ resume: dir });
    }),
    vscode.commands.registerCommand('mnas.openResults', async (run?: unknown) => {
      const dir = await pickRun(run, 'Open the results of which run?');
      if (!dir) return;
      if (!fs.existsSync(path.join(dir, 'run.json'))) {
        void vscode.window.showErrorMessage(`MNAS: ${dir} is not a run folder (no run.json). Pick a folder that \`mnas search\` created.`);
        return;
      }
      ResultsPanel.createOrShow(host, dir).update(null, false);
    }),
  ];
}
