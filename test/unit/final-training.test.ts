// Full training's pure parts: which children are trained, the recipe per dataset, the network a
// full training builds, the comparison table and verdict, and the CLI's argument checks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { loadRun } from '../../server/src/report/load';
import { trainOptions } from '../../server/src/cli/train';
import { CliError } from '../../server/src/cli/load';
import { finalTable } from '../../server/src/report/finalTable';
import { rankForTraining, trainedSpec } from '../../server/src/final/fullTraining';
import { augmentationFor, fullRecipe } from '../../server/src/final/recipe';
import { FULL_FORMAT, type FullRecord, writeFullRecord } from '../../server/src/final/store';
import type { ChildRecord } from '../../server/src/search/runFolder';

const spec = {
  name: 'T_c0', input: { h: 224, w: 224, c: 3 }, width: 1.5, depth: 1, act: 'relu' as const,
  stem: { k: 3, s: 2, f: 8 },
  blocks: [{ name: 'b1', op: 'mbconv' as const, e: 3, k: 5, s: 2, f: 16, x: 1, se: 0, skip: 'identity' as const }],
  head: { f: null, pool: 'avg' as const, classes: 1000, dropout: 0.2 },
};

function child(id: number, latencyMs: number, reward: number, extra: Partial<ChildRecord> = {}): ChildRecord {
  return {
    type: 'child', id, step: 1, actions: [], name: `c${id}`, spec, model: '', accuracy: 0.9, latencyMs, latencySpread: 0, latencySource: 'local',
    params: 1, multAdds: 1, proxyParams: 1, reward, trainSeconds: 1, imagesPerSecond: 1, attempts: 1, time: '', ...extra,
  };
}

function record(kind: 'child' | 'baseline', id: number, accuracy: number, latencyMs: number): FullRecord {
  return {
    format: FULL_FORMAT, version: 1, target: kind === 'child' ? { kind, id } : { kind }, name: kind === 'child' ? `c${id}` : 'Skel', model: '', arch: {} as FullRecord['arch'],
    params: 100 + id, multAdds: 1000 + id, latencyMs, latencySpread: 0, latencySource: 'local', proxyAccuracy: 0.9, accuracy, lastAccuracy: accuracy,
    valAccuracy: accuracy, bestEpoch: 1, bestSource: 'raw', epochs: [], recipe: fullRecipe({ name: 'mnist', shape: [1, 28, 28], train: 8000 }, { epochs: 10 }),
    dataset: { name: 'mnist', train: 8000, test: 2000, split: '', valImages: 800 }, seed: 1, trainSeconds: 1, backend: 'torch', time: '',
  };
}

describe('full training', () => {
  test('children under the target come first, then by reward; duplicates (cachedFrom) are left out', () => {
    const ranked = rankForTraining([child(0, 2.0, 0.99), child(1, 0.5, 0.80), child(2, 0.9, 0.85), child(3, 0.9, 0.95, { cachedFrom: 2 }), child(4, 1.0, 0.70)], 1.0);
    assert.deepEqual(ranked.map((c) => c.id), [2, 1, 4, 0]);
  });

  test('recipe: no flips for digits, flips for other 28x28 data, crop 4 + flip at 32x32, 1/8 of the side for folders', () => {
    assert.deepEqual(augmentationFor({ name: 'mnist', shape: [1, 28, 28] }), { cropPadding: 2, flip: false });
    assert.deepEqual(augmentationFor({ name: 'fashion-mnist', shape: [1, 28, 28] }), { cropPadding: 2, flip: true });
    assert.deepEqual(augmentationFor({ name: 'cifar10', shape: [3, 32, 32] }), { cropPadding: 4, flip: true });
    assert.deepEqual(augmentationFor({ name: 'folder', shape: [3, 64, 64] }), { cropPadding: 8, flip: true });
  });

  test('recipe: lr scales with the batch, warm-up one epoch (a fifth of short runs), EMA from 5 epochs with a one-epoch horizon', () => {
    const data = { name: 'mnist', shape: [1, 28, 28] as [number, number, number], train: 8000 };
    const r = fullRecipe(data, { epochs: 20, batchSize: 256 });
    assert.equal(r.lr, 0.2);
    assert.equal(r.warmupEpochs, 1);
    assert.equal(r.emaDecay, 1 - 1 / Math.ceil(7200 / 256));
    assert.equal(r.labelSmoothing, 0.1);
    assert.equal(r.nesterov, true);
    const short = fullRecipe(data, { epochs: 2 });
    assert.equal(short.emaDecay, 0, 'no EMA on short runs');
    assert.equal(short.warmupEpochs, 0.4);
  });

  test('the trained network: own width, the data\'s resolution and classes', () => {
    const s = trainedSpec(spec, { dataset: { name: 'mnist', train: 1, test: 1, width: 0.5 } }, { shape: [1, 28, 28], classes: 10 });
    assert.equal(s.width, 1.5, 'the proxy width multiplier is not applied');
    assert.deepEqual(s.input, { h: 28, w: 28, c: 1 });
    assert.equal(s.head!.classes, 10);
    assert.equal(s.head!.dropout, 0.2);
    const r = trainedSpec(spec, { dataset: { name: 'folder', train: 1, test: 1, resolution: 64 } }, { shape: [3, 96, 96], classes: 5 });
    assert.deepEqual(r.input, { h: 64, w: 64, c: 3 });
  });

  test('comparison: the most accurate child under T against the skeleton, rows fastest first', () => {
    const children = new Map([[1, record('child', 1, 0.95, 0.8)], [2, record('child', 2, 0.97, 1.2)], [3, record('child', 3, 0.93, 0.5)]]);
    const t = finalTable({ baseline: record('baseline', 0, 0.92, 0.9), children }, 1.0)!;
    assert.deepEqual(t.rows.map((r) => r.name), ['c3', 'c1', 'Skel', 'c2']);
    assert.equal(t.comparison!.child.name, 'c1', 'c2 is more accurate but over the target');
    assert.ok(Math.abs(t.comparison!.accuracyGain - 0.03) < 1e-12);
    assert.ok(Math.abs(t.comparison!.latencyRatio! - 0.8 / 0.9) < 1e-12);
    assert.match(t.dataset, /8000 train \(800 of them held out/);
    const noBase = finalTable({ baseline: null, children }, 1.0)!;
    assert.equal(noBase.comparison, null);
    assert.match(noBase.note, /skeleton is not trained yet/);
    assert.equal(finalTable({ baseline: null, children: new Map() }, 1), null);
  });

  test('CLI: a run takes --top/--child, a file takes --model; wrong combinations say what to do', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-train-cli-'));
    fs.writeFileSync(path.join(dir, 'run.json'), '{}');
    const o = trainOptions(dir, { top: '2', epochs: '7' });
    assert.equal(o.run, dir);
    assert.equal(o.top, 2);
    assert.equal(o.recipe!.epochs, 7);
    assert.equal(o.baseline, true);
    assert.throws(() => trainOptions(dir, { model: 'X' }), (e: Error) => e instanceof CliError && /--model goes with a \.mnas file/.test(e.message));
    assert.throws(() => trainOptions(dir, { epochs: '0' }), /--epochs takes a whole number >= 1, got '0'/);
    assert.throws(() => trainOptions(dir, { dataset: 'imagenet' }), /--dataset imagenet: unknown; known: mnist/);
    assert.throws(() => trainOptions(path.join(dir, 'nope'), {}), /no such run folder or \.mnas file/);
    const file = path.resolve('examples/search-quickstart.mnas');
    const m = trainOptions(file, { model: 'Tiny' });
    assert.equal(m.model!.spec.name, 'Tiny');
    assert.equal(m.model!.config!.dataset.name, 'mnist');
    assert.throws(() => trainOptions(file, { top: '3' }), /--top and --child go with a run folder/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a run folder\'s full.json files reach the report data (panel, --html) with the comparison', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-final-report-'));
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ search: 'S', strategy: 'rl', seed: 1, children: 2, config: { targetMs: 1 } }));
    fs.writeFileSync(path.join(dir, 'journal.jsonl'), [child(4, 0.8, 0.9), child(5, 1.5, 0.95)].map((c) => JSON.stringify(c)).join('\n') + '\n');
    assert.equal(loadRun(dir).data.final, null, 'nothing trained yet');
    writeFullRecord(path.join(dir, 'children', '4'), record('child', 4, 0.97, 0.8));
    writeFullRecord(path.join(dir, 'baseline'), record('baseline', 0, 0.95, 0.9));
    fs.mkdirSync(path.join(dir, 'children', '5'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'children', '5', 'full.json'), '{ torn');
    const f = loadRun(dir).data.final!;
    assert.deepEqual(f.rows.map((r) => r.name), ['c4', 'Skel'], 'an unreadable full.json is left out');
    assert.equal(f.comparison!.child.id, 4);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
