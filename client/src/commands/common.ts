// Shared by the commands: workspace trust, the .mnas document a command is about, the searches
// and spaces declared in it, and the run folders in the runs folder.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runsFolder } from '../settings';

/** Searches and device commands run programs (Python, adb, the CLI): not in Restricted Mode. */
export async function requireTrust(what: string): Promise<boolean> {
  if (vscode.workspace.isTrusted) return true;
  const pick = await vscode.window.showWarningMessage(
    `MNAS: ${what} runs programs (the mnas CLI, Python, adb) and is disabled in Restricted Mode. Language features keep working. Trust this workspace to use it.`,
    'Manage Workspace Trust');
  if (pick) await vscode.commands.executeCommand('workbench.trust.manage');
  return false;
}

export interface Declaration { kind: 'model' | 'space' | 'search'; name: string; line: number }

/** Top-level declarations of a .mnas text (the keyword at the start of a line, as the language cuts them). */
export function declarations(text: string): Declaration[] {
  const out: Declaration[] = [];
  const re = /^[ \t]*(model|space|search)[ \t]+([A-Za-z_][A-Za-z0-9_]*)/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ kind: m[1] as Declaration['kind'], name: m[2], line: text.slice(0, m.index).split('\n').length - 1 });
  }
  return out;
}

/** The declaration of `kind` that the cursor is in (the last one starting at or above it), else null. */
export function declarationAt(decls: Declaration[], kind: Declaration['kind'], line: number): Declaration | null {
  const before = decls.filter((d) => d.line <= line);
  const current = before[before.length - 1];
  return current && current.kind === kind ? current : null;
}

/** The .mnas document of a command: its argument (a URI or URI string), else the active editor. */
export async function targetDocument(arg: unknown): Promise<vscode.TextDocument | undefined> {
  const uri = arg instanceof vscode.Uri ? arg : typeof arg === 'string' && arg ? vscode.Uri.parse(arg) : undefined;
  if (uri) return vscode.workspace.openTextDocument(uri);
  const doc = vscode.window.activeTextEditor?.document;
  if (doc?.languageId === 'mnas') return doc;
  void vscode.window.showWarningMessage('MNAS: open a .mnas file first (e.g. examples/search-quickstart.mnas).');
  return undefined;
}

/** Picks a declaration of `kind`: the one under the cursor, the only one, or a quick pick. */
export async function pickDeclaration(doc: vscode.TextDocument, kind: Declaration['kind'], given?: string): Promise<string | undefined> {
  if (given) return given;
  const decls = declarations(doc.getText());
  const editor = vscode.window.activeTextEditor;
  if (editor?.document === doc) {
    const here = declarationAt(decls, kind, editor.selection.active.line);
    if (here) return here.name;
  }
  const all = decls.filter((d) => d.kind === kind);
  if (all.length === 0) {
    void vscode.window.showWarningMessage(`MNAS: ${path.basename(doc.uri.fsPath)} declares no ${kind}. ${kind === 'search' ? 'Add e.g. `search Quickstart { space MnasSpace  target 75ms }`.' : ''}`);
    return undefined;
  }
  if (all.length === 1) return all[0].name;
  const pick = await vscode.window.showQuickPick(all.map((d) => ({ label: d.name, description: `line ${d.line + 1}` })), { placeHolder: `Which ${kind}?` });
  return pick?.label;
}

export interface RunSummary { dir: string; search: string; strategy: string; done: number; total: number; created: string }

function countChildren(journal: string): number {
  try {
    const text = fs.readFileSync(journal, 'utf8');
    return (text.match(/"type":"(child|failed)"/g) ?? []).length;
  } catch {
    return 0;
  }
}

/** Run folders (with a run.json) in the runs folder, newest first. */
export function listRuns(scope?: vscode.Uri): RunSummary[] {
  const parent = runsFolder(scope);
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  const runs: RunSummary[] = [];
  for (const name of names) {
    const dir = path.join(parent, name);
    try {
      const info = JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as { search: string; strategy: string; children: number; created: string };
      runs.push({ dir, search: info.search, strategy: info.strategy, total: info.children, created: info.created, done: countChildren(path.join(dir, 'journal.jsonl')) });
    } catch {
      // not a run folder
    }
  }
  return runs.sort((a, b) => b.created.localeCompare(a.created));
}

/** A run folder: the argument, else a quick pick over the runs folder (or a folder dialog). */
export async function pickRun(arg: unknown, placeHolder: string, filter: (r: RunSummary) => boolean = () => true): Promise<string | undefined> {
  if (typeof arg === 'string' && arg && !arg.includes('://')) return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  const runs = listRuns(vscode.window.activeTextEditor?.document.uri).filter(filter);
  const browse = { label: '$(folder-opened) Browse for a run folder…', dir: '' };
  const items = [
    ...runs.map((r) => ({ label: path.basename(r.dir), description: `${r.search} · ${r.strategy} · ${r.done}/${r.total} children`, detail: r.dir, dir: r.dir })),
    browse,
  ];
  const pick = await vscode.window.showQuickPick(items, { placeHolder: runs.length ? placeHolder : `No runs in ${runsFolder()} yet; browse for a run folder` });
  if (!pick) return undefined;
  if (pick !== browse) return pick.dir;
  const chosen = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Open run', defaultUri: vscode.Uri.file(runsFolder()) });
  return chosen?.[0]?.fsPath;
}
