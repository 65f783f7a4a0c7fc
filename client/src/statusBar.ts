// Two status bar items: the running search (click: stop it, or open its results when done) and
// the device profile the cost model and latency predictor use (click: pick another).
import * as vscode from 'vscode';
import { readSettings } from './settings';

export class StatusBar implements vscode.Disposable {
  readonly search = vscode.window.createStatusBarItem('mnas.search', vscode.StatusBarAlignment.Left, 20);
  readonly device = vscode.window.createStatusBarItem('mnas.deviceProfile', vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.search.name = 'MNAS Search';
    this.device.name = 'MNAS Device Profile';
    this.device.command = 'mnas.selectDeviceProfile';
    this.refreshDevice();
  }

  refreshDevice(): void {
    const profile = readSettings(vscode.window.activeTextEditor?.document.uri).deviceProfile;
    this.device.text = `$(device-mobile) ${profile}`;
    this.device.tooltip = `MNAS device profile: ${profile} (latency estimates in hover and code lens). Click to change.`;
    const editor = vscode.window.activeTextEditor;
    if (editor?.document.languageId === 'mnas') this.device.show();
    else this.device.hide();
  }

  running(name: string, done: number, total: number, best: number | null): void {
    this.search.text = `$(sync~spin) ${name} ${done}/${total}${best !== null ? ` · best ${best.toFixed(3)}` : ''}`;
    this.search.tooltip = 'MNAS search running: click to stop (the run stays resumable)';
    this.search.command = 'mnas.stopSearch';
    this.search.show();
  }

  /** Stop asked: shown at once, until the search has journaled what finished and exited. */
  stopping(name: string, done: number, total: number): void {
    this.search.text = `$(loading~spin) ${name} ${done}/${total} · stopping`;
    this.search.tooltip = 'MNAS search stopping: ending the training in progress; finished children are kept and the run stays resumable';
    this.search.command = undefined;
    this.search.show();
  }

  finished(name: string, status: string, run: string): void {
    this.search.text = `$(graph) ${name}: ${status}`;
    this.search.tooltip = `Open the results of ${run}`;
    this.search.command = { title: 'Open Results', command: 'mnas.openResults', arguments: [run] };
    this.search.show();
  }

  dispose(): void {
    this.search.dispose();
    this.device.dispose();
  }
}
