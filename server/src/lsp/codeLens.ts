// Code lenses: a one-line cost summary above each model and space, and `Run Search` above
// each search (the client implements `mnas.runSearch`).
import type { CodeLens } from 'vscode-languageserver';
import type { Analysis } from '../analysis/analysis';
import { withheld } from '../language/resolve';
import { formatMs, type LatencyContext, latencyEstimate } from './costMarkdown';
import { grouped, millions, short } from './numbers';
import { rangeOf } from './positions';

export const RUN_SEARCH_COMMAND = 'mnas.runSearch';

/** `latency`: the active device profile; the model lens then ends with "≈ 78.0 ms (PROFILE)". */
export function codeLenses(a: Analysis, params: { uri: string }, latency?: LatencyContext): CodeLens[] {
  const lenses: CodeLens[] = [];
  for (const e of a.local.values()) {
    if (e.file !== a.file) continue;
    const range = rangeOf(a, { start: e.node.span.start, end: e.node.name.span.end });
    if (e.kind === 'model') {
      const c = e.cost;
      if (withheld(e.resolved, 'model')) {
        lenses.push({ range, command: { title: `${c.blocks.length} blocks · costs not shown until the errors are fixed`, command: '' } });
        continue;
      }
      const layers = c.blocks.reduce((n, b) => n + b.layers.length, 0);
      const parts = [`${grouped(c.params)} params`, `${millions(c.multAdds)} mult-adds`, `${c.blocks.length} blocks / ${layers} layers`];
      const est = latencyEstimate(latency, e);
      if (est) parts.push(`≈ ${formatMs(est.ms)} ms (${est.profile}${est.approximate ? ', approx.' : ''})`);
      else if (c.latencyMs !== undefined) parts.push(`~${c.latencyMs.toFixed(1)} ms`);
      lenses.push({ range, command: { title: parts.join(' · '), command: '' } });
    } else if (e.kind === 'space') {
      const s = e.stats;
      const title = s ? `~10^${s.log10Size.toFixed(1)} models · params ${short(s.params.min)}–${short(s.params.max)}` : e.withheld ? 'skeleton has errors: figures not shown' : 'skeleton unresolved';
      lenses.push({ range, command: { title, command: '' } });
    } else {
      lenses.push({ range, command: { title: '▶ Run Search', command: RUN_SEARCH_COMMAND, arguments: [params.uri, e.node.name.value] } });
    }
  }
  return lenses.sort((x, y) => x.range.start.line - y.range.start.line);
}
