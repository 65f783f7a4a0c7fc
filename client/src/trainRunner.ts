// "Train fully" from a results panel: runs `mnas train RUN --child ID --resume --events ndjson`
// (server/src/final/) as a child process of the bundled CLI, one at a time, with the same kind of
// cancellable progress as a search. Cancel sends SIGINT: the CLI stops its workers and each
// network keeps its last finished epoch; running it again continues from there (--resume is
// always passed: it starts fresh when there is nothing to continue), and the notification and
// the panel say which epoch that is. The panel shows each epoch and re-reads the run folder, so
// the comparison table fills in at the end.
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import type { FullTrainingEvent } from '../../server/src/final/events';
import { cliInvocation } from './cli';
import type { Log } from './log';
import { NdjsonSplitter } from './ndjson';
import { ResultsPanel } from './panels/resultsPanel';
import { readSettings } from './settings';
import { spawn } from 'node:child_process';

/** A network of a full training as its events left it: the last epoch it finished (its checkpoint
 * holds that epoch), whether it started from a checkpoint, whether it finished. */
export interface TrainedSoFar { epoch: number; epochs: number; resumed: boolean; trained: boolean }

/** What running a stopped training again does, per unfinished network: continues after the last
 * epoch it finished, or from the checkpoint it had when stopped before reaching an epoch, or starts over. */
export function resumeNote(jobs: Map<string, TrainedSoFar>): string {
  const parts = [...jobs].filter(([, j]) => !j.trained).map(([key, j]) => (j.epoch > 0 ? `continues ${key} after epoch ${j.epoch}/${j.epochs}, kept on disk`
    : j.resumed ? `continues ${key} from its checkpoint` : `starts ${key} over (no epoch finished)`));
  return parts.length ? `${parts.join('; ')}.` : 'has nothing left to train.';
}

export class TrainRunner implements vscode.Disposable {
  private child: ChildProcess | null = null;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: Log) {}

  get running(): boolean { return this.child !== null; }

  /** The budget the settings give a training, in words. */
  budget(): string {
    const s = readSettings();
    return `${s.trainEpochs > 0 ? s.trainEpochs : 'the recipe\'s default'} epochs on ${s.trainImages > 0 ? s.trainImages : 'all the'} training images`;
  }

  args(run: string, ids: number[]): string[] {
    const s = readSettings();
    const args = ['train', run, '--child', ...ids.map(String), '--resume', '--events', 'ndjson'];
    if (s.trainEpochs > 0) args.push('--epochs', String(s.trainEpochs));
    if (s.trainImages > 0) args.push('--train', String(s.trainImages));
    if (s.pythonPath) args.push('--python', s.pythonPath);
    if (s.queue) args.push('--queue', s.queue);
    return args;
  }

  /** Trains the children `ids` of `run` fully (and the skeleton, so the panel can compare). */
  run(run: string, ids: number[]): Thenable<'done' | 'stopped' | 'failed'> {
    if (this.child) return Promise.reject(new Error('a full training is already running; cancel it first.'));
    const args = this.args(run, ids);
    const label = `child${ids.length > 1 ? 'ren' : ''} ${ids.join(', ')}`;
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MNAS: training ${label} fully`, cancellable: true }, (progress, token) =>
      new Promise<'done' | 'stopped' | 'failed'>((resolve) => {
        this.log.info(`train: mnas ${args.join(' ')}`);
        const inv = cliInvocation(this.context, args);
        if (!fs.existsSync(inv.args[0])) {
          void vscode.window.showErrorMessage(`the mnas CLI was not found at ${inv.args[0]}. Reinstall the extension, or set \`mnas.cliPath\`.`);
          resolve('failed');
          return;
        }
        const child = spawn(inv.command, inv.args, { cwd: run, env: inv.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        this.child = child;
        token.onCancellationRequested(() => {
          this.log.info('cancelling the full training (SIGINT); each network keeps its last finished epoch');
          child.kill('SIGINT');
        });
        const panel = () => ResultsPanel.get(run);
        let done: Extract<FullTrainingEvent, { event: 'done' }> | null = null;
        const stderr: string[] = [];
        // Per network: its last finished epoch (what a cancel keeps), and whether it finished.
        const jobs = new Map<string, TrainedSoFar>();
        const splitter = new NdjsonSplitter<FullTrainingEvent>((e) => {
          let line = '';
          if (e.event === 'start') {
            for (const j of e.jobs) jobs.set(j.key, { epoch: 0, epochs: 0, resumed: j.resume, trained: false });
            line = `${e.jobs.map((j) => j.key).join(', ')}${e.skipped.length ? `; ${e.skipped.map((s) => `${s.key} already trained`).join(', ')}` : ''}`;
          } else if (e.event === 'resumed') {
            jobs.set(e.key, { epoch: e.epoch, epochs: e.epochs, resumed: true, trained: false });
            line = `${e.key}: resumed after epoch ${e.epoch}/${e.epochs}`;
          } else if (e.event === 'epoch') {
            jobs.set(e.key, { ...(jobs.get(e.key) ?? { resumed: false, trained: false }), epoch: e.epoch, epochs: e.epochs });
            const left = (e.elapsed / e.epoch) * (e.epochs - e.epoch);
            line = `${e.key}: epoch ${e.epoch}/${e.epochs}, loss ${e.loss.toFixed(3)}, about ${Math.round(left)} s left`;
          } else if (e.event === 'progress') line = `${e.key}: epoch ${e.epoch}/${e.epochs}, step ${e.step}/${e.steps}`;
          else if (e.event === 'trained') {
            const j = jobs.get(e.key);
            if (j) j.trained = true;
            line = `${e.key}: ${(100 * e.accuracy).toFixed(2)}% after full training`;
          } else if (e.event === 'failed') line = `${e.key} failed: ${e.error}`;
          else if (e.event === 'done') done = e;
          if (!line) return;
          if (e.event !== 'progress') this.log.info(`train: ${line}`);
          progress.report({ message: line });
          if (e.event !== 'progress') panel()?.setTraining(`full training: ${line}`);
        }, (l) => this.log.append(l + '\n'));
        child.stdout!.setEncoding('utf8').on('data', (d: string) => splitter.push(d));
        child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr.push(d); this.log.append(d); });
        // 'close' comes after the CLI's output has ended: every epoch it reported has been read.
        child.on('close', (code) => {
          splitter.end();
          this.child = null;
          const status = done ? done.status : code === 130 ? 'stopped' : 'failed';
          resolve(status);
          if (status === 'failed') {
            const why = stderr.join('').trim().split('\n').filter(Boolean).slice(-3).join(' ') || `exit code ${code}`;
            panel()?.setTraining(`full training failed: ${why}`);
            void vscode.window.showErrorMessage(`MNAS: the full training failed: ${why}`);
          } else if (status === 'stopped') {
            const text = `full training ${token.isCancellationRequested ? 'cancelled' : 'stopped'}; Train fully again ${resumeNote(jobs)}`;
            this.log.info(`train: ${text}`);
            panel()?.setTraining(text);
            void vscode.window.showInformationMessage(`MNAS: ${text}`);
          } else {
            panel()?.setTraining(null);
            void vscode.window.showInformationMessage(`MNAS: ${label} trained fully; see Full training in the results.`);
          }
        });
      }));
  }

  /** The window is going: stop the training (its checkpoint stays) and anything it started. */
  dispose(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    this.child?.kill('SIGINT');
    setTimeout(() => { try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ } }, 2000).unref();
  }
}
