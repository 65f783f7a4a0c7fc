// MNAS: Select Device Profile, Calibrate Device, Export TFLite. Export and calibration run the
// CLI (`mnas export`, `mnas calibrate`) in a child process; a CLI without them says so clearly.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { childFileName, type ChildRecord } from '../../../server/src/report/load';
import { type CliResult, missingSubcommand, runCli } from '../cli';
import type { Log } from '../log';
import type { StatusBar } from '../statusBar';
import { pickDeclaration, requireTrust, targetDocument } from './common';

const BUILTIN = 'pixel1-published';

function profileNames(dirs: string[]): { name: string; from: string }[] {
  const out: { name: string; from: string }[] = [];
  for (const dir of dirs) {
    try {
      for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) out.push({ name: f.slice(0, -5), from: dir });
    } catch {
      // folder absent
    }
  }
  return out;
}

export function userProfileDir(): string {
  return path.join(process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'mnas-studio', 'profiles');
}

async function runTool(context: vscode.ExtensionContext, log: Log, title: string, subcommand: string, args: string[], cwd: string): Promise<CliResult | null> {
  log.info(`${title}: mnas ${[subcommand, ...args].join(' ')}`);
  try {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MNAS: ${title}`, cancellable: true },
      (_p, token) => runCli(context, [subcommand, ...args], cwd, (t) => log.append(t), token));
    if (r.code === 0) return r;
    if (missingSubcommand(r)) {
      void vscode.window.showErrorMessage(`MNAS: ${title} is not available: this version of the mnas CLI has no \`mnas ${subcommand}\` command yet.`, 'Show Log')
        .then((p) => p && log.channel.show(true));
    } else {
      const why = r.stderr.trim().split('\n').filter(Boolean).slice(-2).join(' ') || `exit code ${r.code}`;
      void vscode.window.showErrorMessage(`MNAS: ${title} failed: ${why}`, 'Show Log').then((p) => p && log.channel.show(true));
    }
    return null;
  } catch (e) {
    void vscode.window.showErrorMessage(`MNAS: ${title} could not start: ${(e as Error).message}`);
    return null;
  }
}

export function registerDeviceCommands(context: vscode.ExtensionContext, log: Log, status: StatusBar): { disposables: vscode.Disposable[]; exportChild: (run: string, c: ChildRecord) => Promise<void> } {
  const exportTo = async (args: string[], out: string, cwd: string) => {
    if (!(await requireTrust('Export TFLite'))) return;
    const python = vscode.workspace.getConfiguration('mnas').get<string>('pythonPath', '');
    const r = await runTool(context, log, 'Export TFLite', 'export', [...args, '-o', out, ...(python ? ['--python', python] : [])], cwd);
    if (r) {
      const pick = await vscode.window.showInformationMessage(`MNAS: exported ${path.basename(out)}.`, 'Reveal');
      if (pick) await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(out));
    }
  };
  // A child is exported with its trained weights (`--weights RUN/CHILD`, at its proxy scale).
  const exportChild = async (run: string, c: ChildRecord) => {
    const dir = path.join(run, 'children', String(c.id));
    fs.mkdirSync(dir, { recursive: true });
    await exportTo(['--weights', `${run}/${c.id}`], path.join(dir, `${childFileName(c)}.tflite`), run);
  };
  const disposables = [
    vscode.commands.registerCommand('mnas.selectDeviceProfile', async () => {
      const current = vscode.workspace.getConfiguration('mnas').get<string>('deviceProfile', BUILTIN);
      const ws = vscode.workspace.workspaceFolders?.map((f) => path.join(f.uri.fsPath, 'profiles')) ?? [];
      const found = profileNames([context.asAbsolutePath('profiles'), ...ws, userProfileDir()]);
      const seen = new Set<string>();
      const items: (vscode.QuickPickItem & { value?: string })[] = [];
      for (const p of [{ name: BUILTIN, from: 'built in (fitted to the MnasNet paper\'s Pixel 1 latencies)' }, ...found]) {
        if (seen.has(p.name)) continue;
        seen.add(p.name);
        items.push({ label: p.name, description: p.name === current ? 'current' : '', detail: p.from, value: p.name });
      }
      items.push({ label: '$(file) Browse for a profile JSON…' }, { label: '$(pulse) Calibrate this machine…', value: '#calibrate' });
      const pick = await vscode.window.showQuickPick(items, { placeHolder: `Device profile for latency estimates (now ${current})` });
      if (!pick) return;
      let value = pick.value;
      if (value === '#calibrate') return vscode.commands.executeCommand('mnas.calibrateDevice');
      if (!value) {
        const file = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Device profile': ['json'] }, openLabel: 'Use profile' });
        value = file?.[0]?.fsPath;
      }
      if (!value) return;
      const target = vscode.workspace.workspaceFolders ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await vscode.workspace.getConfiguration('mnas').update('deviceProfile', value, target);
      status.refreshDevice();
      log.info(`device profile: ${value}`);
    }),
    vscode.commands.registerCommand('mnas.calibrateDevice', async (uri?: unknown) => {
      if (!(await requireTrust('Calibrate Device'))) return;
      const name = await vscode.window.showInputBox({ prompt: 'Name of the new device profile', value: 'local', validateInput: (v) => /^[\w.-]+$/.test(v) ? null : 'letters, digits, . _ - only' });
      if (!name) return;
      const out = path.join(userProfileDir(), `${name}.json`);
      fs.mkdirSync(path.dirname(out), { recursive: true });
      // Calibration times the layers of a search space: it needs a .mnas file with a space.
      const doc = await targetDocument(uri);
      if (!doc) return;
      const space = await pickDeclaration(doc, 'space');
      if (!space) return;
      const args = ['--device', 'local', '--space', doc.uri.fsPath, '--name', space, '--out', out];
      const r = await runTool(context, log, 'Calibrate Device', 'calibrate', args, path.dirname(doc.uri.fsPath));
      if (r) {
        await vscode.workspace.getConfiguration('mnas').update('deviceProfile', name, vscode.ConfigurationTarget.Global);
        status.refreshDevice();
        void vscode.window.showInformationMessage(`MNAS: device profile ${name} written to ${out} and selected.`);
      }
    }),
    vscode.commands.registerCommand('mnas.exportTflite', async (uri?: unknown) => {
      const doc = await targetDocument(uri);
      if (!doc) return;
      const model = await pickDeclaration(doc, 'model');
      if (!model) return;
      if (doc.isDirty) await doc.save();
      await exportTo([doc.uri.fsPath, '--model', model], path.join(path.dirname(doc.uri.fsPath), `${model}.tflite`), path.dirname(doc.uri.fsPath));
    }),
  ];
  return { disposables, exportChild };
}
