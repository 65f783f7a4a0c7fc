// `mnas export`: from a .mnas file (random weights) through the esbuild CJS bundle, and from a
// search child (RUN/CHILD, its trained proxy-scale weights); every file written loads in the
// TFLite runtime; mistakes get errors naming the file and the fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { LocalBenchJson } from '../../server/src/cli/devices';
import { exportCommand, renderExport } from '../../server/src/cli/export';
import { decodeModel } from '../../server/src/device/tflite/index';
import { loadTflite } from '../../server/src/device/tfliteRuntime';
import type { ModelSpec } from '../../server/src/language/arch';
import { prepareDataset } from '../../server/src/train/datasets';
import { findPython, TorchTrainer } from '../../server/src/train/torchTrainer';
import { writeMaliciousWeights } from '../python/helpers';
import { ROOT, ensureServerBuilt } from '../lsp/build';
import { trainArch } from './tflite-helpers';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-tflite-cli-'));
const MNAS = `// two models, for --model
model Small {
  input 32x32x3
  act relu6
  stem conv k3 s2 f8
  block b1 { mbconv e3 k3 s2 f16 x2 se 0.25 }
  block b2 { sepconv k5 s1 f24 x1 swish }
  head conv f32 pool avg classes 10 dropout 0.2
}
model Other {
  input 24x24x1
  act relu
  stem conv k3 s1 f8
  block b1 { conv k3 s2 f8 x1 }
}
`;
const file = path.join(tmp, 'models.mnas');
let run = '';

before(async () => {
  writeFileSync(file, MNAS);
  // A run folder with one trained child, as the search writes it (run.json, journal, children/<id>/).
  run = path.join(tmp, 'run');
  const childDir = path.join(run, 'children', '3');
  mkdirSync(childDir, { recursive: true });
  const worker = await TorchTrainer.start({ threads: 2 });
  try {
    const data = await prepareDataset({ name: 'mnist', train: 300, test: 100, seed: 1, cacheDir: path.join(tmp, 'cache') });
    const r = await worker.train({
      arch: trainArch(), data, seed: 1, outDir: childDir,
      recipe: { epochs: 1, batchSize: 32, lr: 0.01, optimizer: 'adam', momentum: 0.9, weightDecay: 0, bnMomentum: 0.1, labelSmoothing: 0 },
    });
    const a = trainArch();
    // The full-size spec the controller sampled: same blocks, 224x224x3 and 1000 classes.
    const spec: ModelSpec = {
      name: 'child3', input: { h: 224, w: 224, c: 3 }, width: 1, depth: 1, act: 'relu',
      stem: a.stem, blocks: a.blocks, head: { ...a.head!, classes: 1000 },
    };
    writeFileSync(path.join(run, 'run.json'), JSON.stringify({ format: 'mnas-run', version: 1 }));
    writeFileSync(path.join(run, 'journal.jsonl'), [
      { type: 'failed', id: 2, step: 0, actions: [], name: 'child2', error: 'diverged', time: '' },
      { type: 'child', id: 3, step: 0, actions: [], name: 'child3', spec, model: '', accuracy: r.accuracy, weights: path.relative(run, r.weightsPath) },
    ].map((e) => JSON.stringify(e)).join('\n') + '\n');
  } finally {
    await worker.close();
  }
}, { timeout: 600_000 });
after(() => rmSync(tmp, { recursive: true, force: true }));

test('mnas export through dist/cli.cjs (the CJS bundle): writes a file that loads and matches PyTorch', { timeout: 600_000 }, async () => {
  ensureServerBuilt();
  const out = path.join(tmp, 'small.tflite');
  const text = execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.cjs'), 'export', file, '--model', 'Small', '-o', out, '--json'], { cwd: tmp, encoding: 'utf8' });
  const r = JSON.parse(text) as { bytes: number; input: number[]; output_shape: number[]; verify: { maxAbsDiff: number; runtime: string }; notes: string[] };
  assert.deepEqual(r.input, [1, 32, 32, 3]);
  assert.deepEqual(r.output_shape, [1, 10]);
  assert.ok(r.verify.maxAbsDiff <= 1e-4, `max diff ${r.verify.maxAbsDiff}`);
  assert.match(r.verify.runtime, /^tflite xnnpack/);
  assert.match(r.notes.join(' '), /random weights \(seed 0/);
  const bytes = readFileSync(out);
  assert.equal(bytes.length, r.bytes);
  const m = await loadTflite(bytes);
  assert.deepEqual(m.outputs[0].shape, [1, 10]);
  m.close();
});

test('mnas export --weights RUN/CHILD: the proxy-scale child with its trained weights, said so', { timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'child3.tflite');
  const r = await exportCommand(undefined, { weights: path.join(run, '3'), output: out, softmax: true });
  assert.match(r.what, /child 3 of run/);
  assert.match(r.notes[0], /PROXY scale: this file is that network \(input 28x28x1, 10 classes\).*not the full-size 224x224x3 model/);
  assert.match(r.source, /weights .*children\/3\/weights\.pt/);
  assert.ok(r.verify && r.verify.maxAbsDiff <= 1e-4);
  const d = decodeModel(readFileSync(out));
  assert.deepEqual(d.tensors[d.inputs[0]].shape, [1, 28, 28, 1]);
  assert.equal(d.ops.at(-1)!.op, 'SOFTMAX');
  const m = await loadTflite(readFileSync(out));
  const [p] = m.run(new Float32Array(28 * 28));
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  m.close();
});

test('mnas export errors name the file and the fix', { timeout: 300_000 }, async () => {
  const out = path.join(tmp, 'x.tflite');
  await assert.rejects(exportCommand(file, { output: out }), /models\.mnas: declares 2 models \(Small, Other\); choose one with --model NAME/);
  await assert.rejects(exportCommand(file, { model: 'Nope', output: out }), /no model named `Nope`\. It declares Small, Other/);
  await assert.rejects(exportCommand(file, { model: 'Small' }), /missing -o FILE\.tflite/);
  await assert.rejects(exportCommand(undefined, { output: out }), /missing FILE/);
  await assert.rejects(exportCommand(file, { model: 'Small', output: out, weights: path.join(tmp, 'none.pt') }), /--weights .*none\.pt: no such file or run child/);
  await assert.rejects(exportCommand(undefined, { output: out, weights: path.join(run, '2') }), /child 2 failed during the search and has no weights/);
  await assert.rejects(exportCommand(undefined, { output: out, weights: path.join(run, '9') }), /no child 9 in .*journal\.jsonl/);
  // A child's weights.pt given as a file with a model it was not trained as.
  await assert.rejects(exportCommand(file, { model: 'Small', output: out, weights: path.join(run, 'children', '3', 'weights.pt') }),
    /does not fit this arch.*pass --weights RUN\/CHILD instead/);
  const broken = path.join(tmp, 'broken.mnas');
  writeFileSync(broken, 'model B {\n  input 32x32x3\n  stem conv k4 s2 f8\n}\n');
  await assert.rejects(exportCommand(broken, { output: out }), /broken\.mnas: has \d+ error\(s\); fix them before exporting \(run `mnas check/);
});

/** A copy of the fixture run whose journal line for child 3 names `weights` (undefined: no field). */
function runWithWeights(name: string, weights: string | undefined): string {
  const dir = path.join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  cpSync(run, dir, { recursive: true });
  const journal = path.join(dir, 'journal.jsonl');
  const lines = readFileSync(journal, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: number; weights?: string });
  for (const e of lines) if (e.id === 3) e.weights = weights;
  writeFileSync(journal, lines.map((e) => JSON.stringify(e)).join('\n') + '\n');
  return dir;
}

test('a copied run exports its own weights, not the original run\'s', { timeout: 300_000 }, async () => {
  const copy = runWithWeights('copied-run', 'children/3/weights.pt');
  const original = path.join(run, 'children', '3', 'weights.pt');
  renameSync(original, `${original}.aside`);
  try {
    const r = await exportCommand(undefined, { weights: path.join(copy, '3'), output: path.join(tmp, 'copy.tflite') });
    assert.match(r.source, /copied-run\/children\/3\/weights\.pt$/);
    assert.ok(r.verify && r.verify.maxAbsDiff <= 1e-4);
  } finally {
    renameSync(`${original}.aside`, original);
  }
});

test('a journal naming weights outside its run folder is refused (absolute, .., a symlink out), naming the line and the fix', { timeout: 300_000 }, async () => {
  const outside = path.join(tmp, 'outside.pt');
  copyFileSync(path.join(run, 'children', '3', 'weights.pt'), outside);
  const out = path.join(tmp, 'refused.tflite');
  const cases: [string, RegExp][] = [
    [outside, /is an absolute path/],
    ['../outside.pt', /climbs out with "\.\."/],
    ['children/3/../../../outside.pt', /climbs out with "\.\."/],
  ];
  for (const [weights, why] of cases) {
    const dir = runWithWeights('hostile-run', weights);
    await assert.rejects(exportCommand(undefined, { weights: path.join(dir, '3'), output: out }),
      (e: Error) => why.test(e.message) && /hostile-run\/journal\.jsonl:2: the child's weights/.test(e.message) && /put "children\/3\/weights\.pt" there/.test(e.message),
      weights);
  }
  const dir = runWithWeights('hostile-run', undefined);
  rmSync(path.join(dir, 'children', '3', 'weights.pt'));
  symlinkSync(outside, path.join(dir, 'children', '3', 'weights.pt'));
  await assert.rejects(exportCommand(undefined, { weights: path.join(dir, '3'), output: out }), /leads outside the run folder through a symbolic link/);
  assert.equal(existsSync(out), false, 'nothing was written');
});

test('a run folder\'s weights.pt whose pickle would run a command: export refuses it and nothing runs', { timeout: 300_000 }, async () => {
  const dir = runWithWeights('pickled-run', 'children/3/weights.pt');
  const marker = path.join(tmp, 'pwned');
  writeMaliciousWeights(findPython(), path.join(dir, 'children', '3', 'weights.pt'), marker);
  await assert.rejects(exportCommand(undefined, { weights: path.join(dir, '3'), output: path.join(tmp, 'evil.tflite') }),
    /weights\.pt: refused, it holds more than tensors/);
  assert.equal(existsSync(marker), false, 'the pickle\'s command ran');
});

test('a correct export of a model with large outputs passes (tolerance relative to the output scale); the message counts what the file holds', { timeout: 300_000 }, async () => {
  // The trained child with its classifier scaled by 1e6: logits of ~1e6, where float32 rounding alone exceeds 1e-3.
  const dir = runWithWeights('large-run', 'children/3/weights.pt');
  const w = path.join(dir, 'children', '3', 'weights.pt');
  execFileSync(findPython(), ['-c', [
    'import sys, torch',
    's = torch.load(sys.argv[1], weights_only=True)',
    'for k in ("head.fc.weight", "head.fc.bias"): s[k] = s[k] * 1e6',
    'torch.save(s, sys.argv[1])',
  ].join('\n'), w]);
  const r = await exportCommand(undefined, { weights: path.join(dir, '3'), output: path.join(tmp, 'large.tflite') });
  assert.ok(r.verify, 'verified');
  assert.ok(r.verify.scale > 1e4, `output scale ${r.verify.scale}`);
  assert.ok(r.verify.maxAbsDiff > 1e-3 || r.verify.relativeDiff < 1e-5, JSON.stringify(r.verify));
  assert.ok(r.verify.relativeDiff < 1e-5, JSON.stringify(r.verify));
  // The file holds the BN-folded constants: fewer than the module's params (BN gamma and beta go).
  const d = decodeModel(readFileSync(path.join(tmp, 'large.tflite')));
  const inFile = d.tensors.filter((t) => t.data !== null && t.type === 0).reduce((a, t) => a + t.data!.length / 4, 0); // FLOAT32 constants
  assert.ok(r.constants < r.params, `${r.constants} < ${r.params}`);
  assert.equal(r.constants, inFile, 'the count is what the file holds');
  assert.match(renderExport(r), new RegExp(`${r.constants.toLocaleString('en-US')} params in the file \\(BatchNorm folded into the convs; ${r.params.toLocaleString('en-US')} in the PyTorch module before folding\\)`));
  assert.match(renderExport(r), /of the output scale/);
});

test('mnas export --weights RUN/CHILD picks the fully trained weights once mnas train made them (--proxy-weights: the search\'s)', { timeout: 600_000 }, async () => {
  const { fullRecipe } = await import('../../server/src/final/recipe');
  const { FULL_FORMAT, writeFullRecord } = await import('../../server/src/final/store');
  await assert.rejects(exportCommand(undefined, { output: path.join(tmp, 'b.tflite'), weights: path.join(run, 'baseline') }), /the skeleton has not been trained yet: run `mnas train .*run` first/);
  const childDir = path.join(run, 'children', '3');
  const worker = await TorchTrainer.start({ threads: 2 });
  try {
    const data = await prepareDataset({ name: 'mnist', train: 300, test: 100, seed: 1, cacheDir: path.join(tmp, 'cache') });
    const recipe = fullRecipe(data, { epochs: 1, batchSize: 32 });
    const r = await worker.trainFull({ arch: trainArch(), data, recipe, seed: 1, outDir: childDir, resume: false });
    writeFullRecord(childDir, {
      format: FULL_FORMAT, version: 1, target: { kind: 'child', id: 3 }, name: 'child3', model: '', arch: trainArch(), params: r.params, multAdds: 0,
      latencyMs: null, latencySpread: null, latencySource: null, proxyAccuracy: null, accuracy: r.accuracy, lastAccuracy: r.lastAccuracy, valAccuracy: r.valAccuracy,
      bestEpoch: r.bestEpoch, bestSource: r.bestSource, epochs: r.epochs, recipe, dataset: { name: 'mnist', train: 300, test: 100, split: data.split, valImages: r.valImages },
      seed: 1, trainSeconds: r.trainSeconds, backend: 'torch', time: '',
    });
  } finally {
    await worker.close();
  }
  const full = await exportCommand(undefined, { weights: path.join(run, '3'), output: path.join(tmp, 'full.tflite') });
  assert.match(full.source, /weights-full\.pt/);
  assert.match(full.notes.join(' '), /fully trained weights \(mnas train: best of 1 epochs/);
  assert.ok(full.verify && full.verify.maxAbsDiff <= 1e-3, 'checked against PyTorch');
  const proxy = await exportCommand(undefined, { weights: path.join(run, '3'), proxyWeights: true, output: path.join(tmp, 'proxy.tflite') });
  assert.doesNotMatch(proxy.source, /weights-full/);
  assert.match(proxy.notes.join(' '), /PROXY scale/);
  assert.notDeepEqual(readFileSync(path.join(tmp, 'full.tflite')), readFileSync(path.join(tmp, 'proxy.tflite')), 'different weights were exported');
});

test('mnas bench --device local --json: a .mnas model and a .tflite file timed as `latency local` times them', { timeout: 300_000 }, async () => {
  ensureServerBuilt();
  const cli = (...args: string[]) => execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.cjs'), 'bench', ...args], { cwd: tmp, encoding: 'utf8' });
  const fromMnas = JSON.parse(cli(file, '--model', 'Small', '--device', 'local', '--json', '--rounds', '6')) as LocalBenchJson;
  assert.equal(fromMnas.device, 'local');
  assert.equal(fromMnas.model, 'Small');
  assert.equal(fromMnas.clock, 'cpu');
  assert.equal(fromMnas.statistic, 'min');
  assert.equal(fromMnas.ms, fromMnas.cpuMs);
  assert.ok(fromMnas.ms > 0 && fromMnas.spread >= 0 && fromMnas.rounds >= 6 && fromMnas.repeats === fromMnas.rounds * fromMnas.perRound);
  assert.ok(fromMnas.stable === fromMnas.splitHalfPct <= fromMnas.boundPct);
  assert.ok(fromMnas.lock, 'timed under the host lock');
  assert.match(fromMnas.runtime, /^tflite xnnpack/);
  // The same model as a .tflite file goes through the same timing code: same runtime, clock, statistic and lock.
  // (How close the two figures are is timing, which this shared machine cannot assert: a clean-clone run saw
  // 0.045 vs 0.109 ms. bench/latency-repeatability.bench.ts measures agreement.)
  const exported = path.join(tmp, 'small-bench.tflite');
  await exportCommand(file, { model: 'Small', output: exported });
  const fromTflite = JSON.parse(cli(exported, '--device', 'local', '--json')) as LocalBenchJson;
  assert.ok(fromTflite.ms > 0 && fromTflite.ms === fromTflite.cpuMs, `${fromTflite.ms} ms`);
  assert.deepEqual([fromTflite.runtime, fromTflite.clock, fromTflite.statistic, Boolean(fromTflite.lock)], [fromMnas.runtime, 'cpu', 'min', true]);
  assert.equal(fromTflite.model, undefined);
  // Phone-only flags are refused with what to use instead.
  assert.throws(() => cli(exported, '--device', 'local', '--repeats', '5'), /--repeats is for phones; --device local times rounds/);
  assert.throws(() => cli(exported, '--device', 'local', '--bound', '0'), /--bound 0: expected a percentage/);
});
