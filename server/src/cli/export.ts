// `mnas export FILE [--model NAME] [--weights RUN/CHILD | PATH/weights.pt] -o model.tflite`:
// TFLite flatbuffer export (docs/device.md#tflite-export). The weights come from the PyTorch
// worker (BN folded there); the file is then loaded in the real TFLite runtime and its output
// compared with PyTorch's on a random input, unless --no-verify.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { Arch, ModelSpec } from '../language/arch';
import { toArch } from '../language/arch';
import type { ModelEntry } from '../analysis/analysis';
import { costOf } from '../cost/model';
import { compareOutputs, EXPORT_TOLERANCE, exportWithWorker, torchForward } from '../device/tflite/index';
import { loadTflite } from '../device/tfliteRuntime';
import { readJournal } from '../util/journal';
import { childFiles, fileInRun, runPaths, type ChildRecord, type RunInfo } from '../search/runFolder';
import { TorchTrainer } from '../train/torchTrainer';
import { mulberry32 } from '../train/datasets';
import { CliError, load } from './load';
import { FULL_FILES, readFullRecord } from '../final/store';

export interface ExportCliOptions {
  model?: string;
  weights?: string;
  /** With --weights RUN/CHILD: the search's proxy weights even when fully trained ones exist. */
  proxyWeights?: boolean;
  output?: string;
  seed?: string;
  softmax?: boolean;
  verify?: boolean;
  python?: string;
  json?: boolean;
}

export interface ExportTarget {
  arch: Arch;
  weightsPath?: string;
  /** What is exported, for people: "model MnasNetA1 of a1.mnas". */
  what: string;
  /** Notes printed with the result (proxy scale, ignored FILE, ...). */
  notes: string[];
}

/** The model of a .mnas file: --model, else the only one. */
export function modelOf(file: string, name?: string): ModelEntry {
  const a = load(file);
  const models = [...a.local.values()].filter((e): e is ModelEntry => e.kind === 'model');
  const errors = a.problems.filter((p) => p.severity === 'error');
  let entry: ModelEntry | undefined;
  if (name) {
    entry = models.find((m) => m.node.name.value === name);
    if (!entry) throw new CliError(`${file}: no model named \`${name}\`. It declares ${models.map((m) => m.node.name.value).join(', ') || 'no models'}.`);
  } else if (models.length === 1) {
    entry = models[0];
  } else {
    throw new CliError(models.length === 0
      ? `${file}: declares no model to export (spaces and searches cannot be exported; export a child with --weights RUN/CHILD).`
      : `${file}: declares ${models.length} models (${models.map((m) => m.node.name.value).join(', ')}); choose one with --model NAME.`);
  }
  if (errors.length > 0 || !entry.resolved.valid) {
    throw new CliError(`${file}: has ${errors.length} error(s); fix them before exporting (run \`mnas check ${file}\`).`);
  }
  return entry;
}

/** `RUN/CHILD` (a run folder with run.json, then a child id) or `RUN/baseline` (its skeleton, once `mnas train` trained it). Null when `spec` is neither. */
export function parseChildRef(spec: string): { run: string; id: number | 'baseline' } | null {
  const id = path.basename(spec);
  const run = path.dirname(spec);
  if (!/^(\d+|baseline)$/.test(id) || !fs.existsSync(runPaths(run).info)) return null;
  return { run, id: id === 'baseline' ? 'baseline' : Number(id) };
}

/** The fully trained network in the run's folder `rel` (mnas train), if there is one: its arch and best weights, inside the run folder. */
function fullTarget(run: string, rel: string, what: string): ExportTarget | null {
  const dir = fileInRun(run, rel, run, rel);
  const rec = readFullRecord(dir);
  if (!rec) return null;
  const weightsPath = fileInRun(run, `${rel}/${FULL_FILES.weights}`, `${run}: the fully trained weights`, `${rel}/${FULL_FILES.weights}`);
  if (!fs.existsSync(weightsPath)) return null;
  return {
    arch: rec.arch, weightsPath, what,
    notes: [`fully trained weights (mnas train: best of ${rec.recipe.epochs} epochs, epoch ${rec.bestEpoch}, ${rec.bestSource === 'ema' ? 'EMA' : 'raw'} weights): ` +
      `${(100 * rec.accuracy).toFixed(2)}% on ${rec.dataset.test} held-out ${rec.dataset.name} images, input ${rec.arch.input.h}x${rec.arch.input.w}x${rec.arch.input.c}. --proxy-weights exports the search's proxy weights instead.`],
  };
}

/** The arch and weights of a search child: fully trained when `mnas train` has trained it, else at the PROXY scale it was searched at. */
export async function childTarget(run: string, id: number | 'baseline', proxyWeights = false): Promise<ExportTarget> {
  const p = runPaths(run);
  if (id === 'baseline') {
    const t = fullTarget(run, 'baseline', `the skeleton of run ${run}`);
    if (!t) throw new CliError(`${run}: the skeleton has not been trained yet: run \`mnas train ${run}\` first.`);
    return t;
  }
  const { entries, lines } = readJournal<{ type: string; id?: number }>(p.journal);
  const at = entries.findIndex((e) => e.type === 'child' && e.id === id);
  if (at < 0) {
    const failed = entries.find((e) => e.type === 'failed' && e.id === id);
    const ids = entries.filter((e) => e.type === 'child').map((e) => e.id);
    throw new CliError(failed
      ? `${run}: child ${id} failed during the search and has no weights.`
      : `${run}: no child ${id} in ${p.journal} (children: ${ids.length ? `${ids[0]}..${ids[ids.length - 1]}` : 'none yet'}). Check the id with \`mnas report ${run}\`.`);
  }
  const rec = entries[at] as ChildRecord;
  // Every file comes from this run folder, whatever the journal says (it is not trusted).
  const files = childFiles(run, rec, `${p.journal}:${lines[at]}`);
  if (!proxyWeights) {
    const t = fullTarget(run, `children/${rec.cachedFrom ?? rec.id}`, `child ${id} of run ${run}`);
    if (t) return t;
  }
  const weightsPath = files.weights;
  if (!fs.existsSync(weightsPath)) {
    const kept = rec.workers?.train && rec.weights === undefined ? ` Queue worker ${rec.workers.train} trained it and kept its files (too big to travel through Redis).` : ' (Was the run folder cleaned?)';
    throw new CliError(`${run}: child ${id}'s weights ${weightsPath} are missing.${kept} Re-run the search, or export the architecture with random weights: \`mnas export best/...mnas -o model.tflite\`.`);
  }
  let arch: Arch;
  if (fs.existsSync(files.arch)) {
    arch = JSON.parse(fs.readFileSync(files.arch, 'utf8')) as Arch;
  } else {
    // Older runs: rebuild the proxy arch from the spec and the run's settings.
    const info = JSON.parse(fs.readFileSync(p.info, 'utf8')) as RunInfo;
    const { proxySpec } = await import('../search/proxy');
    const data = { shape: info.dataset.shape as [number, number, number], classes: info.dataset.classes } as Parameters<typeof proxySpec>[2];
    arch = toArch(proxySpec(rec.spec as ModelSpec, info.config, data));
  }
  const full = costOf(toArch(rec.spec)).input;
  const notes = [
    `child ${id}${rec.cachedFrom !== undefined ? ` (trained as child ${rec.cachedFrom})` : ''} was trained at the PROXY scale: this file is that network ` +
    `(input ${arch.input.h}x${arch.input.w}x${arch.input.c}, ${arch.head?.classes ?? 'no'} classes) with its trained weights, not the full-size ` +
    `${full.h}x${full.w}x${full.c} model (which has no trained weights; export it from a .mnas file for latency).`,
  ];
  return { arch, weightsPath, what: `child ${id} of run ${run}`, notes };
}

export async function resolveTarget(file: string | undefined, opts: ExportCliOptions): Promise<ExportTarget> {
  const child = opts.weights ? parseChildRef(opts.weights) : null;
  if (child) {
    const t = await childTarget(child.run, child.id, !!opts.proxyWeights);
    if (file) t.notes.push(`${file} is not used: the child's own architecture is exported.`);
    return t;
  }
  if (!file) throw new CliError('missing FILE: pass a .mnas file (and --model NAME), or --weights RUN/CHILD for a search child.');
  const entry = modelOf(file, opts.model);
  const what = `model ${entry.node.name.value} of ${file}`;
  if (!opts.weights) {
    return { arch: entry.arch, what, notes: [`random weights (seed ${opts.seed ?? 0}, BN statistics randomized): good for latency, not for accuracy. Pass --weights RUN/CHILD for trained weights.`] };
  }
  const w = opts.weights;
  if (!fs.existsSync(w)) {
    throw new CliError(`--weights ${w}: no such file or run child. Pass RUN/CHILD (a run folder with run.json, then a child id, e.g. mnas-runs/my-run/7) or a weights.pt file.`);
  }
  if (fs.statSync(w).isDirectory()) {
    throw new CliError(`--weights ${w}: is a folder but not RUN/CHILD (no run.json in ${path.dirname(w)}, or the last part is not a child id). Pass e.g. mnas-runs/my-run/7 or mnas-runs/my-run/children/7/weights.pt.`);
  }
  return { arch: entry.arch, weightsPath: w, what, notes: [`weights from ${w}`] };
}

export interface ExportCliResult {
  output: string;
  bytes: number;
  what: string;
  source: string;
  input: number[];
  output_shape: number[];
  ops: Record<string, number>;
  /** Floats the file holds (BatchNorm folded into the convs). */
  constants: number;
  /** Parameters of the PyTorch module, before folding. */
  params: number;
  notes: string[];
  verify?: { maxAbsDiff: number; relativeDiff: number; scale: number; runtime: string; ms: number };
}

export async function exportCommand(file: string | undefined, opts: ExportCliOptions): Promise<ExportCliResult> {
  if (!opts.output) throw new CliError('missing -o FILE.tflite: where to write the model.');
  const seed = opts.seed === undefined ? 0 : Number(opts.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new CliError(`--seed must be a non-negative integer, got ${opts.seed}`);
  const target = await resolveTarget(file, opts);
  let worker: TorchTrainer;
  try {
    worker = await TorchTrainer.start({ python: opts.python, threads: 1 });
  } catch (e) {
    throw new CliError(`export needs the PyTorch worker (it folds BatchNorm and supplies the weights): ${(e as Error).message}`);
  }
  try {
    const from = target.weightsPath ? { weightsPath: target.weightsPath } : { seed };
    let ex;
    try {
      ex = await exportWithWorker(worker, target.arch, from, { softmax: !!opts.softmax });
    } catch (e) {
      const msg = (e as Error).message;
      const hint = target.weightsPath && /does not fit/.test(msg) && !parseChildRef(opts.weights ?? '')
        ? ` A search child's weights.pt fits its proxy-scale arch only: pass --weights RUN/CHILD instead.` : '';
      throw new CliError(`${msg}${hint}`);
    }
    fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
    fs.writeFileSync(opts.output, ex.bytes);
    const ops: Record<string, number> = {};
    for (const o of ex.graph.ops) ops[o.op] = (ops[o.op] ?? 0) + 1;
    const inT = ex.graph.tensors[ex.graph.inputs[0]];
    const outT = ex.graph.tensors[ex.graph.outputs[0]];
    const result: ExportCliResult = {
      output: opts.output, bytes: ex.bytes.length, what: target.what, source: ex.source, input: inT.shape, output_shape: outT.shape,
      ops, constants: ex.constants, params: ex.params, notes: target.notes,
    };
    if (opts.verify !== false) {
      const model = await loadTflite(fs.readFileSync(opts.output), { numThreads: 1 });
      try {
        const rand = mulberry32(12345);
        const x = Float32Array.from({ length: inT.shape.reduce((a, b) => a * b, 1) }, () => rand() * 2 - 1);
        const t0 = performance.now();
        const [y] = model.run(x);
        const ms = performance.now() - t0;
        const ref = await torchForward(worker, target.arch, x, from);
        const refData = opts.softmax ? softmax(ref.data) : ref.data;
        const c = compareOutputs(y, refData);
        if (!c.ok) {
          throw new CliError(`${opts.output} was written but does not match PyTorch: max |tflite - torch| = ${c.maxAbsDiff} over ${y.length} outputs ` +
            `(PyTorch gave ${refData.length}), ${c.relativeDiff.toExponential(2)} of the output scale ${c.scale.toPrecision(4)} (allowed: ${EXPORT_TOLERANCE}). ` +
            'This is an exporter bug; please report it with the .mnas file.');
        }
        result.verify = { maxAbsDiff: c.maxAbsDiff, relativeDiff: c.relativeDiff, scale: c.scale, runtime: model.runtime, ms };
      } finally {
        model.close();
      }
    }
    return result;
  } finally {
    await worker.close();
  }
}

function softmax(x: Float32Array): Float32Array {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function renderExport(r: ExportCliResult): string {
  const ops = Object.entries(r.ops).map(([k, v]) => `${k} x${v}`).join(', ');
  const lines = [
    `wrote ${r.output} (${r.bytes.toLocaleString('en-US')} bytes): ${r.what}`,
    `  input [${r.input.join(', ')}] NHWC float32 -> output [${r.output_shape.join(', ')}]`,
    `  ${r.constants.toLocaleString('en-US')} params in the file (BatchNorm folded into the convs; ${r.params.toLocaleString('en-US')} in the PyTorch module before folding); ops: ${ops}`,
    `  weights: ${r.source}`,
    ...r.notes.map((n) => `  note: ${n}`),
  ];
  if (r.verify) {
    lines.push(`  verified in ${r.verify.runtime}: max |tflite - pytorch| = ${r.verify.maxAbsDiff.toExponential(2)} on a random input` +
      (r.verify.scale > 1 ? ` (${r.verify.relativeDiff.toExponential(2)} of the output scale ${r.verify.scale.toPrecision(4)})` : ''));
  }
  else lines.push('  not verified (--no-verify)');
  return lines.join('\n');
}

export function register(program: Command): void {
  program.command('export')
    .description('Export a model (or a search child with its trained weights) as a float32 TFLite flatbuffer, checked against PyTorch.')
    .argument('[file]', 'a .mnas file (not needed with --weights RUN/CHILD)')
    .option('--model <name>', 'which model of the file (default: the only one)')
    .option('--weights <ref>', 'trained weights: RUN/CHILD (a run folder and child id: its fully trained weights when `mnas train` made them, else its proxy-scale ones), RUN/baseline (the trained skeleton), or a weights.pt file')
    .option('--proxy-weights', 'with --weights RUN/CHILD: the proxy-trained weights of the search even when fully trained ones exist')
    .option('-o, --output <file>', 'the .tflite file to write')
    .option('--seed <n>', 'seed of the random weights when --weights is not given', '0')
    .option('--softmax', 'append a SOFTMAX (beta 1) after the classifier')
    .option('--no-verify', 'skip loading the file in the TFLite runtime and comparing with PyTorch')
    .option('--python <path>', 'Python interpreter with torch (default: MNAS_PYTHON, /usr/bin/python3, python3)')
    .option('--json', 'machine-readable output')
    .action(async (file: string | undefined, opts: ExportCliOptions) => {
      const r = await exportCommand(file, opts);
      console.log(opts.json ? JSON.stringify(r, null, 2) : renderExport(r));
    });
}
