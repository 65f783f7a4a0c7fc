// MNIST-format data: `idx "folder"` on small generated IDX files (plain and gzipped), every
// malformed-file case the reader must refuse by name, and `fashion-mnist` on the real files of
// Debian's dataset-fashion-mnist package (and the error naming the package when it is missing).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { FASHION_MNIST_DIR, prepareDataset } from '../../server/src/train/datasets';
import { parseIdx } from '../../server/src/train/datasets/idx';
import { idxBytes, idxFolder, idxImage, idxLabel, split } from './datasets-fixtures';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-ds-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const plain = path.join(tmp, 'plain');
idxFolder(plain, { trainCount: 100, testCount: 30 });
const gz = path.join(tmp, 'gz');
idxFolder(gz, { trainCount: 100, testCount: 30, gzip: true });

test('idx: train from train-*, test from t10k-*: stratified, seeded, byte-exact; gzipped files give the same data', async () => {
  const spec = await prepareDataset({ name: 'idx', path: 'plain', baseDir: tmp, train: 40, test: 10, seed: 2, cacheDir: path.join(tmp, 'c1') });
  assert.deepEqual([spec.classes, spec.shape, spec.train, spec.test], [10, [1, 6, 6], 40, 10]);
  const tr = split(spec.trainPath);
  const te = split(spec.testPath);
  // 100 training images, 10 per class: 4 per class; 30 test images, 3 per class: 1 each.
  assert.deepEqual(tr.header.classCounts, new Array(10).fill(4));
  assert.deepEqual(te.header.classCounts, new Array(10).fill(1));
  assert.equal(tr.header.name, 'idx');
  assert.equal(tr.header.path, 'plain');
  assert.match(tr.header.description, /seed 2.*40 of the 100 training images \(train-images-idx3-ubyte\).*10 of the 30 test images/);
  assert.equal(new Set(tr.sources).size, 40);
  for (const [s, file, which] of [[tr, 'train-images-idx3-ubyte', 0], [te, 't10k-images-idx3-ubyte', 1]] as const) {
    s.sources.forEach((src, i) => {
      const [, f, rec] = /^(.*)#(\d+)$/.exec(src)!;
      assert.equal(f, file);
      assert.equal(s.labels[i], idxLabel(Number(rec)));
      assert.deepEqual(s.images.subarray(i * 36, (i + 1) * 36), Buffer.from(idxImage(which, Number(rec))), src);
    });
  }
  // The cache: reused (not rewritten), and its shape and classes come back from the header.
  const before = statSync(spec.trainPath).mtimeMs;
  const again = await prepareDataset({ name: 'idx', path: plain, train: 40, test: 10, seed: 2, cacheDir: path.join(tmp, 'c1') });
  assert.deepEqual(again, { ...spec, split: again.split });
  assert.equal(statSync(spec.trainPath).mtimeMs, before);
  const zipped = await prepareDataset({ name: 'idx', path: gz, train: 40, test: 10, seed: 2, cacheDir: path.join(tmp, 'c2') });
  assert.deepEqual(split(zipped.trainPath).images, tr.images);
  assert.deepEqual(split(zipped.testPath).labels, te.labels);
  const other = await prepareDataset({ name: 'idx', path: gz, train: 40, test: 10, seed: 3, cacheDir: path.join(tmp, 'c2') });
  assert.notDeepEqual(split(other.trainPath).sources, tr.sources);
  // Edited data is prepared again (the cache key has the files' sizes and times).
  idxFolder(path.join(tmp, 'edit'), { trainCount: 100, testCount: 30 });
  const e1 = await prepareDataset({ name: 'idx', path: path.join(tmp, 'edit'), train: 20, test: 10, seed: 1, cacheDir: path.join(tmp, 'c3') });
  idxFolder(path.join(tmp, 'edit'), { trainCount: 120, testCount: 30, classes: 4 });
  const e2 = await prepareDataset({ name: 'idx', path: path.join(tmp, 'edit'), train: 20, test: 10, seed: 1, cacheDir: path.join(tmp, 'c3') });
  assert.notEqual(e1.trainPath, e2.trainPath);
  assert.equal(e2.classes, 4);
});

test('idx: the "train-images.idx3-ubyte" spelling is found too, and classes come from the labels', async () => {
  const dotted = path.join(tmp, 'dotted');
  idxFolder(dotted, { trainCount: 32, testCount: 12, side: 9, classes: 4 });
  for (const f of ['train-images', 't10k-images']) renameSync(path.join(dotted, `${f}-idx3-ubyte`), path.join(dotted, `${f}.idx3-ubyte`));
  const spec = await prepareDataset({ name: 'idx', path: dotted, train: 32, test: 12, seed: 1, cacheDir: path.join(tmp, 'c4') });
  assert.deepEqual([spec.classes, spec.shape], [4, [1, 9, 9]]);
  assert.deepEqual(split(spec.trainPath).header.classCounts, [8, 8, 8, 8]);
});

test('idx: missing folder or files, sizes over what the files hold, no path, RGB', async () => {
  const prep = (p: string | undefined, o: { train?: number; test?: number; channels?: number } = {}) =>
    prepareDataset({ name: 'idx', path: p, train: o.train ?? 10, test: o.test ?? 5, seed: 1, channels: o.channels, cacheDir: path.join(tmp, 'err') });
  await assert.rejects(prep(undefined), /dataset "idx" was given no path \(the folder holding train-images-idx3-ubyte, .*each may be \.gz\)/);
  const nope = path.join(tmp, 'nope');
  await assert.rejects(prep(nope), new RegExp(`IDX folder "${esc(nope)}" does not exist; fix the path .* to the folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte`));
  await assert.rejects(prep(path.join(plain, 'train-images-idx3-ubyte')), /is a file, not a folder/);
  const partial = path.join(tmp, 'partial');
  idxFolder(partial, { trainCount: 10, testCount: 5 });
  rmSync(path.join(partial, 't10k-labels-idx1-ubyte'));
  await assert.rejects(prep(partial), /lacks t10k-labels-idx1-ubyte \(or the same names with \.gz\); it needs all of/);
  await assert.rejects(prep(plain, { train: 101 }), /has 100 training images \(train-images-idx3-ubyte\); train 101 is more: lower it/);
  await assert.rejects(prep(plain, { test: 31 }), /has 30 test images \(t10k-images-idx3-ubyte\); test 31 is more: lower it/);
  await assert.rejects(prep(plain, { channels: 3 }), /idx is greyscale: channels must be 1/);
});

test('idx: a malformed file is an error naming it and what is wrong', async () => {
  let n = 0;
  /** A copy of the plain folder with one file replaced. */
  const broken = (file: string, bytes: Uint8Array): { dir: string; file: string } => {
    const dir = path.join(tmp, `broken${n++}`);
    idxFolder(dir, { trainCount: 20, testCount: 10 });
    const gzName = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
    if (gzName) rmSync(path.join(dir, file));
    writeFileSync(path.join(dir, gzName ? `${file}.gz` : file), bytes);
    return { dir, file: path.join(dir, gzName ? `${file}.gz` : file) };
  };
  const rejects = async (b: { dir: string; file: string }, msg: RegExp) => {
    await assert.rejects(prepareDataset({ name: 'idx', path: b.dir, train: 10, test: 5, seed: 1, cacheDir: path.join(tmp, 'bad') }), (e: Error) => {
      assert.ok(e.message.includes(b.file), `names ${b.file}: ${e.message}`);
      assert.match(e.message, msg);
      return true;
    });
  };
  const images = (dims: number[], extra = 0) => idxBytes(dims, new Uint8Array(dims.reduce((a, b) => a * b, 1) + extra));
  await rejects(broken('train-images-idx3-ubyte', Buffer.from('<html>not found</html>')), /is not an IDX file: it starts with 3c 68 74 6d, an IDX file with images .* starts with 00 00 08 03; download it again/);
  await rejects(broken('train-labels-idx1-ubyte', Buffer.alloc(0)), /is not an IDX file: it starts with nothing \(0 bytes\)/);
  const floats = images([20, 6, 6]);
  floats[2] = 0x0d;
  await rejects(broken('train-images-idx3-ubyte', floats), /holds float32 values \(magic 00 00 0d 03\); MNIST-format data is unsigned bytes/);
  // Images and labels swapped: the rank says so.
  await rejects(broken('train-images-idx3-ubyte', idxBytes([20], new Uint8Array(20))), /has 1 dimension\(s\) \(magic 00 00 08 01\); images \(count x rows x cols\) have 3/);
  await rejects(broken('t10k-labels-idx1-ubyte', images([10, 6, 6])), /has 3 dimension\(s\).*labels \(count\) have 1/);
  await rejects(broken('train-images-idx3-ubyte', images([20, 6, 6]).subarray(0, 10)), /is 10 bytes, shorter than its 16-byte header: the file is truncated/);
  await rejects(broken('train-images-idx3-ubyte', images([20, 6, 6], -1)), /its header says 20 images of 6x6 \(736 bytes with the header\), the file is truncated at 735 bytes/);
  await rejects(broken('train-labels-idx1-ubyte', idxBytes([20], new Uint8Array(21))), /its header says 20 labels \(28 bytes with the header\), the file has 29 bytes/);
  await rejects(broken('train-images-idx3-ubyte', images([20, 0, 6])), /images of 0x6 pixels; each side must be 1 to 1024/);
  await rejects(broken('train-images-idx3-ubyte', images([0, 6, 6])), /holds 0 images/);
  // A header claiming 4 billion images is refused from the length, nothing allocated.
  await rejects(broken('train-images-idx3-ubyte', idxBytes([0xffffffff, 1000, 1000], new Uint8Array(8))), /its header says 4294967295 images of 1000x1000 .* the file is truncated at 24 bytes/);
  const labels19 = broken('train-labels-idx1-ubyte', idxBytes([19], new Uint8Array(19)));
  await assert.rejects(prepareDataset({ name: 'idx', path: labels19.dir, train: 10, test: 5, seed: 1, cacheDir: path.join(tmp, 'bad') }),
    new RegExp(`${esc(path.join(labels19.dir, 'train-images-idx3-ubyte'))} holds 20 images but ${esc(labels19.file)} holds 19 labels`));
  const zipped = gzipSync(images([20, 6, 6]));
  await rejects(broken('train-images-idx3-ubyte', zipped.subarray(0, zipped.length - 30)), /is a damaged gzip file \(.*\); download it again/);
  const small = broken('t10k-images-idx3-ubyte', images([10, 5, 5]));
  await assert.rejects(prepareDataset({ name: 'idx', path: small.dir, train: 10, test: 5, seed: 1, cacheDir: path.join(tmp, 'bad') }), /holds 5x5 images, .* 6x6; train and test images must have one size/);
  // The parser on its own: a view into a larger buffer (offsets respected).
  const inner = idxBytes([3], Uint8Array.from([7, 8, 9]));
  const outer = Buffer.concat([Buffer.alloc(5, 0xff), inner]);
  assert.deepEqual(Array.from(parseIdx(outer.subarray(5), 'x', 1).data), [7, 8, 9]);
});

test('fashion-mnist: without the package, the error names the package and the command that installs it', async () => {
  const missing = path.join(tmp, 'no-such-package');
  await assert.rejects(prepareDataset({ name: 'fashion-mnist', train: 10, test: 5, seed: 1, fashionMnistDir: missing, cacheDir: path.join(tmp, 'fm-err') }),
    /Fashion-MNIST is not installed: .*Debian package dataset-fashion-mnist .*install it with `sudo apt-get install dataset-fashion-mnist`, or use `dataset idx "folder"`.* or `dataset mnist` \(built in\)/);
  // A package folder missing a file: reinstall. Files that are not Fashion-MNIST: refused.
  const part = path.join(tmp, 'fm-part');
  idxFolder(part, { trainCount: 20, testCount: 10 });
  rmSync(path.join(part, 'train-labels-idx1-ubyte'));
  await assert.rejects(prepareDataset({ name: 'fashion-mnist', train: 10, test: 5, seed: 1, fashionMnistDir: part, cacheDir: path.join(tmp, 'fm-err') }),
    /Fashion-MNIST folder ".*" lacks train-labels-idx1-ubyte .*; reinstall the package: `sudo apt-get install --reinstall dataset-fashion-mnist`/);
  const other = path.join(tmp, 'fm-other');
  idxFolder(other, { trainCount: 20, testCount: 10 });
  await assert.rejects(prepareDataset({ name: 'fashion-mnist', train: 10, test: 5, seed: 1, fashionMnistDir: other, cacheDir: path.join(tmp, 'fm-err') }),
    /holds 10 classes of 6x6 images, not 10 of 28x28: these are not the Fashion-MNIST files/);
  await assert.rejects(prepareDataset({ name: 'fashion-mnist', train: 10, test: 5, seed: 1, channels: 3, cacheDir: path.join(tmp, 'fm-err') }), /fashion-mnist is greyscale/);
});

const installed = existsSync(FASHION_MNIST_DIR);
if (!installed) console.log(`# fashion-mnist on the real files: skipped, ${FASHION_MNIST_DIR} is missing (sudo apt-get install dataset-fashion-mnist)`);

test('fashion-mnist: the real Debian files, 600 train / 200 test, balanced, plausible pixels, official separation', { skip: !installed && 'dataset-fashion-mnist is not installed', timeout: 120_000 }, async () => {
  const spec = await prepareDataset({ name: 'fashion-mnist', train: 600, test: 200, seed: 1, cacheDir: path.join(tmp, 'fm') });
  assert.deepEqual([spec.name, spec.classes, spec.shape, spec.train, spec.test], ['fashion-mnist', 10, [1, 28, 28], 600, 200]);
  const tr = split(spec.trainPath);
  const te = split(spec.testPath);
  // Fashion-MNIST is balanced (6,000 / 1,000 per class): exactly 60 / 20 per class.
  assert.deepEqual(tr.header.classCounts, new Array(10).fill(60));
  assert.deepEqual(te.header.classCounts, new Array(10).fill(20));
  assert.equal(tr.header.classNames[9], 'Ankle boot');
  // The dataset's published statistics: mean 0.286, std 0.353 over all training pixels.
  assert.ok(Math.abs(tr.header.mean - 0.286) < 0.02 && Math.abs(tr.header.std - 0.353) < 0.02, `mean ${tr.header.mean} std ${tr.header.std}`);
  const idx = (s: string) => Number(/#(\d+)$/.exec(s)![1]);
  assert.ok(tr.sources.every((s) => s.startsWith('train-images-idx3-ubyte') && idx(s) < 60000));
  assert.ok(te.sources.every((s) => s.startsWith('t10k-images-idx3-ubyte') && idx(s) < 10000));
  // Byte-exact against the package's own files, read independently of the reader under test.
  const raw = (f: string) => {
    const buf = readFileSync(path.join(FASHION_MNIST_DIR, f));
    return buf[0] === 0x1f ? gunzipSync(buf) : buf;
  };
  const images = raw('t10k-images-idx3-ubyte.gz');
  const labels = raw('t10k-labels-idx1-ubyte.gz');
  for (const i of [0, 57, 199]) {
    const r = idx(te.sources[i]);
    assert.equal(te.labels[i], labels[8 + r]);
    assert.deepEqual(te.images.subarray(i * 784, (i + 1) * 784), images.subarray(16 + r * 784, 16 + (r + 1) * 784));
  }
});

test('a folder holding both x and x.gz reads the uncompressed one', async () => {
  const both = path.join(tmp, 'both');
  idxFolder(both, { trainCount: 20, testCount: 10 });
  // The .gz copies hold other (4-class) data: if they were read, classes would be 4.
  const alt = path.join(tmp, 'alt');
  idxFolder(alt, { trainCount: 20, testCount: 10, classes: 4, gzip: true });
  for (const f of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
    writeFileSync(path.join(both, `${f}.gz`), readFileSync(path.join(alt, `${f}.gz`)));
  }
  const spec = await prepareDataset({ name: 'idx', path: both, train: 10, test: 5, seed: 1, cacheDir: path.join(tmp, 'c5') });
  assert.equal(spec.classes, 10);
});
