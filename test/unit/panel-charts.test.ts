// The results panel's charts, compiled by vega-lite and rendered to SVG by vega (headless, the
// same libraries the webview runs): with one child the tick labels and the controller-step legend
// read as plain numbers ("96.3", "1"), not with six decimals ("96.300000", "1.000000").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReportData } from '../../server/src/report/data';
import { rewardSpec, scatterSpec, type Theme } from '../../client/webview/charts';

const theme: Theme = { fg: '#333', muted: '#777', grid: '#ccc', accent: '#37f', front: '#d81', target: '#f44', baseline: '#b8d', font: 'sans-serif' };

function oneChild(): ReportData {
  const c = { id: 0, name: 'Tiny_c0000', step: 1, accuracy: 0.963, latencyMs: 0.23, reward: 0.9, params: 1234, multAdds: 5678, pareto: true, latencySource: 'local', cachedFrom: null };
  return {
    children: [c], top: [c], curve: [{ index: 1, id: 0, reward: 0.9, avg: 0.9 }], baseline: null, window: 10, targetMs: 1,
    rewardPreset: 'soft', failed: [],
  } as unknown as ReportData;
}

/** The text of every label in the rendered SVG. */
async function labels(spec: Record<string, unknown>): Promise<string[]> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const { spec: compiled } = vl.compile({ ...spec, width: 400 } as never);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
}

test('one child: axis ticks and the step legend are plain numbers', async () => {
  const text = await labels(scatterSpec(oneChild(), theme, null));
  assert.ok(text.includes('96.3'), `an accuracy tick reads 96.3: ${text.join(' | ')}`);
  assert.ok(text.includes('1'), `the controller-step legend reads 1: ${text.join(' | ')}`);
  for (const t of text) assert.doesNotMatch(t, /\.\d*0{3,}$|\d\.\d{5,}/, `no padded decimals: ${t}`);
  const reward = await labels(rewardSpec(oneChild(), theme));
  for (const t of reward) assert.doesNotMatch(t, /\.\d*0{3,}$|\d\.\d{5,}/, `reward chart: ${t}`);
});
