// `mnas report RUN --html [-o FILE]`: a standalone HTML page of a run, drawn by the same
// renderer as the VS Code results panel (dist/webview/results.js, built by client/build.mjs),
// with the data embedded as JSON. No remote content, a strict CSP with a per-page nonce and no
// 'unsafe-eval' (vega runs its expression interpreter). Also the run-folder loading the panel
// uses, so the panel and the page show the same numbers.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJournal } from '../util/journal';
import { childDetail, type ChildDetail, prepareReport, type ReportData, type ReportRunInfo, type RunStatus } from '../search/reportData';
import { type ChildRecord, runPaths } from '../search/runFolder';
import { findUp } from '../platform/locate';
import { finalTable } from '../final/comparison';
import { readFullRecords } from '../final/store';
import { CliError } from './load';

export const WEBVIEW_BUNDLE = path.join('dist', 'webview', 'results.js');

export interface LoadedRun {
  data: ReportData;
  /** Child records by id (full model text and spec, for open / export / copy / detail). */
  children: Map<number, ChildRecord>;
}

function readInfo(dir: string): ReportRunInfo {
  const file = runPaths(dir).info;
  if (!fs.existsSync(file)) throw new CliError(`${dir} is not a run folder (no run.json).`);
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ReportRunInfo;
  } catch (e) {
    throw new CliError(`${file}: not valid JSON (${(e as Error).message}).`);
  }
}

/** The newest random-search run of the same search beside this one (same parent folder), if any. */
export function findBaseline(dir: string, info: ReportRunInfo): string | null {
  if (info.strategy === 'random') return null;
  const parent = path.dirname(dir);
  let best: { dir: string; mtime: number } | null = null;
  for (const name of fs.readdirSync(parent)) {
    const other = path.join(parent, name);
    if (other === dir) continue;
    const file = runPaths(other).info;
    try {
      const o = JSON.parse(fs.readFileSync(file, 'utf8')) as ReportRunInfo;
      if (o.strategy !== 'random' || o.search !== info.search) continue;
      const mtime = fs.statSync(file).mtimeMs;
      if (!best || mtime > best.mtime) best = { dir: other, mtime };
    } catch {
      // not a run folder
    }
  }
  return best?.dir ?? null;
}

/** Reads a run folder (run.json, journal.jsonl, and a random baseline beside it) into report data. */
export function loadRun(runDir: string, opts: { status?: RunStatus; topK?: number } = {}): LoadedRun {
  const dir = path.resolve(runDir);
  const info = readInfo(dir);
  const entries = readJournal<{ type?: string }>(runPaths(dir).journal).entries;
  const baselineDir = findBaseline(dir, info);
  const baseline = baselineDir ? { run: baselineDir, entries: readJournal<{ type?: string }>(runPaths(baselineDir).journal).entries } : null;
  const final = finalTable(readFullRecords(dir), info.config?.targetMs ?? 0);
  const data = prepareReport({ run: dir, info, entries, status: opts.status, baseline, topK: opts.topK, final });
  const children = new Map<number, ChildRecord>();
  for (const e of entries) if (e.type === 'child') children.set((e as ChildRecord).id, e as ChildRecord);
  return { data, children };
}

/** A fresh nonce for one page load (crypto, not Math.random). */
export function makeNonce(): string {
  return randomBytes(18).toString('base64');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON that is safe inside a <script> element. */
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');

export interface PageOptions {
  title: string;
  nonce: string;
  /** Webview: the script's URI (asWebviewUri) and the webview's CSP source. */
  scriptUri?: string;
  cspSource?: string;
  /** Standalone: the bundle's text, inlined, and the data to embed. */
  inlineScript?: string;
  embedded?: { data: ReportData; details: ChildDetail[] };
}

/** The page shell both views use; only where the script and the data come from differ. */
export function reportPage(o: PageOptions): string {
  const src = o.cspSource ? ` ${o.cspSource}` : '';
  const csp = [
    "default-src 'none'",
    `img-src${src} data:`,
    `style-src${src} 'nonce-${o.nonce}'`,
    `font-src${src}`,
    `script-src 'nonce-${o.nonce}'`,
  ].join('; ');
  const standaloneTheme = o.embedded ? `<style nonce="${o.nonce}">
    :root { color-scheme: light dark; --vscode-font-family: system-ui, sans-serif; --vscode-foreground: #1f1f1f; --vscode-editor-background: #ffffff;
      --vscode-descriptionForeground: #616161; --vscode-widget-border: #d4d4d4; --vscode-list-hoverBackground: #f0f0f0; --vscode-charts-blue: #1a85ff; --vscode-charts-orange: #d18616; --vscode-charts-red: #e51400; --vscode-charts-purple: #652d90; }
    @media (prefers-color-scheme: dark) { :root { --vscode-foreground: #cccccc; --vscode-editor-background: #1f1f1f; --vscode-descriptionForeground: #9d9d9d; --vscode-widget-border: #454545; --vscode-list-hoverBackground: #2a2d2e; --vscode-charts-blue: #3794ff; --vscode-charts-red: #f14c4c; --vscode-charts-purple: #b180d7; } }
  </style>` : '';
  const data = o.embedded ? `<script type="application/json" id="mnas-report">${scriptJson(o.embedded)}</script>` : '';
  const script = o.inlineScript !== undefined
    ? `<script nonce="${o.nonce}">${o.inlineScript.replace(/<\/script/gi, '<\\/script')}</script>`
    : `<script nonce="${o.nonce}" src="${escapeHtml(o.scriptUri ?? '')}"></script>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>${escapeHtml(o.title)}</title>
${standaloneTheme}
</head>
<body>
<main id="root"></main>
${data}
${script}
</body>
</html>
`;
}

/** The webview bundle's text, found upwards from the CLI (dist/) or the working folder. */
export function readWebviewBundle(): string {
  const root = findUp(WEBVIEW_BUNDLE);
  if (!root) throw new CliError(`cannot find ${WEBVIEW_BUNDLE}; build it with \`node client/build.mjs\`.`);
  return fs.readFileSync(path.join(root, WEBVIEW_BUNDLE), 'utf8');
}

/** The standalone page of a run: best children and the Pareto front get their detail embedded. */
export function renderReportHtml(runDir: string, bundle = readWebviewBundle()): string {
  const { data, children } = loadRun(runDir);
  const ids = new Set([...data.top.map((c) => c.id), ...data.front]);
  const details = [...ids].flatMap((id) => {
    const c = children.get(id);
    return c ? [childDetail(c)] : [];
  });
  return reportPage({ title: `${data.search}: ${path.basename(data.run)}`, nonce: makeNonce(), inlineScript: bundle, embedded: { data, details } });
}

/** `mnas report RUN --html [-o FILE]`: writes the page (default RUN/report.html) and returns its path. */
export function reportHtmlCommand(runDir: string, output?: string): string {
  const file = path.resolve(output ?? path.join(runDir, 'report.html'));
  fs.writeFileSync(file, renderReportHtml(runDir));
  return file;
}
