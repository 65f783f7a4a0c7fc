// `mnas report RUN --html [-o FILE]`: a standalone HTML page of a run, drawn by the same
// renderer as the VS Code results panel (dist/webview/results.js, built by client/build.mjs),
// with the data, and the detail of the best children and the Pareto front, embedded as JSON.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findUp } from '../platform/locate';
import { childDetail } from '../report/detail';
import { loadRun } from '../report/load';
import { makeNonce, reportPage } from '../report/page';
import { CliError } from './load';

export const WEBVIEW_BUNDLE = path.join('dist', 'webview', 'results.js');

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
