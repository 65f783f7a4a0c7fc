// One results webview per run folder (webview-sample pattern: createOrShow / revive / dispose,
// the panel owns its disposables). The page is dist/webview/results.js under a CSP with a fresh
// nonce per load; its only local resource root is dist/webview. Data is (re)read from the run
// folder, the same loader `mnas report --html` uses, when the page says `ready` and whenever the
// running search emits an event. No retainContextWhenHidden: the page keeps its selection with
// setState, and a WebviewPanelSerializer restores panels after a reload.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ChildDetail } from '../../../server/src/report/data';
import { type ChildRecord, loadRun, type LoadedRun } from '../../../server/src/report/load';
import { makeNonce, reportPage } from '../../../server/src/report/page';
import type { Log } from '../log';
import { type FromWebview, type LiveProgress, parseFromWebview, parsePanelState, type ToWebview } from './messages';

export const RESULTS_VIEW_TYPE = 'mnas.results';

export interface PanelHost {
  extensionUri: vscode.Uri;
  log: Log;
  exportChild(run: string, child: ChildRecord): Promise<void>;
  /** Per-block costs of a child (the language server has the cost model); null if its text has no valid model. */
  childDetail(child: ChildRecord): Promise<ChildDetail | null>;
  /** Train fully (mnas train --child): the child and the skeleton. */
  trainChild(run: string, child: ChildRecord): Promise<void>;
}

export class ResultsPanel {
  private static readonly panels = new Map<string, ResultsPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private live: LiveProgress | null = null;
  private training: string | null = null;
  private running = false;
  private loaded: LoadedRun | null = null;
  private ready = false;
  private refreshTimer: NodeJS.Timeout | undefined;

  static webviewRoot(extensionUri: vscode.Uri): vscode.Uri {
    return vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [ResultsPanel.webviewRoot(extensionUri)], enableFindWidget: true };
  }

  /** The panel of `run`, revealed, or a new one. */
  static createOrShow(host: PanelHost, run: string): ResultsPanel {
    const key = path.resolve(run);
    const existing = ResultsPanel.panels.get(key);
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active;
    if (existing) {
      existing.panel.reveal(column, true);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(RESULTS_VIEW_TYPE, `Results: ${path.basename(key)}`, { viewColumn: column, preserveFocus: true }, ResultsPanel.options(host.extensionUri));
    return new ResultsPanel(panel, host, key);
  }

  /** A panel restored by the serializer after a window reload. */
  static revive(panel: vscode.WebviewPanel, host: PanelHost, state: unknown): void {
    const s = parsePanelState(state);
    if (!s) {
      panel.dispose();
      return;
    }
    panel.webview.options = ResultsPanel.options(host.extensionUri);
    new ResultsPanel(panel, host, path.resolve(s.run));
  }

  static get(run: string): ResultsPanel | undefined {
    return ResultsPanel.panels.get(path.resolve(run));
  }

  private constructor(private readonly panel: vscode.WebviewPanel, private readonly host: PanelHost, readonly run: string) {
    ResultsPanel.panels.set(run, this);
    this.panel.iconPath = vscode.Uri.joinPath(host.extensionUri, 'media', 'icon.png');
    this.panel.webview.html = this.html();
    this.panel.onDidDispose(() => this.dispose(), null, this.disposables);
    this.panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), null, this.disposables);
    // A hidden webview is torn down (no retainContextWhenHidden); when shown it loads again and says `ready`.
    this.panel.onDidChangeViewState(() => { if (!this.panel.visible) this.ready = false; }, null, this.disposables);
  }

  /** Live progress from the search events; re-reads the run folder (at most every 300 ms). */
  update(live: LiveProgress | null, running: boolean): void {
    // "stopping" goes out at once: a stop can end the run within the 300 ms a coalesced refresh
    // waits, and the last update would then replace it before the panel ever showed it.
    const stopping = live?.stopping === true && this.live?.stopping !== true;
    this.live = live;
    this.running = running;
    if (stopping && this.refreshTimer) {
      clearTimeout(this.refreshTimer);
      this.refreshTimer = undefined;
    }
    if (stopping) return this.send();
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.send();
    }, running ? 300 : 0);
  }

  /** The line a full training of this run shows (TrainRunner): its progress, or how it ended; null clears it. */
  setTraining(text: string | null): void {
    this.training = text;
    this.update(this.live, this.running);
  }

  dispose(): void {
    ResultsPanel.panels.delete(this.run);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private html(): string {
    const webview = this.panel.webview;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(ResultsPanel.webviewRoot(this.host.extensionUri), 'results.js'));
    return reportPage({ title: `Results: ${path.basename(this.run)}`, nonce: makeNonce(), scriptUri: script.toString(), cspSource: webview.cspSource });
  }

  private post(m: ToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private send(): void {
    if (!this.ready) return;
    try {
      this.loaded = loadRun(this.run, { status: this.running ? 'running' : undefined });
      this.post({ type: 'report', data: this.loaded.data, live: this.running ? this.live : null, training: this.training });
    } catch (e) {
      this.post({ type: 'error', message: `Cannot read the run folder ${this.run}: ${(e as Error).message}` });
    }
  }

  private child(id: number): ChildRecord | undefined {
    return this.loaded?.children.get(id);
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m: FromWebview | null = parseFromWebview(raw, (why) => this.host.log.error(`results panel: ignored an invalid message (${why})`));
    if (!m) return;
    if (m.type === 'ready') {
      this.ready = true;
      this.send();
      return;
    }
    if (m.type === 'select') return;
    const c = this.child(m.id);
    if (!c) {
      this.post({ type: 'error', message: `Child ${m.id} is not in ${this.run}.` });
      return;
    }
    if (m.type === 'detail') {
      const detail = await this.host.childDetail(c).catch((e: Error) => {
        this.host.log.error(`results panel: no detail for child ${c.id}: ${e.message}`);
        return null;
      });
      if (detail) this.post({ type: 'detail', detail });
      else this.post({ type: 'error', message: `No detail for child ${c.id}: the language server could not read its model.` });
    } else if (m.type === 'openChild') {
      const doc = await vscode.workspace.openTextDocument({ language: 'mnas', content: `// child ${c.id} of ${this.run}\n${c.model}` });
      await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: false });
    } else if (m.type === 'copyChild') {
      await vscode.env.clipboard.writeText(c.model);
      void vscode.window.setStatusBarMessage(`Copied ${c.name} as .mnas text`, 3000);
    } else if (m.type === 'exportChild') {
      await this.host.exportChild(this.run, c);
    } else if (m.type === 'trainChild') {
      await this.host.trainChild(this.run, c);
    }
  }
}

export class ResultsPanelSerializer implements vscode.WebviewPanelSerializer {
  constructor(private readonly host: PanelHost) {}
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    ResultsPanel.revive(panel, this.host, state);
  }
}
