// The "MNAS" output channel: every line timestamped, so activation time and search progress can
// be read back (the e2e suite measures activation from the "activated in" line).
import * as vscode from 'vscode';

export interface Log {
  readonly channel: vscode.OutputChannel;
  info(message: string): void;
  error(message: string): void;
  /** Raw text (child process output), without a timestamp. */
  append(text: string): void;
}

export function createLog(name = 'MNAS'): Log & vscode.Disposable {
  const channel = vscode.window.createOutputChannel(name);
  const line = (level: string, message: string) => channel.appendLine(`${new Date().toISOString()} [${level}] ${message}`);
  return {
    channel,
    info: (m) => line('info', m),
    error: (m) => line('error', m),
    append: (t) => channel.append(t),
    dispose: () => channel.dispose(),
  };
}
