// Runs one search at a time as a child process of the bundled CLI
// (`node dist/cli.cjs search FILE --search NAME --events ndjson`), never in the extension host.
// Events drive a cancellable progress notification, the status bar, the output channel and the
// run's results panel. Cancel sends SIGINT: the CLI stops after journaling, leaving a resumable run.
// The CLI leads its own process group (with the Python workers it starts), so when the window
// closes or reloads (deactivate / dispose) nothing outlives the extension host: SIGINT first (the
// run stays resumable), then SIGTERM and SIGKILL to the whole group if it has not exited in time.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { childLogPrefix, runTag, type SearchEvent } from '../../server/src/search/events';
import { cliInvocation } from './cli';
import type { Log } from './log';
import { NdjsonSplitter } from './ndjson';
import { type PanelHost, ResultsPanel } from './panels/resultsPanel';
import { readSettings, runsFolder } from './settings';
import type { StatusBar } from './statusBar';

export interface SearchRequest {
  /** New run: the .mnas file and search name. */
  file?: vscode.Uri;
  search?: string;
  /** Or a run folder to continue. */
  resume?: string;
}

export interface SearchOutcome { status: 'done' | 'stopped' | 'failed'; run: string | null }

/** Sends `signal` to the process group led by `pid`; false when no process of the group is left. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `child` has exited (at once if it already has). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/** How long a search may take to journal and stop on SIGINT when the window goes, then on SIGTERM
 * (VS Code gives deactivation about 5 s in all before the extension host exits). */
export const SHUTDOWN_GRACE_MS = { interrupt: 2000, terminate: 1000 };

/** What the status bar and panel show of the running search. */
interface Shown { name: string; run: string | null; done: number; total: number; best: number | null }

export class SearchRunner implements vscode.Disposable {
  private child: ChildProcess | null = null;
  /** Stop asked (Stop Search, the notification's Cancel): the search is ending. */
  private stopping = false;
  private shown: Shown | null = null;
  private shuttingDown: Promise<void> | null = null;
  private readonly emitter = new vscode.EventEmitter<SearchEvent>();
  readonly onEvent = this.emitter.event;

  constructor(private readonly context: vscode.ExtensionContext, private readonly log: Log, private readonly status: StatusBar, private readonly panels: PanelHost) {}

  get running(): boolean { return this.child !== null; }

  /**
   * Asks the running search to stop (SIGINT): it ends the training in progress, journals every
   * child that finished and exits; the run stays resumable. "stopping" shows at once.
   */
  stop(): boolean {
    if (!this.child) return false;
    if (!this.stopping) {
      this.stopping = true;
      this.log.info('stopping the search (SIGINT): the training in progress ends, finished children are kept');
      this.child.kill('SIGINT');
    }
    this.show();
    return true;
  }

  /** The status bar and the run's panel: running or stopping, children done. */
  private show(text?: string): void {
    const s = this.shown;
    if (!s) return;
    if (this.stopping) this.status.stopping(s.name, s.done, s.total);
    else this.status.running(s.name, s.done, s.total, s.best);
    const live = this.stopping ? 'stopping: ending the training in progress; finished children are kept' : text;
    if (s.run && live !== undefined) ResultsPanel.get(s.run)?.update({ done: s.done, total: s.total, text: live, stopping: this.stopping }, true);
  }

  args(req: SearchRequest, scope?: vscode.Uri): string[] {
    const s = readSettings(scope);
    const args = ['search'];
    if (req.resume) args.push('--resume', req.resume);
    else {
      args.push(req.file!.fsPath);
      if (req.search) args.push('--search', req.search);
      args.push('--out', runsFolder(scope));
    }
    if (s.defaultBudget > 0 && !req.resume) args.push('--budget', String(s.defaultBudget));
    if (s.pythonPath) args.push('--python', s.pythonPath);
    if (s.queue) args.push('--queue', s.queue);
    args.push('--events', 'ndjson');
    return args;
  }

  run(req: SearchRequest): Thenable<SearchOutcome> {
    if (this.child) return Promise.reject(new Error('a search is already running; stop it first (MNAS: Stop Search).'));
    const scope = req.file;
    const label = req.resume ? path.basename(req.resume) : req.search ?? path.basename(req.file!.fsPath);
    const cwd = req.file ? path.dirname(req.file.fsPath) : path.dirname(req.resume!);
    const args = this.args(req, scope);
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `MNAS search ${label}`, cancellable: true }, (progress, token) =>
      new Promise<SearchOutcome>((resolve) => {
        this.log.info(`search: mnas ${args.join(' ')}`);
        let child: ChildProcess;
        try {
          child = this.spawn(args, cwd, scope);
        } catch (e) {
          void this.fail(`Could not start the search: ${(e as Error).message}`);
          resolve({ status: 'failed', run: null });
          return;
        }
        this.child = child;
        this.stopping = false;
        const shown: Shown = { name: label, run: req.resume ?? null, done: 0, total: 0, best: null };
        this.shown = shown;
        void vscode.commands.executeCommand('setContext', 'mnas.searchRunning', true);
        token.onCancellationRequested(() => this.stop());
        let run: string | null = req.resume ?? null;
        let name = label;
        let total = 0;
        let reported = 0;
        let doneEvent: Extract<SearchEvent, { event: 'done' }> | null = null;
        const stderr: string[] = [];
        const panel = () => (run ? ResultsPanel.get(run) : undefined);
        const splitter = new NdjsonSplitter<SearchEvent>((e) => {
          this.emitter.fire(e);
          if (e.event === 'start') {
            run = e.run;
            name = e.search;
            total = e.total;
            reported = e.done;
            this.log.info(`search ${e.search} (${e.strategy}) -> ${e.run}; backend ${e.backend.trainer}, controller ${e.backend.controller}, latency ${e.backend.latency}${e.resumed ? `; resumed at ${e.done}/${e.total}` : ''}`);
            progress.report({ message: `${e.done}/${e.total} children`, increment: total ? (100 * e.done) / total : 0 });
            Object.assign(shown, { name, run, done: e.done, total });
            ResultsPanel.createOrShow(this.panels, e.run);
            this.show('starting');
          } else if (e.event === 'child' || e.event === 'failed') {
            const line = e.event === 'child'
              ? `child ${e.id}: acc ${(100 * e.accuracy).toFixed(2)}%, ${e.latencyMs.toFixed(3)} ms, reward ${e.reward.toFixed(4)}${e.cached ? ' (cached)' : ''}`
              : `child ${e.id} failed: ${e.error}`;
            this.log.info(`${childLogPrefix(run ?? '', name, e.done, e.total)} ${line}`);
            progress.report({ message: `${e.done}/${e.total} · ${line}`, increment: total ? (100 * (e.done - reported)) / total : 0 });
            reported = e.done;
            Object.assign(shown, { done: e.done, total: e.total, best: e.event === 'child' ? e.best : shown.best });
            this.show(line);
          } else if (e.event === 'progress') {
            this.show(`training child ${e.id}: epoch ${e.epoch}, step ${e.step}/${e.steps}, loss ${e.loss.toFixed(3)}`);
          } else if (e.event === 'trained') {
            this.log.info(`[${runTag(run ?? '', name)}] child ${e.id} trained: acc ${(100 * e.accuracy).toFixed(2)}% in ${e.seconds.toFixed(1)} s; its latency next`);
          } else if (e.event === 'stopping') {
            this.log.info(`stopping: training ended for ${e.training.length ? e.training.join(', ') : 'no child'}; latency not measured for ${e.timing.length ? e.timing.join(', ') : 'no child'}`);
          } else if (e.event === 'update') {
            this.log.info(`controller update at step ${e.step}`);
          } else if (e.event === 'warning') {
            // A resumed run whose file changed, a queue without workers: worth a look, not a stop.
            this.log.info(`warning: ${e.message}`);
            void vscode.window.showWarningMessage(`MNAS search ${name}: ${e.message}`);
          } else if (e.event === 'done') {
            doneEvent = e;
            this.log.info(`search ${e.status}: ${e.children} children (${e.failed} failed) in ${e.seconds.toFixed(1)} s${e.best ? `; best ${e.best.name} reward ${e.best.reward.toFixed(4)}` : ''}${e.resume ? `; ${e.resume.note}` : ''}`);
          }
        }, (line) => this.log.append(line + '\n'));
        child.stdout!.setEncoding('utf8').on('data', (d: string) => splitter.push(d));
        child.stderr!.setEncoding('utf8').on('data', (d: string) => {
          stderr.push(d);
          this.log.append(d);
        });
        child.on('error', (err) => this.log.error(`search process: ${err.message}`));
        child.on('close', (code, signal) => {
          splitter.end();
          this.child = null;
          this.stopping = false;
          this.shown = null;
          if (this.shuttingDown) {
            // The window is going: no notification, no panel update.
            this.log.info(`search process ended (${signal ?? `exit code ${code}`}) on shutdown${run ? `; resume with mnas search --resume ${run}` : ''}`);
            resolve({ status: doneEvent ? doneEvent.status : 'stopped', run });
            return;
          }
          void vscode.commands.executeCommand('setContext', 'mnas.searchRunning', false);
          const status: SearchOutcome['status'] = doneEvent ? doneEvent.status : code === 130 ? 'stopped' : 'failed';
          if (run) {
            panel()?.update(null, false);
            this.status.finished(name, status, run);
          } else this.status.search.hide();
          resolve({ status, run });
          if (status === 'failed') {
            const why = stderr.join('').trim().split('\n').filter(Boolean).slice(-3).join(' ') || `exit code ${code}${signal ? `, signal ${signal}` : ''}`;
            void this.fail(`MNAS search ${name} failed: ${why}`, run);
          } else if (run) {
            void this.finished(name, status, run, doneEvent?.resume?.note);
          }
        });
      }));
  }

  /** The CLI as the leader of a new process group (its Python workers join that group). */
  private spawn(args: string[], cwd: string, scope?: vscode.Uri): ChildProcess {
    const inv = cliInvocation(this.context, args, scope);
    if (!fs.existsSync(inv.args[0])) throw new Error(`the mnas CLI was not found at ${inv.args[0]}. Reinstall the extension, or set \`mnas.cliPath\`.`);
    return spawn(inv.command, inv.args, { cwd, env: inv.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  /**
   * Ends the running search and everything it started, for good (deactivate, dispose): SIGINT to
   * the CLI so it journals and stops (resumable), SIGTERM to its process group after
   * `interrupt` ms, SIGKILL after `terminate` more; then any process left in the group (a Python
   * worker) gets SIGKILL. Resolves when none is left.
   */
  shutdown(grace = SHUTDOWN_GRACE_MS): Promise<void> {
    const child = this.child;
    if (!child?.pid) return Promise.resolve();
    if (this.shuttingDown) return this.shuttingDown;
    const pid = child.pid;
    this.shuttingDown = (async () => {
      this.log.info(`stopping the search (pid ${pid}): the extension is shutting down`);
      child.kill('SIGINT');
      const stopped = (ms: number) => Promise.race([exited(child).then(() => true), delay(ms).then(() => false)]);
      if (!(await stopped(grace.interrupt))) {
        this.log.info(`search ${pid} did not stop in ${grace.interrupt} ms: SIGTERM to its process group`);
        signalGroup(pid, 'SIGTERM');
        if (!(await stopped(grace.terminate))) {
          this.log.info(`search ${pid} still running: SIGKILL to its process group`);
          signalGroup(pid, 'SIGKILL');
          await exited(child);
        }
      }
      // Workers the CLI left behind (it exits before they do, or it was killed).
      if (signalGroup(pid, 0)) {
        signalGroup(pid, 'SIGTERM');
        for (let i = 0; i < 10 && signalGroup(pid, 0); i++) await delay(50);
        signalGroup(pid, 'SIGKILL');
      }
    })();
    return this.shuttingDown;
  }

  private async finished(name: string, status: 'done' | 'stopped', run: string, resume?: string): Promise<void> {
    const actions = status === 'stopped' ? ['Open Results', 'Resume'] : ['Open Results'];
    const pick = await vscode.window.showInformationMessage(status === 'done' ? `MNAS search ${name} finished.` : `MNAS search ${name} stopped; the children that finished are kept. ${resume ?? 'It can be resumed.'}`, ...actions);
    if (pick === 'Open Results') await vscode.commands.executeCommand('mnas.openResults', run);
    if (pick === 'Resume') await vscode.commands.executeCommand('mnas.resumeSearch', run);
  }

  private async fail(message: string, run?: string | null): Promise<void> {
    this.log.error(message);
    const actions = ['Show Log', ...(/torch|python/i.test(message) ? ['Set Python Path'] : []), ...(run ? ['Resume'] : [])];
    const pick = await vscode.window.showErrorMessage(message, ...actions);
    if (pick === 'Show Log') this.log.channel.show(true);
    if (pick === 'Set Python Path') await vscode.commands.executeCommand('workbench.action.openSettings', 'mnas.pythonPath');
    if (pick === 'Resume' && run) await vscode.commands.executeCommand('mnas.resumeSearch', run);
  }

  dispose(): void {
    void this.shutdown();
    this.emitter.dispose();
  }
}
