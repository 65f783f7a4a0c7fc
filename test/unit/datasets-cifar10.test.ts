// The `cifar10` dataset on a tiny generated CIFAR-10-format batch set: seeded stratified subsets
// of the training batches and of the test batch, records copied byte for byte, errors.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { prepareDataset } from '../../server/src/train/datasets';
import { CIFAR_RECORD, cifarFolder, cifarRecord, split } from './datasets-fixtures';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-ds-cifar-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const root = path.join(tmp, 'cifar-10-batches-bin');
cifarFolder(root, 20, 30);
const FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];

test('train from the training batches, test from the test batch: stratified, seeded, byte-exact', async () => {
  const spec = await prepareDataset({ name: 'cifar10', path: root, train: 40, test: 10, seed: 2, cacheDir: path.join(tmp, 'c1') });
  assert.deepEqual([spec.classes, spec.shape, spec.train, spec.test], [10, [3, 32, 32], 40, 10]);
  const tr = split(spec.trainPath);
  const te = split(spec.testPath);
  // 100 training records, 10 per class (labels (7r + f) % 10): 4 per class; test batch 30 records, 3 per class: 1 each.
  assert.deepEqual(tr.header.classCounts, new Array(10).fill(4));
  assert.deepEqual(te.header.classCounts, new Array(10).fill(1));
  assert.equal(tr.header.classNames[3], 'cat');
  assert.equal(tr.header.seed, 2);
  assert.match(tr.header.description, /seed 2.*40 of the 100 training images.*10 of the 30 test images/);
  assert.ok(tr.sources.every((s) => /^data_batch_[1-5]\.bin#\d+$/.test(s)));
  assert.ok(te.sources.every((s) => /^test_batch\.bin#\d+$/.test(s)));
  assert.equal(new Set(tr.sources).size, 40);
  for (const s of [tr, te]) {
    s.sources.forEach((src, i) => {
      const [, file, rec] = /^(.*)#(\d+)$/.exec(src)!;
      const want = cifarRecord(FILES.indexOf(file), Number(rec));
      assert.equal(s.labels[i], want[0]);
      assert.deepEqual(s.images.subarray(i * 3072, (i + 1) * 3072), Buffer.from(want.subarray(1)), src);
    });
  }
  const again = await prepareDataset({ name: 'cifar10', path: root, train: 40, test: 10, seed: 2, cacheDir: path.join(tmp, 'c2') });
  assert.deepEqual(split(again.trainPath).images, tr.images);
  const other = await prepareDataset({ name: 'cifar10', path: root, train: 40, test: 10, seed: 3, cacheDir: path.join(tmp, 'c2') });
  assert.notDeepEqual(split(other.trainPath).sources, tr.sources);
  // The parent folder (where the archive was unpacked) works too; channels 1 is luminance.
  const grey = await prepareDataset({ name: 'cifar10', path: tmp, train: 10, test: 10, seed: 2, channels: 1, cacheDir: path.join(tmp, 'c3') });
  assert.deepEqual(grey.shape, [1, 32, 32]);
  const g = split(grey.trainPath);
  g.sources.forEach((src, i) => {
    const [, file, rec] = /^(.*)#(\d+)$/.exec(src)!;
    const want = cifarRecord(FILES.indexOf(file), Number(rec));
    assert.equal(g.images[i * 1024 + 5], Math.round(0.299 * want[1 + 5] + 0.587 * want[1 + 1024 + 5] + 0.114 * want[1 + 2048 + 5]));
  });
});

test('errors: missing folder or file, wrong file size, bad label, sizes over what the batches hold', async () => {
  const prep = (p: string | undefined, train = 10, test = 5) => prepareDataset({ name: 'cifar10', path: p, train, test, seed: 1, cacheDir: path.join(tmp, 'err') });
  await assert.rejects(prep(undefined), /dataset "cifar10" was given no path \(the folder holding data_batch_1\.bin/);
  const nope = path.join(tmp, 'nope');
  await assert.rejects(prep(nope), new RegExp(`CIFAR-10 folder "${esc(nope)}" does not exist; fix the path .* to the folder holding data_batch_1\\.bin`));
  const partial = path.join(tmp, 'partial');
  cifarFolder(partial, 2, 2);
  rmSync(path.join(partial, 'data_batch_3.bin'));
  rmSync(path.join(partial, 'test_batch.bin'));
  await assert.rejects(prep(partial), /lacks data_batch_3\.bin, test_batch\.bin; it needs all of/);
  const short = path.join(tmp, 'short');
  cifarFolder(short, 2, 2);
  truncateSync(path.join(short, 'data_batch_2.bin'), 2 * CIFAR_RECORD - 1);
  await assert.rejects(prep(short), new RegExp(`${esc(path.join(short, 'data_batch_2.bin'))} is ${2 * CIFAR_RECORD - 1} bytes, not a whole number of 3073-byte records \\(official files: 30730000 bytes\\)`));
  writeFileSync(path.join(short, 'data_batch_2.bin'), '');
  await assert.rejects(prep(short), /data_batch_2\.bin is 0 bytes/);
  const labels = path.join(tmp, 'labels');
  cifarFolder(labels, 2, 2);
  const buf = readFileSync(path.join(labels, 'data_batch_4.bin'));
  buf[CIFAR_RECORD] = 42;
  writeFileSync(path.join(labels, 'data_batch_4.bin'), buf);
  await assert.rejects(prep(labels, 2, 2), /data_batch_4\.bin: record 1 has label 42, not 0\.\.9/);
  await assert.rejects(prep(root, 101, 5), /has 100 training images \(data_batch_1\.\.5\.bin\); train 101 is more: lower it/);
  await assert.rejects(prep(root, 10, 31), /has 30 test images \(test_batch\.bin\); test 31 is more: lower it/);
  const file = path.join(tmp, 'file.bin');
  writeFileSync(file, 'x');
  await assert.rejects(prep(file), /is a file, not a folder/);
  mkdirSync(path.join(tmp, 'emptydir'));
  await assert.rejects(prep(path.join(tmp, 'emptydir')), /lacks data_batch_1\.bin, data_batch_2\.bin/);
});
