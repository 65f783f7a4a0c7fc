// The two vega-lite charts of a run, themed from the VS Code CSS variables (light, dark and
// high-contrast alike; the standalone report defines the same variables itself).
import type { ReportData } from '../../server/src/report/data';

type Spec = Record<string, unknown>;

export interface Theme { fg: string; muted: string; grid: string; accent: string; front: string; target: string; baseline: string; font: string }

export function readTheme(style: { getPropertyValue(name: string): string }): Theme {
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    fg: v('--vscode-foreground', '#333'),
    muted: v('--vscode-descriptionForeground', '#777'),
    grid: v('--vscode-widget-border', v('--vscode-panel-border', '#8884')),
    accent: v('--vscode-charts-blue', '#3794ff'),
    front: v('--vscode-charts-orange', '#d18616'),
    target: v('--vscode-charts-red', '#f14c4c'),
    baseline: v('--vscode-charts-purple', '#b180d7'),
    font: v('--vscode-font-family', 'sans-serif'),
  };
}

export function vegaConfig(t: Theme): Spec {
  const axis = { labelColor: t.fg, titleColor: t.fg, domainColor: t.muted, tickColor: t.muted, gridColor: t.grid, labelFont: t.font, titleFont: t.font };
  return {
    background: null,
    font: t.font,
    view: { stroke: null },
    axis,
    legend: { labelColor: t.fg, titleColor: t.fg, labelFont: t.font, titleFont: t.font },
    title: { color: t.fg, font: t.font },
  };
}

/**
 * Tick labels: d3's default shows the precision of the tick step, which a one-point domain makes
 * tiny ("96.300000"); `~g` keeps six significant digits and drops trailing zeros ("96.3").
 */
const NUMBER = '~g';

/** Latency vs accuracy of every child: colored by controller step, Pareto front highlighted, target T as a rule. */
export function scatterSpec(d: ReportData, t: Theme, selected: number | null): Spec {
  const points = d.children.map((c) => ({ ...c, accuracyPct: 100 * c.accuracy, front: c.pareto ? 'Pareto front' : 'child', selected: c.id === selected }));
  const frontPoints = points.filter((p) => p.pareto).sort((a, b) => a.latencyMs - b.latencyMs);
  return {
    width: 'container',
    height: 260,
    config: vegaConfig(t),
    layer: [
      {
        data: { values: [{ targetMs: d.targetMs, label: `target T = ${d.targetMs} ms` }] },
        mark: { type: 'rule', color: t.target, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x: { field: 'targetMs', type: 'quantitative' }, tooltip: [{ field: 'label', title: 'target' }] },
      },
      {
        data: { values: frontPoints },
        mark: { type: 'line', color: t.front, strokeWidth: 2, interpolate: 'step-after' },
        encoding: { x: { field: 'latencyMs', type: 'quantitative' }, y: { field: 'accuracyPct', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 70, cursor: 'pointer' },
        encoding: {
          x: { field: 'latencyMs', type: 'quantitative', title: 'latency (ms)', scale: { zero: false, nice: true }, axis: { format: NUMBER } },
          y: { field: 'accuracyPct', type: 'quantitative', title: 'proxy accuracy (%)', scale: { zero: false, nice: true }, axis: { format: NUMBER } },
          color: { field: 'step', type: 'quantitative', title: 'controller step', scale: { scheme: 'viridis' }, legend: { format: 'd', tickMinStep: 1 } },
          shape: { field: 'front', type: 'nominal', title: null, scale: { domain: ['child', 'Pareto front'], range: ['circle', 'diamond'] } },
          stroke: { condition: { test: 'datum.selected', value: t.fg }, value: null },
          strokeWidth: { condition: { test: 'datum.selected', value: 2 }, value: 0 },
          size: { condition: { test: 'datum.pareto', value: 140 }, value: 60 },
          tooltip: [
            { field: 'name', title: 'child' },
            { field: 'accuracyPct', title: 'accuracy %', format: '.2f' },
            { field: 'latencyMs', title: 'latency ms', format: '.3f' },
            { field: 'reward', format: '.4f' },
            { field: 'step', title: 'step' },
          ],
        },
      },
    ],
  };
}

/** Reward per child in sampling order, its moving average, and a random run's average when there is one. */
export function rewardSpec(d: ReportData, t: Theme): Spec {
  const avgLabel = `moving average (${d.window})`;
  const baseLabel = 'random baseline (average)';
  const values = [
    ...d.curve.map((p) => ({ index: p.index, id: p.id, value: p.reward, series: 'reward' })),
    ...d.curve.map((p) => ({ index: p.index, id: p.id, value: p.avg, series: avgLabel })),
    ...(d.baseline?.curve ?? []).map((p) => ({ index: p.index, id: p.id, value: p.avg, series: baseLabel })),
  ];
  const domain = ['reward', avgLabel, ...(d.baseline ? [baseLabel] : [])];
  return {
    width: 'container',
    height: 200,
    config: vegaConfig(t),
    data: { values },
    mark: { type: 'line', point: { size: 25 } },
    encoding: {
      x: { field: 'index', type: 'quantitative', title: 'child (sampling order)', axis: { tickMinStep: 1, format: 'd' } },
      y: { field: 'value', type: 'quantitative', title: 'reward', scale: { zero: false }, axis: { format: NUMBER } },
      // One legend for both channels of `series` (vega-lite merges them: colored, dashed lines).
      // `legend: null` on either channel would drop the merged legend altogether.
      color: { field: 'series', type: 'nominal', title: null, scale: { domain, range: [t.muted, t.accent, t.baseline] }, legend: { orient: 'bottom', symbolType: 'stroke', symbolStrokeWidth: 2 } },
      strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain, range: [[2, 2], [1, 0], [6, 3]] } },
      tooltip: [{ field: 'series' }, { field: 'index', title: 'child #' }, { field: 'value', title: 'reward', format: '.4f' }],
    },
  };
}
