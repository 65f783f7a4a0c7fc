// The paper's comparison table from a run's full trainings: model, params, mult-adds, latency,
// proxy accuracy, full accuracy; and the verdict, the best child under the latency target
// against the skeleton the space was built from. Pure: `mnas report`, its HTML page and the
// VS Code panel all show this.
import type { FinalRow, FinalTable } from './data';
import type { FullRecord } from '../final/store';

function row(r: FullRecord, targetMs: number): FinalRow {
  return {
    kind: r.target.kind === 'child' ? 'child' : 'baseline', id: r.target.kind === 'child' ? r.target.id : null, name: r.name,
    params: r.params, multAdds: r.multAdds, latencyMs: r.latencyMs, proxyAccuracy: r.proxyAccuracy, accuracy: r.accuracy,
    underTarget: r.latencyMs !== null && r.latencyMs <= targetMs, epochs: r.recipe.epochs,
  };
}

export function finalTable(full: { baseline: FullRecord | null; children: Map<number, FullRecord> }, targetMs: number): FinalTable | null {
  const records = [...(full.baseline ? [full.baseline] : []), ...full.children.values()];
  if (records.length === 0) return null;
  const rows = records.map((r) => row(r, targetMs)).sort((a, b) => (a.latencyMs ?? Infinity) - (b.latencyMs ?? Infinity) || (a.id ?? -1) - (b.id ?? -1));
  const base = rows.find((r) => r.kind === 'baseline') ?? null;
  const best = rows.filter((r) => r.kind === 'child' && r.underTarget).sort((a, b) => b.accuracy - a.accuracy || (a.latencyMs ?? 0) - (b.latencyMs ?? 0))[0] ?? null;
  const comparison = base && best ? {
    child: best, baseline: base, accuracyGain: best.accuracy - base.accuracy,
    latencyRatio: best.latencyMs !== null && base.latencyMs ? best.latencyMs / base.latencyMs : null,
  } : null;
  const note = comparison ? '' : !base ? 'the skeleton is not trained yet: `mnas train RUN` trains it with the children'
    : 'no fully trained child is under the latency target';
  const epochs = [...new Set(records.map((r) => r.recipe.epochs))];
  const first = records[0];
  return {
    rows, comparison, note,
    dataset: `${first.dataset.name}: ${first.dataset.train} train (${first.dataset.valImages} of them held out for the best epoch) / ${first.dataset.test} test`,
    recipe: `${epochs.join(' / ')} epochs, batch ${first.recipe.batchSize}, lr ${first.recipe.lr}, ${first.recipe.emaDecay ? 'EMA' : 'no EMA'}, seed ${first.seed}` +
      (new Set(records.map((r) => JSON.stringify(r.recipe))).size > 1 ? ' (recipes differ between rows)' : ''),
  };
}
