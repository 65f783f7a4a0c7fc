// The page shell of a run's report, the same for the VS Code results webview and the standalone
// `mnas report --html` file (drawn by dist/webview/results.js, built by client/build.mjs): no
// remote content, a strict CSP with a per-page nonce and no 'unsafe-eval' (vega runs its
// expression interpreter).
import { randomBytes } from 'node:crypto';
import type { ChildDetail, ReportData } from './data';

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
