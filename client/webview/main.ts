// The results view of one run, in a VS Code webview or in a standalone HTML report
// (`mnas report RUN --html`). Charts are vega-lite compiled in the page and run by vega with
// its CSP-safe expression interpreter (`ast: true`), so the page needs no 'unsafe-eval'. The SVG
// renderer draws one element per mark (with ARIA labels) and styles them through the CSSOM only,
// which the CSP allows (no style attributes in markup).
// In VS Code, data arrives by message after a `ready` handshake and the selected child is kept
// with setState; standalone, the data (and details of the best children) are embedded as JSON.
import embed, { type Result } from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';
import type { ChildDetail, ReportChild, ReportData } from '../../server/src/report/data';
import type { FromWebview, LiveProgress, PanelState, ToWebview } from '../src/panels/protocol';
import { readTheme, rewardSpec, scatterSpec } from './charts';
import css from './results.css';

interface VsCodeApi { postMessage(m: FromWebview): void; getState(): unknown; setState(s: PanelState): void }
declare function acquireVsCodeApi(): VsCodeApi;

interface Standalone { data: ReportData; details: ChildDetail[] }

const vscode: VsCodeApi | null = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;
const nonce = (document.currentScript as HTMLScriptElement | null)?.nonce ?? '';

let data: ReportData | null = null;
let live: LiveProgress | null = null;
let training: string | null = null;
let selected: number | null = null;
const details = new Map<number, ChildDetail>();
const views: Result[] = [];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: { class?: string; text?: string; title?: string } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.text !== undefined) e.textContent = props.text;
  if (props.title) e.title = props.title;
  for (const c of children) e.append(c);
  return e;
}

const grouped = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

function post(m: FromWebview): void { vscode?.postMessage(m); }

function saveState(): void {
  if (vscode && data) vscode.setState({ run: data.run, selected });
}

function addStyle(): void {
  const style = document.createElement('style');
  style.nonce = nonce;
  style.textContent = css;
  document.head.append(style);
}

function header(d: ReportData): HTMLElement {
  const status = live && d.status === 'running' ? `${live.stopping ? 'stopping' : 'running'}: ${live.done}/${live.total} children${live.text ? ` · ${live.text}` : ''}` :
    `${d.status}: ${d.children.length}/${d.total} children${d.failed.length ? `, ${d.failed.length} failed` : ''}`;
  const best = d.top[0];
  return el('header', {},
    el('h1', { text: `${d.search} · ${d.strategy === 'rl' ? 'RL controller' : 'random search'} · seed ${d.seed}` }),
    el('p', { class: 'meta', text: `${status} · target ${d.targetMs} ms · reward ${d.rewardPreset}${best ? ` · best ${best.name} (${best.reward.toFixed(4)})` : ''}` }),
    el('p', { class: 'meta small', text: [d.backend, d.dataset && `data: ${d.dataset}`, d.run].filter(Boolean).join(' · ') }),
    ...(training ? [el('p', { class: 'meta training', text: training })] : []),
  );
}

function actionButton(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', { text: label, title });
  b.addEventListener('click', (ev) => { ev.stopPropagation(); onClick(); });
  return b;
}

async function copyModel(c: ReportChild): Promise<void> {
  if (vscode) return post({ type: 'copyChild', id: c.id });
  const d = details.get(c.id);
  if (d) await navigator.clipboard.writeText(d.model);
}

function topTable(d: ReportData): HTMLElement {
  // Columns marked `wide` give way below 640 px (beside an editor); the rank is the row's place, the
  // costs are in the detail view.
  const head: [string, string][] = [['#', 'wide'], ['child', ''], ['reward', ''], ['accuracy', ''], ['latency', ''], ['latency source', 'wide'],
    ['params', 'wide'], ['mult-adds', 'wide'], ['Pareto', ''], ['', '']];
  const table = el('table', { class: 'top' }, el('thead', {}, el('tr', {}, ...head.map(([h, cls]) => el('th', { text: h, class: cls })))));
  const body = el('tbody');
  d.top.forEach((c, i) => {
    const actions = el('td', { class: 'actions' });
    if (vscode) {
      actions.append(
        actionButton('Open', 'Open as a .mnas document', () => post({ type: 'openChild', id: c.id })),
        actionButton('Export', 'Export TFLite', () => post({ type: 'exportChild', id: c.id })),
        actionButton('Train fully', 'Train this child and the skeleton fully (mnas train), then compare them', () => post({ type: 'trainChild', id: c.id })),
      );
    }
    if (vscode || details.has(c.id)) actions.append(actionButton('Copy', 'Copy the model text', () => void copyModel(c)));
    const tr = el('tr', { class: c.id === selected ? 'selected' : '' },
      el('td', { class: 'wide', text: String(i + 1) }), el('td', { text: c.name }), el('td', { class: 'num', text: c.reward.toFixed(4) }),
      el('td', { class: 'num', text: pct(c.accuracy) }), el('td', { class: 'num', text: `${c.latencyMs.toFixed(3)} ms` }),
      el('td', { class: 'small wide', text: c.latencySource }), el('td', { class: 'num wide', text: grouped(c.params) }),
      el('td', { class: 'num wide', text: grouped(c.multAdds) }), el('td', { text: c.pareto ? '◆' : '' }), actions);
    tr.dataset.id = String(c.id);
    tr.addEventListener('click', () => select(c.id));
    body.append(tr);
  });
  table.append(body);
  // Still too narrow: the table scrolls sideways on its own, the page does not.
  return el('div', { class: 'table-scroll' }, table);
}

/** The paper's table after `mnas train`: proxy and full accuracy side by side, the verdict against the skeleton. */
function finalSection(d: ReportData): HTMLElement | null {
  const f = d.final;
  if (!f) return null;
  const head = ['model', 'params', 'mult-adds', 'latency', 'proxy accuracy', 'full accuracy', `under ${d.targetMs} ms`];
  const opt = (v: number | null) => (v === null ? '-' : pct(v));
  const rows = f.rows.map((r) => {
    const tr = el('tr', { class: `${r.kind}${r.id !== null && r.id === selected ? ' selected' : ''}` },
      el('td', { text: r.kind === 'baseline' ? `${r.name} (skeleton)` : r.name }), el('td', { class: 'num', text: grouped(r.params) }),
      el('td', { class: 'num', text: grouped(r.multAdds) }), el('td', { class: 'num', text: r.latencyMs === null ? '-' : `${r.latencyMs.toFixed(3)} ms` }),
      el('td', { class: 'num', text: opt(r.proxyAccuracy) }), el('td', { class: 'num', text: pct(r.accuracy) }), el('td', { text: r.underTarget ? 'yes' : '' }));
    if (r.id !== null) {
      const id = r.id;
      tr.dataset.id = String(id);
      tr.addEventListener('click', () => select(id));
    }
    return tr;
  });
  const c = f.comparison;
  const verdict = c
    ? `Best child under ${d.targetMs} ms: ${c.child.name} ${pct(c.child.accuracy)} at ${c.child.latencyMs?.toFixed(3)} ms against the skeleton ${c.baseline.name} ` +
      `${pct(c.baseline.accuracy)} at ${c.baseline.latencyMs?.toFixed(3) ?? '-'} ms: ${c.accuracyGain >= 0 ? '+' : ''}${(100 * c.accuracyGain).toFixed(2)} points` +
      `${c.latencyRatio !== null ? `, ${c.latencyRatio.toFixed(2)}x the latency` : ''}.`
    : `No comparison yet: ${f.note}.`;
  const section = el('section', { class: 'final' }, el('h2', { text: 'Full training' }),
    el('p', { class: 'meta small', text: `${f.recipe}; ${f.dataset}` }),
    el('table', { class: 'final' }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))), el('tbody', {}, ...rows)),
    el('p', { class: 'verdict', text: verdict }));
  section.id = 'final';
  return section;
}

function detailView(): HTMLElement {
  const box = el('section', { class: 'detail' });
  if (selected === null) {
    box.append(el('p', { class: 'meta', text: 'Select a child (a point or a row) to see its blocks and per-block cost.' }));
    return box;
  }
  const d = details.get(selected);
  if (!d) {
    box.append(el('p', { class: 'meta', text: vscode ? `Loading child ${selected}…` : `Child ${selected}: details are embedded for the best children and the Pareto front only.` }));
    return box;
  }
  box.append(el('h2', { text: `${d.name}: ${grouped(d.params)} params, ${grouped(d.multAdds)} mult-adds` }));
  if (vscode) {
    const id = d.id;
    box.append(el('p', {}, actionButton('Train fully', 'Train this child and the skeleton fully (mnas train), then compare them', () => post({ type: 'trainChild', id }))));
  }
  const head = ['block', 'op', 'k', 'e', 's', 'f', 'x', 'se', 'skip', 'output', 'params', 'mult-adds'];
  const rows = d.blocks.map((b) => el('tr', {}, ...[b.name, b.op, `${b.k}`, `${b.e}`, `${b.s}`, `${b.f}`, `${b.x}`, `${b.se}`, b.skip, b.out, grouped(b.params), grouped(b.multAdds)]
    .map((v, i) => el('td', { class: i >= 2 && i !== 8 && i !== 9 ? 'num' : '', text: v }))));
  box.append(el('div', { class: 'table-scroll' }, el('table', { class: 'blocks' }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { text: h })))), el('tbody', {}, ...rows))));
  box.append(el('pre', { class: 'model', text: d.model }));
  return box;
}

function select(id: number | null): void {
  selected = id;
  saveState();
  if (id !== null && !details.has(id)) post({ type: 'detail', id });
  post({ type: 'select', id });
  render();
}

let tooltip: HTMLElement | null = null;
function showTooltip(_handler: unknown, event: MouseEvent, _item: unknown, value: unknown): void {
  tooltip ??= document.body.appendChild(el('div', { class: 'tooltip' }));
  if (value === undefined || value === null || value === '') {
    tooltip.hidden = true;
    return;
  }
  tooltip.replaceChildren(...Object.entries(typeof value === 'object' ? value as Record<string, unknown> : { '': value })
    .map(([k, v]) => el('div', {}, el('b', { text: k ? `${k}: ` : '' }), String(v))));
  tooltip.hidden = false;
  tooltip.style.left = `${event.clientX + 12}px`;
  tooltip.style.top = `${event.clientY + 12}px`;
}

async function chart(container: HTMLElement, spec: Record<string, unknown>, clickable: boolean): Promise<void> {
  const result = await embed(container, spec as never, {
    mode: 'vega-lite', renderer: 'svg', actions: false, defaultStyle: false,
    ast: true, expr: expressionInterpreter, tooltip: showTooltip as never,
  });
  views.push(result);
  if (clickable) {
    result.view.addEventListener('click', (_e, item) => {
      const datum = (item as { datum?: { id?: unknown } } | null | undefined)?.datum;
      if (datum && typeof datum.id === 'number') select(datum.id);
    });
  }
}

let rendering = Promise.resolve();
function render(): void {
  rendering = rendering.then(draw, draw);
}

async function draw(): Promise<void> {
  const root = document.getElementById('root')!;
  for (const v of views.splice(0)) v.finalize();
  if (!data) {
    root.replaceChildren(el('p', { class: 'meta', text: 'Loading the run…' }));
    return;
  }
  const theme = readTheme(getComputedStyle(document.body));
  const scatter = el('div', { class: 'chart', title: 'latency vs accuracy' });
  scatter.id = 'scatter';
  const reward = el('div', { class: 'chart' });
  reward.id = 'reward';
  const empty = data.children.length === 0;
  root.replaceChildren(
    header(data),
    el('section', { class: 'charts' },
      el('div', {}, el('h2', { text: 'Latency vs accuracy' }), empty ? el('p', { class: 'meta', text: 'No child evaluated yet.' }) : scatter),
      el('div', {}, el('h2', { text: 'Reward' }), empty ? el('p', { class: 'meta', text: '' }) : reward)),
    el('section', {}, el('h2', { text: `Top ${data.top.length} by reward` }), topTable(data)),
    ...[finalSection(data)].filter((x): x is HTMLElement => x !== null),
    detailView(),
    ...(data.failed.length ? [el('section', {}, el('h2', { text: 'Failed children' }), el('ul', {}, ...data.failed.map((f) => el('li', { text: `child ${f.id}: ${f.error}` }))))] : []),
  );
  if (!empty) {
    await Promise.all([chart(scatter, scatterSpec(data, theme, selected), true), chart(reward, rewardSpec(data, theme), false)]);
    scatter.dataset.rendered = 'true';
    reward.dataset.rendered = 'true';
  }
  root.dataset.children = String(data.children.length);
}

function onMessage(m: ToWebview): void {
  if (m.type === 'report') {
    data = m.data;
    live = m.live;
    training = m.training;
    if (selected !== null && !data.children.some((c) => c.id === selected)) selected = null;
    if (selected !== null && !details.has(selected)) post({ type: 'detail', id: selected });
    saveState();
    render();
  } else if (m.type === 'detail') {
    details.set(m.detail.id, m.detail);
    if (m.detail.id === selected) render();
  } else if (m.type === 'error') {
    document.getElementById('root')!.replaceChildren(el('p', { class: 'error', text: m.message }));
  }
}

addStyle();
// Re-theme when VS Code switches between light, dark and high-contrast (it changes body's class).
new MutationObserver(() => render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

if (vscode) {
  const state = vscode.getState() as Partial<PanelState> | undefined;
  if (state && typeof state.selected === 'number') selected = state.selected;
  window.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as ToWebview;
    if (m && typeof m === 'object' && typeof m.type === 'string') onMessage(m);
  });
  render();
  post({ type: 'ready' });
} else {
  const embedded = document.getElementById('mnas-report');
  const parsed = embedded?.textContent ? JSON.parse(embedded.textContent) as Standalone : null;
  if (parsed) {
    for (const d of parsed.details) details.set(d.id, d);
    data = parsed.data;
  }
  render();
}
