// Typed access to the `mnas.*` settings this extension reads (the language server reads its own:
// hover, code lens, maxProblems, deviceProfile). Every setting is declared in package.json.
import * as path from 'node:path';
import * as vscode from 'vscode';

export interface ExtensionSettings {
  runsFolder: string;
  deviceProfile: string;
  adbHost: string;
  adbPort: number;
  benchmarkBinary: string;
  defaultBudget: number;
  /** Redis URL: evaluate children on `mnas worker` processes (`--queue`); empty = locally. */
  queue: string;
  backend: 'auto' | 'tfjs-node' | 'cpu';
  pythonPath: string;
  cliPath: string;
  /** Train fully: epochs (`mnas train --epochs`), 0 = the recipe's default (final/recipe.ts). */
  trainEpochs: number;
  /** Train fully: training images, 0 = the whole dataset (`--train`). */
  trainImages: number;
}

export function readSettings(scope?: vscode.Uri): ExtensionSettings {
  const c = vscode.workspace.getConfiguration('mnas', scope);
  return {
    runsFolder: c.get<string>('runsFolder', 'mnas-runs') || 'mnas-runs',
    deviceProfile: c.get<string>('deviceProfile', 'pixel1-published') || 'pixel1-published',
    adbHost: c.get<string>('adb.host', '127.0.0.1'),
    adbPort: c.get<number>('adb.port', 5037),
    benchmarkBinary: c.get<string>('device.benchmarkBinary', ''),
    defaultBudget: c.get<number>('search.defaultBudget', 0),
    queue: c.get<string>('search.queue', '').trim(),
    backend: c.get<ExtensionSettings['backend']>('search.backend', 'auto'),
    pythonPath: c.get<string>('pythonPath', ''),
    cliPath: c.get<string>('cliPath', ''),
    trainEpochs: c.get<number>('train.epochs', 0),
    trainImages: c.get<number>('train.trainImages', 0),
  };
}

/** The runs folder as an absolute path: relative settings resolve against the file's workspace folder. */
export function runsFolder(scope?: vscode.Uri): string {
  const setting = readSettings(scope).runsFolder;
  if (path.isAbsolute(setting)) return setting;
  const ws = (scope && vscode.workspace.getWorkspaceFolder(scope)) ?? vscode.workspace.workspaceFolders?.[0];
  const base = ws?.uri.fsPath ?? (scope ? path.dirname(scope.fsPath) : process.cwd());
  return path.join(base, setting);
}
