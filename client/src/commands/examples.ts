// The walkthrough's commands: open an example shipped with the extension, and run the
// quick-start search on a copy in the workspace (so the run folder lands there, not in the
// extension's install folder).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXAMPLES = ['mnasnet-a1.mnas', 'mnasnet-b1.mnas', 'mnasnet-small.mnas', 'mobilenetv2.mnas', 'mnas-space.mnas', 'search-quickstart.mnas'];

/** A writable folder for example copies: the first workspace folder, else the extension's global storage. */
function examplesHome(context: vscode.ExtensionContext): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  return ws ? path.join(ws, 'mnas-examples') : path.join(context.globalStorageUri.fsPath, 'examples');
}

/** Copies the examples (they import each other) once, keeping the user's edits. */
function copyExamples(context: vscode.ExtensionContext): string {
  const dir = examplesHome(context);
  fs.mkdirSync(dir, { recursive: true });
  for (const name of EXAMPLES) {
    const from = context.asAbsolutePath(path.join('examples', name));
    const to = path.join(dir, name);
    if (fs.existsSync(from) && !fs.existsSync(to)) fs.copyFileSync(from, to);
  }
  return dir;
}

export function registerExampleCommands(context: vscode.ExtensionContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('mnas.openExample', async (name?: unknown) => {
      const file = typeof name === 'string' && EXAMPLES.includes(name) ? name : 'mnasnet-a1.mnas';
      const dir = copyExamples(context);
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(path.join(dir, file)));
      await vscode.window.showTextDocument(doc, { preview: false });
    }),
    vscode.commands.registerCommand('mnas.runQuickstart', async () => {
      const dir = copyExamples(context);
      const uri = vscode.Uri.file(path.join(dir, 'search-quickstart.mnas'));
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { preview: false });
      await vscode.commands.executeCommand('mnas.runSearch', uri.toString(), 'Quickstart');
    }),
  ];
}
