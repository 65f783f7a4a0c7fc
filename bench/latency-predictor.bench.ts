// Accuracy of the latency predictor against end-to-end measurement on the same source, with the
// timing protocol of `latency local` (latency/localTiming.ts: host lock, CPU-time minimum,
// repeats until the halves agree). `mnas calibrate --device local --backend tflite` builds the
// profile for examples/mnas-space.mnas at its own 224x224 (every distinct unit alone + 20 whole
// children, seed 1), then 200 held-out random children (seed 4242) are exported and measured end
// to end and compared with the estimate. Also: a mult-adds-only linear baseline fitted on the
// calibration children, the calibration time and measurement count, the cost of estimate().
// Environment: MNAS_LAT_RES (224), MNAS_LAT_HELDOUT (200), MNAS_LAT_RESUME=1 to reuse the
// calibration journal in the temp folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { calibrateCommand } from '../server/src/cli/calibrate';
import { load } from '../server/src/cli/load';
import { estimate } from '../server/src/cost/latency/estimate';
import { fitLinear } from '../server/src/cost/latency/fit';
import { compile } from '../server/src/cost/latency/profile';
import { costOf } from '../server/src/cost/model';
import { toArch } from '../server/src/language/arch';
import { decisions, sample } from '../server/src/language/space';
import { atResolution } from '../server/src/latency/calibration';
import { TfliteLatency } from '../server/src/latency/tfliteLatency';
import { findPython } from '../server/src/platform/python';
import { Rng } from '../server/src/util/rng';
import { type BenchResult, type Metric, report, round } from './lib/result';

const ROOT = path.resolve(import.meta.dirname, '..');

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
    { device: 'local', space: file, out, backend: 'tflite', samples: '20', seed: '1', resolution: String(res), repeats: '10' },
    (line) => { if (!line.startsWith('  ') || Date.now() - last > 30_000) { last = Date.now(); console.log(`  ${line.trim()}`); } },
  );
  const calSeconds = (Date.now() - t0) / 1000;
  if (!cal.profile) throw new Error('calibration did not complete');
  const profile = compile(cal.profile);

  // Held-out children, measured end to end by the search's own `latency local` source.
  const source = await TfliteLatency.start({});
  const ds = decisions(space);
  const rng = new Rng(4242);
  const rows: { measured: number; predicted: number; multAdds: number; stable: boolean; seconds: number }[] = [];
  const tm = Date.now();
  try {
    for (let i = 0; i < heldOut; i++) {
      const spec = sample(space, ds.map((d) => rng.int(d.options)), `held${i}`);
      const arch = toArch(spec);
      const cost = costOf(arch);
      const s0 = Date.now();
      const m = await source.measure(arch);
      rows.push({ measured: m.ms, predicted: estimate(profile, arch, cost).ms, multAdds: cost.multAdds, stable: m.stable ?? true, seconds: (Date.now() - s0) / 1000 });
      if (i % 25 === 0) console.log(`  held-out ${i}/${heldOut}`);
    }
  } finally {
    await source.close();
  }
  const heldOutSeconds = (Date.now() - tm) / 1000;
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
    report('calibration_seconds', calSeconds, 's'),
    report('calibration_measurements', cal.measured + cal.reused, 'count'),
    report('calibration_units', cal.units, 'count'),
    report('heldout_models', rows.length, 'count'),
    report('heldout_median_ms', sorted[Math.floor(sorted.length / 2)] ?? 0, 'ms'),
    report('heldout_seconds_per_model', heldOutSeconds / Math.max(1, rows.length), 's'),
    report('heldout_capped_pct', (100 * rows.filter((r) => !r.stable).length) / Math.max(1, rows.length), '%'),
    { name: 'estimate_us_per_block', value: round(estUs, 2), unit: 'us', goal: '< 1000', met: estUs < 1000 },
  ];
  return {
    benchmark: 'latency-predictor',
    metrics,
    machine: { backend: cal.profile.device.runtime, resolution: res, load1_start: round(load0, 2), load1_end: round(load1, 2) },
    notes: `\`mnas calibrate --device local --backend tflite\` for MnasSpace at ${res}x${res}: ${cal.units} distinct units measured alone + 20 whole children (seed 1), ${round(calSeconds / 60, 1)} min; then ${rows.length} held-out random children (seed 4242) exported and measured end to end with the search's \`latency local\` source vs the estimate. Every figure: TFLite wasm runtime, 1 thread, under the host timing lock, minimum of the per-round CPU time per inference, rounds until the interleaved halves agree within 1% (docs/device.md, "Timing protocol"). Fitted overhead ${cal.profile.overhead.ms} ms, scale ${cal.profile.overhead.scale}. Load average ${round(load0, 1)} -> ${round(load1, 1)} on ${os.cpus().length} cores (shared machine).`,
  };
}
