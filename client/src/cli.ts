// Running the bundled `mnas` CLI (dist/cli.cjs) as a child process: searches, exports and
// calibration never run inside the extension host. Node is the extension host's own runtime
// (ELECTRON_RUN_AS_NODE makes VS Code's Electron binary behave as plain Node).
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { readSettings } from './settings';

export interface CliInvocation { command: string; args: string[]; env: NodeJS.ProcessEnv }

/** The CLI script: the `mnas.cliPath` setting, else the bundle shipped with the extension. */
export function cliScript(context: vscode.ExtensionContext, scope?: vscode.Uri): string {
  const custom = readSettings(scope).cliPath;
  return custom || context.asAbsolutePath('dist/cli.cjs');
}

export function cliInvocation(context: vscode.ExtensionContext, args: string[], scope?: vscode.Uri): CliInvocation {
  const s = readSettings(scope);
  const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1', FORCE_COLOR: '0' };
  if (s.pythonPath) env.MNAS_PYTHON = s.pythonPath;
  if (s.backend !== 'auto') env.MNAS_TF_BACKEND = s.backend;
  env.MNAS_ADB_HOST = s.adbHost;
  env.MNAS_ADB_PORT = String(s.adbPort);
  if (s.benchmarkBinary) env.MNAS_BENCHMARK_MODEL = s.benchmarkBinary;
  return { command: process.execPath, args: [cliScript(context, scope), ...args], env };
}

export function spawnCli(context: vscode.ExtensionContext, args: string[], cwd: string, scope?: vscode.Uri): ChildProcess {
  const inv = cliInvocation(context, args, scope);
  if (!fs.existsSync(inv.args[0])) throw new Error(`the mnas CLI was not found at ${inv.args[0]}. Reinstall the extension, or set \`mnas.cliPath\`.`);
  return spawn(inv.command, inv.args, { cwd, env: inv.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

/** Runs a short CLI command to completion, copying its output to the log. */
export function runCli(context: vscode.ExtensionContext, args: string[], cwd: string, append: (t: string) => void, token?: vscode.CancellationToken, scope?: vscode.Uri): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnCli(context, args, cwd, scope);
    } catch (e) {
      reject(e);
      return;
    }
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; append(d); });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; append(d); });
    token?.onCancellationRequested(() => child.kill('SIGINT'));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Commander's "unknown command" means this CLI build does not have the subcommand yet. */
export function missingSubcommand(r: CliResult): boolean {
  return /unknown command|unknown option/i.test(r.stderr);
}
