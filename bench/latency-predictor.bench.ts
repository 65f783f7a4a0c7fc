// Accuracy of the latency predictor against end-to-end measurement on the same source, with the
// timing protocol of `latency local` (latency/localTiming.ts: host lock, CPU-time minimum,
// repeats until the halves agree). `mnas calibrate --device local --backend tflite` builds the
// profile for examples/mnas-space.mnas at its own 224x224 (every distinct unit alone + 100 whole
// children, seed 1, and the re-check of what looks inflated), then 200 held-out random children (seed 4242) are exported and measured end
// to end and compared with the estimate. Also: a mult-adds-only linear baseline fitted on the
// calibration children, the calibration time and measurement count, the cost of estimate().
// Every held-out measurement is appended to bench/results/latency-predictor-heldout.jsonl (the
// child's actions, the figure with its clocks, spread, repeats and load, and the estimate's
// per-unit breakdown), so the error can be analysed offline and the predictor re-scored without
// timing again. Environment: MNAS_LAT_RES (224), MNAS_LAT_HELDOUT (200), MNAS_LAT_RESUME=1 to
// reuse the calibration journal in the temp folder, MNAS_LAT_REUSE_HELDOUT=1 to reuse the
// held-out measurements of that file (only the missing children are measured),
// MNAS_LAT_HELDOUT_FILE to put them elsewhere.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { calibrateCommand } from '../server/src/cli/calibrate';
import { load } from '../server/src/cli/load';
import { estimate, unitMs } from '../server/src/cost/latency/estimate';
import { unitsOf } from '../server/src/cost/latency/keys';
import { fitLinear } from '../server/src/cost/latency/fit';
import { compile } from '../server/src/cost/latency/profile';
import { costOf } from '../server/src/cost/model';
import { toArch } from '../server/src/language/arch';
import { decisions, sample } from '../server/src/language/space';
import { atResolution, DEFAULT_SAMPLES, RECHECK } from '../server/src/latency/calibration';
import { TfliteLatency } from '../server/src/latency/tfliteLatency';
import type { LatencyMeasurement } from '../server/src/util/timing';
import { findPython } from '../server/src/platform/python';
import { Rng } from '../server/src/util/rng';
import { type BenchResult, type Metric, report, round } from './lib/result';

const ROOT = path.resolve(import.meta.dirname, '..');
const HELDOUT_SEED = 4242;
export const HELDOUT_FILE = process.env.MNAS_LAT_HELDOUT_FILE
  ? path.resolve(process.env.MNAS_LAT_HELDOUT_FILE)
  : path.join(ROOT, 'bench', 'results', 'latency-predictor-heldout.jsonl');

/** One held-out child as measured end to end (one line of HELDOUT_FILE). */
export interface HeldOutRow {
  bench: 'latency-predictor'; date: string; commit: string; space: string; resolution: number; seed: number;
  index: number; name: string; actions: number[]; multAdds: number;
  /** The figure (CPU-time minimum) and the rest of the measurement. */
  measuredMs: number; cpuMs?: number; wallMs?: number; median: number; spread: number; repeats: number;
  stable: boolean; splitHalfPct?: number; source: string; seconds: number; load1: number;
  /** The estimate when measured, and its units: key, unscaled ms, table or fallback (re-scoring recomputes them). */
  predictedMs: number; profile: string; units: [string, number, 'table' | 'fallback'][];
}

function readHeldOut(file: string): HeldOutRow[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l, i) => {
    try { return JSON.parse(l) as HeldOutRow; } catch (e) { throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message}); delete the line or the file to measure it again`); }
  });
}

function gitCommit(): string {
  try { return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return 'unknown'; }
}

export async function run(): Promise<BenchResult> {
  try { findPython(); } catch (e) { return { benchmark: 'latency-predictor', skipped: `no PyTorch (the exporter needs it): ${(e as Error).message}` }; }
  const res = Number(process.env.MNAS_LAT_RES ?? 224);
  const heldOut = Number(process.env.MNAS_LAT_HELDOUT ?? 200);
  const load0 = os.loadavg()[0];
  const file = path.join(ROOT, 'examples', 'mnas-space.mnas');
  const a = load(file);
  const entry = a.local.get('MnasSpace');
  if (entry?.kind !== 'space' || !entry.resolution.space) throw new Error('examples/mnas-space.mnas: MnasSpace did not resolve');
  const space = atResolution(entry.resolution.space, res);
  const dir = path.join(os.tmpdir(), 'mnas-latency-bench');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, `local-tflite-${res}.json`);
  if (process.env.MNAS_LAT_RESUME !== '1') fs.rmSync(`${out}.journal`, { force: true });

  // Calibration: exactly `mnas calibrate --device local --backend tflite --space FILE --resolution RES`.
  const t0 = Date.now();
  let last = 0;
  const cal = await calibrateCommand(
    { device: 'local', space: file, out, backend: 'tflite', samples: String(DEFAULT_SAMPLES), seed: '1', resolution: String(res), repeats: '10' },
    (line) => { if (!line.startsWith('  ') || Date.now() - last > 30_000) { last = Date.now(); console.log(`  ${line.trim()}`); } },
  );
  const calSeconds = (Date.now() - t0) / 1000;
  if (!cal.profile) throw new Error('calibration did not complete');
  const profile = compile(cal.profile);

  // Held-out children, measured end to end by the search's own `latency local` source (or reused).
  const ds = decisions(space);
  const rng = new Rng(HELDOUT_SEED);
  const children = Array.from({ length: heldOut }, (_, i) => ({ index: i, name: `held${i}`, actions: ds.map((d) => rng.int(d.options)) }));
  const reuse = process.env.MNAS_LAT_REUSE_HELDOUT === '1';
  const same = (r: HeldOutRow, c: (typeof children)[number]) => r.space === space.name && r.resolution === res && r.seed === HELDOUT_SEED && r.index === c.index && r.actions.join(',') === c.actions.join(',');
  const kept = reuse ? readHeldOut(HELDOUT_FILE) : [];
  if (!reuse) fs.rmSync(HELDOUT_FILE, { force: true });
  fs.mkdirSync(path.dirname(HELDOUT_FILE), { recursive: true });
  const commit = gitCommit();
  const rows: { measured: number; predicted: number; multAdds: number; stable: boolean; seconds: number; reused: boolean }[] = [];
  const tm = Date.now();
  let source: TfliteLatency | undefined;
  try {
    for (const c of children) {
      const arch = toArch(sample(space, c.actions, c.name));
      const cost = costOf(arch);
      const est = estimate(profile, arch, cost);
      const prev = kept.find((r) => same(r, c));
      if (prev) {
        rows.push({ measured: prev.measuredMs, predicted: est.ms, multAdds: cost.multAdds, stable: prev.stable, seconds: prev.seconds, reused: true });
        continue;
      }
      source ??= await TfliteLatency.start({});
      const s0 = Date.now();
      const m: LatencyMeasurement = await source.measure(arch);
      const seconds = (Date.now() - s0) / 1000;
      const row: HeldOutRow = {
        bench: 'latency-predictor', date: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'), commit, space: space.name, resolution: res, seed: HELDOUT_SEED,
        index: c.index, name: c.name, actions: c.actions, multAdds: cost.multAdds,
        measuredMs: m.ms, cpuMs: m.cpuMs, wallMs: m.wallMs, median: m.median, spread: m.spread, repeats: m.repeats,
        stable: m.stable ?? true, splitHalfPct: m.splitHalfPct, source: m.source, seconds: round(seconds, 2), load1: round(os.loadavg()[0], 2),
        predictedMs: round(est.ms, 4), profile: cal.profile.name,
        units: unitsOf(arch, cost).map((u) => { const r = unitMs(profile, u); return [u.key, round(r.ms, 5), r.from]; }),
      };
      fs.appendFileSync(HELDOUT_FILE, `${JSON.stringify(row)}\n`);
      rows.push({ measured: m.ms, predicted: est.ms, multAdds: cost.multAdds, stable: row.stable, seconds, reused: false });
      if (c.index % 25 === 0) console.log(`  held-out ${c.index}/${heldOut}`);
    }
  } finally {
    await source?.close();
  }
  const heldOutSeconds = (Date.now() - tm) / 1000;
  const reusedRows = kept.filter((r) => children.some((c) => same(r, c)));
  const heldOutWhen = reusedRows.length
    ? ` The ${reusedRows.length} reused held-out figures were measured ${reusedRows[0].date} to ${reusedRows[reusedRows.length - 1].date} at commit ${reusedRows[0].commit} (1-minute load ${Math.min(...reusedRows.map((r) => r.load1))}-${Math.max(...reusedRows.map((r) => r.load1))}); this run measured ${rows.length - reusedRows.length} in ${round(heldOutSeconds, 1)} s.`
    : '';
  const load1 = os.loadavg()[0];

  const errs = rows.map((r) => (100 * (r.predicted - r.measured)) / r.measured);
  const within = (e: number[], t: number) => (100 * e.filter((x) => Math.abs(x) <= t).length) / e.length;
  const rmse = Math.sqrt(rows.reduce((s, r) => s + (r.predicted - r.measured) ** 2, 0) / rows.length);
  const rmsePct = Math.sqrt(errs.reduce((s, e) => s + e * e, 0) / errs.length);
  // Baseline: ms = a + b * mult-adds, fitted on the calibration's whole-model samples.
  const calChecks = cal.profile.accuracy.checks ?? [];
  const calMadds = (() => {
    const r = new Rng(1);
    return Array.from({ length: calChecks.length }, (_, i) => costOf(toArch(sample(space, ds.map((d) => r.int(d.options)), `sample${i}`))).multAdds);
  })();
  const base = fitLinear(calMadds.map((m) => [1, m / 1e6]), calChecks.map((c) => c.measuredMs));
  const baseErrs = rows.map((r) => (100 * (base.coef[0] + (base.coef[1] * r.multAdds) / 1e6 - r.measured)) / r.measured);

  // Cost of estimate(): per model and per block, warm.
  const probe = Array.from({ length: 50 }, (_, i) => toArch(sample(space, ds.map((d) => (i * 7 + d.options) % d.options))));
  for (const p of probe) estimate(profile, p);
  const te = performance.now();
  let nBlocks = 0;
  for (let k = 0; k < 20; k++) for (const p of probe) { estimate(profile, p); nBlocks += p.blocks.length; }
  const estUs = (1000 * (performance.now() - te)) / Math.max(1, nBlocks);
  const sorted = rows.map((r) => r.measured).sort((x, y) => x - y);

  const w10 = within(errs, 10);
  const metrics: Metric[] = [
    { name: 'within_10pct', value: round(w10, 1), unit: '%', goal: '>= 95', met: w10 >= 95 },
    report('within_5pct', within(errs, 5), '%'),
    report('rmse', rmse, 'ms'),
    report('rmse_pct', rmsePct, '%'),
    report('mean_error_pct', errs.reduce((s, e) => s + e, 0) / errs.length, '%'),
    report('max_abs_error_pct', Math.max(...errs.map(Math.abs)), '%'),
    report('baseline_multadds_within_10pct', within(baseErrs, 10), '%'),
    report('calibration_loo_within_10pct', 100 * cal.profile.accuracy.within10, '%'),
    report('calibration_seconds', cal.seconds, 's'),
    report('calibration_measurements', cal.measured + cal.reused, 'count'),
    report('calibration_units', cal.units, 'count'),
    report('calibration_children', calChecks.length, 'count'),
    report('calibration_rechecked_units', cal.rechecked.units, 'count'),
    report('calibration_rechecked_children', cal.rechecked.models, 'count'),
    report('calibration_rechecked_lowered', cal.rechecked.lowered, 'count'),
    report('heldout_models', rows.length, 'count'),
    report('heldout_median_ms', sorted[Math.floor(sorted.length / 2)] ?? 0, 'ms'),
    report('heldout_seconds_per_model', rows.reduce((a, r) => a + r.seconds, 0) / Math.max(1, rows.length), 's'),
    report('heldout_reused', rows.filter((r) => r.reused).length, 'count'),
    report('heldout_capped_pct', (100 * rows.filter((r) => !r.stable).length) / Math.max(1, rows.length), '%'),
    { name: 'estimate_us_per_block', value: round(estUs, 2), unit: 'us', goal: '< 1000', met: estUs < 1000 },
  ];
  return {
    benchmark: 'latency-predictor',
    metrics,
    machine: { backend: cal.profile.device.runtime, resolution: res, load1_start: round(load0, 2), load1_end: round(load1, 2) },
    notes: `\`mnas calibrate --device local --backend tflite\` for MnasSpace at ${res}x${res}: ${cal.units} distinct units measured alone + ${calChecks.length} whole children (seed 1), then ${cal.rechecked.units} units and ${cal.rechecked.models} children that looked inflated measured again (unit > ${RECHECK.unitRatio}x its fallback fit, child > ${RECHECK.modelRatio}x its leave-one-out prediction; ${cal.rechecked.lowered} came out lower, the lower figure kept), ${round(cal.seconds / 60, 1)} min of measuring in all (this run ${round(calSeconds / 60, 1)} min); then ${rows.length} held-out random children (seed 4242) exported and measured end to end with the search's \`latency local\` source vs the estimate. Every figure: TFLite wasm runtime, 1 thread, under the host timing lock, minimum of the per-round CPU time per inference, rounds until the interleaved halves agree within 1% (docs/device.md, "Timing protocol"). Whole-model fit: ${cal.profile.overhead.ms} ms + ${cal.profile.overhead.scale} x units + ${cal.profile.overhead.fitScale ?? 0} x fallback. Load average ${round(load0, 1)} -> ${round(load1, 1)} on ${os.cpus().length} cores (shared machine).${heldOutWhen} Held-out figures and per-unit breakdowns: bench/results/latency-predictor-heldout.jsonl.`,
  };
}
