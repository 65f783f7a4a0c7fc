// `mnas calibrate --device local|SERIAL --space FILE [--out PROFILE.json] [--samples N]`:
// measures every distinct unit a search space can produce plus a sample of whole children on
// one device, fits the fallback and the overhead, and writes a device profile. Resumable: the
// measurements go to PROFILE.json.journal and a re-run reuses them.
import * as path from 'node:path';
import type { Command } from 'commander';
import { calibrate, type CalibrationResult, DEFAULT_SAMPLES, journalOf, spaceUnits, atResolution } from '../latency/calibration';
import { userProfileDir } from '../cost/latency/store';
import type { SpaceEntry } from '../analysis/analysis';
import type { ResolvedSpace } from '../language/space';
import type { LatencySource, LocalLatencyOptions } from '../latency/source';
import { LocalTorchLatency } from '../latency/torchLatency';
import { CliError, load } from './load';
import { AdbLatency } from '../latency/adbLatency';
import { TfliteLatency } from '../latency/tfliteLatency';

export interface CalibrateCliOptions {
  device: string;
  space: string;
  name?: string;
  out?: string;
  samples?: string;
  resolution?: string;
  backend?: 'auto' | 'torch' | 'tflite';
  python?: string;
  seed?: string;
  repeats?: string;
}

/**
 * The measurement source for `--device`: `local` is TFLite's runtime on the exported layer
 * models (the PyTorch worker with `--backend torch`, or when the runtime cannot load); anything
 * else is an adb serial.
 */
export async function openCalibrationSource(device: string, backend: CalibrateCliOptions['backend'] = 'auto', local: LocalLatencyOptions = {}): Promise<LatencySource> {
  if (device === 'local') {
    if (backend !== 'torch') {
      try {
        // The local protocol: `repeats` is the least number of ~5 ms rounds; more follow until the figure settles.
        return await TfliteLatency.start({ python: local.python, warmup: local.warmup, threads: local.threads, stop: local.repeats ? { minRounds: Math.max(2, local.repeats) } : undefined });
      } catch (e) {
        if (backend === 'tflite') throw new CliError(`--backend tflite: TFLite's runtime does not load here (${(e as Error).message}). Use --backend torch.`);
      }
    }
    return LocalTorchLatency.start(local);
  }
  return AdbLatency.open(device, { python: local.python });
}

function spaceOf(file: string, name?: string): ResolvedSpace {
  const a = load(file);
  const spaces = [...a.local.values()].filter((e): e is SpaceEntry => e.kind === 'space');
  const e = name ? spaces.find((s) => s.node.name.value === name) : spaces[0];
  if (!e) throw new CliError(name ? `${file}: no space named \`${name}\`. It declares ${spaces.map((s) => s.node.name.value).join(', ') || 'no space'}.` : `${file}: declares no space. Calibrate needs a \`space NAME from MODEL { ... }\`.`);
  if (!e.resolution.space || a.problems.some((p) => p.severity === 'error')) throw new CliError(`${file}: space \`${e.node.name.value}\` has errors; run \`mnas check ${file}\` first.`);
  return e.resolution.space;
}

const int = (v: string | undefined, flag: string, d: number): number => {
  if (v === undefined) return d;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${flag} expects a whole number, got \`${v}\`.`);
  return n;
};

export async function calibrateCommand(opts: CalibrateCliOptions, log: (s: string) => void = console.log): Promise<CalibrationResult> {
  const space = spaceOf(opts.space, opts.name);
  const resolution = opts.resolution ? int(opts.resolution, '--resolution', 224) : undefined;
  const out = path.resolve(opts.out ?? path.join(userProfileDir(), `${opts.device === 'local' ? 'local' : opts.device}.json`));
  const units = spaceUnits(atResolution(space, resolution)).length;
  const repeats = int(opts.repeats, '--repeats', 15);
  const source = await openCalibrationSource(opts.device, opts.backend, { python: opts.python, warmup: 3, repeats });
  log(`calibrating ${space.name} on ${source.name}: ${units} distinct units + ${int(opts.samples, '--samples', DEFAULT_SAMPLES)} whole children; journal ${journalOf(out)}`);
  let last = 0;
  try {
    const r = await calibrate({
      space, source, out, resolution, samples: int(opts.samples, '--samples', DEFAULT_SAMPLES), seed: int(opts.seed, '--seed', 1),
      name: path.basename(out).replace(/\.json$/, ''),
      onProgress: (p) => {
        if (Date.now() - last < 2000) return;
        last = Date.now();
        log(`  ${p.phase} ${p.done}/${p.total}${p.reused ? ` (${p.reused} reused)` : ''}`);
      },
    });
    if (r.profile) {
      const a = r.profile.accuracy;
      log(`wrote ${out}: ${Object.keys(r.profile.table).length} table entries, overhead ${r.profile.overhead.ms.toFixed(3)} ms + ${r.profile.overhead.scale} x units + ${r.profile.overhead.fitScale ?? 0} x fallback; re-measured ${r.rechecked.units} units and ${r.rechecked.models} children that looked inflated (${r.rechecked.lowered} came out lower); whole children (${a.models >= 4 ? 'leave-one-out' : 'in-sample'}): ${(100 * a.within10).toFixed(0)}% within ±10%, RMSE ${a.rmsePct}%; ${r.measured} measured, ${r.reused} reused, ${r.seconds.toFixed(0)} s`);
    }
    return r;
  } finally {
    await source.close();
  }
}

export function register(program: Command): void {
  program.command('calibrate')
    .description('Build a device latency profile for a search space: time every distinct layer alone and a sample of whole children, re-measure what looks inflated, fit the fallback and the whole-model correction (resumable).')
    .requiredOption('--device <local|SERIAL>', '`local` (this machine) or an adb serial from `mnas devices`')
    .requiredOption('--space <file>', 'a .mnas file declaring the space')
    .option('--name <space>', 'which space of the file (default: the first)')
    .option('--out <profile.json>', 'output profile (default: ~/.config/mnas-studio/profiles/DEVICE.json)')
    .option('--samples <n>', 'whole children to measure for the whole-model fit and accuracy check', String(DEFAULT_SAMPLES))
    .option('--resolution <n>', 'calibrate the skeleton at this input resolution')
    .option('--backend <auto|torch|tflite>', 'local backend: TFLite runtime when available (auto), or the PyTorch worker', 'auto')
    .option('--repeats <n>', 'local TFLite: rounds of ~5 ms at least, more until they agree within 1% (the figure is the CPU-time minimum); torch: timed runs', '15')
    .option('--seed <n>', 'seed of the whole-children sample', '1')
    .option('--python <path>', 'Python interpreter with torch (torch backend)')
    .action(async (opts: CalibrateCliOptions) => {
      const r = await calibrateCommand(opts);
      if (!r.complete) process.exitCode = 1;
    });
}
