// The `folder` dataset end to end on the TypeScript side: scanning, the seeded stratified split,
// decoding + conversion + resize into the worker's files, the cache, and every error path.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { prepareDataset } from '../../server/src/train/datasets';
import { COLORS, colourFolder, pngBytes, writeImage, split } from './datasets-fixtures';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-ds-folder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const images = path.join(tmp, 'images');
colourFolder(images, { red: 10, green: 6, blue: 8 });
// Not images or not classes: ignored.
writeFileSync(path.join(images, 'README.txt'), 'notes');
writeFileSync(path.join(images, 'red', 'notes.txt'), 'x');
mkdirSync(path.join(images, '.hidden'));

test('split: exact sizes, stratified, disjoint, seeded; images converted and resized; header records it', async () => {
  const spec = await prepareDataset({ name: 'folder', path: images, train: 12, test: 6, seed: 5, resolution: 8, cacheDir: path.join(tmp, 'c1') });
  assert.deepEqual([spec.name, spec.classes, spec.shape, spec.train, spec.test], ['folder', 3, [3, 8, 8], 12, 6]);
  assert.match(spec.split, /stratified seeded split \(seed 5\)/);
  const tr = split(spec.trainPath);
  const te = split(spec.testPath);
  // Classes in name order: blue 0, green 1, red 2; sizes 8, 6, 10 of 24 -> train 4/3/5, test 2/1.5/2.5 -> 2/2/2 (largest remainder, tie to the lower class).
  assert.deepEqual(tr.header.classNames, ['blue', 'green', 'red']);
  assert.deepEqual(tr.header.classCounts, [4, 3, 5]);
  assert.deepEqual(te.header.classCounts, [2, 2, 2]);
  assert.deepEqual(tr.header.sourceClassCounts, [8, 6, 10]);
  assert.equal(tr.header.seed, 5);
  assert.equal(tr.header.format, 'mnas-dataset-v1');
  assert.deepEqual(tr.header.shape, [3, 8, 8]);
  assert.equal(tr.header.path, images);
  assert.match(tr.header.description, /seed 5.*12 train \/ 6 test.*RGB, resized to 8x8 \(bilinear\)/);
  assert.equal(tr.images.length, 12 * 3 * 64);
  assert.equal(te.images.length, 6 * 3 * 64);
  assert.equal(tr.header.channelMean.length, 3);
  // Disjoint, and every source file's folder is its label.
  assert.equal(new Set([...tr.sources, ...te.sources]).size, 18);
  for (const s of [tr, te]) {
    s.sources.forEach((src, i) => {
      const cls = tr.header.classNames[s.labels[i]];
      assert.ok(src.startsWith(`${cls}/`), `${src} labelled ${cls}`);
      // The image's mean colour is its class's colour (noise averages out).
      const mean = [0, 1, 2].map((c) => s.images.subarray(i * 192 + c * 64, i * 192 + (c + 1) * 64).reduce((a, b) => a + b, 0) / 64);
      COLORS[cls].forEach((v, c) => assert.ok(Math.abs(mean[c] - v) < 25, `${src} channel ${c}: ${mean[c]} vs ${v}`));
    });
  }
  // Same seed: same bytes (another cache); another seed: another split.
  const again = await prepareDataset({ name: 'folder', path: images, train: 12, test: 6, seed: 5, resolution: 8, cacheDir: path.join(tmp, 'c2') });
  assert.deepEqual(split(again.trainPath).images, tr.images);
  assert.deepEqual(split(again.testPath).sources, te.sources);
  const other = await prepareDataset({ name: 'folder', path: images, train: 12, test: 6, seed: 6, resolution: 8, cacheDir: path.join(tmp, 'c2') });
  assert.notDeepEqual(split(other.trainPath).sources, tr.sources);
  // Cached: reused without rewriting.
  const before = statSync(spec.trainPath).mtimeMs;
  const cached = await prepareDataset({ name: 'folder', path: images, train: 12, test: 6, seed: 5, resolution: 8, cacheDir: path.join(tmp, 'c1') });
  assert.equal(cached.trainPath, spec.trainPath);
  assert.equal(statSync(spec.trainPath).mtimeMs, before);
});

test('channels 1 (luminance), default resolution 32, relative path resolved against baseDir, cache keyed by content', async () => {
  const spec = await prepareDataset({ name: 'folder', path: 'images', baseDir: tmp, train: 6, test: 3, seed: 1, channels: 1, cacheDir: path.join(tmp, 'c3') });
  assert.deepEqual(spec.shape, [1, 32, 32]);
  const tr = split(spec.trainPath);
  assert.equal(tr.images.length, 6 * 1024);
  assert.equal(tr.header.path, 'images', 'the path is recorded as written');
  assert.equal(tr.header.source, images);
  tr.sources.forEach((src, i) => {
    const [r, g, b] = COLORS[tr.header.classNames[tr.labels[i]]];
    const mean = tr.images.subarray(i * 1024, (i + 1) * 1024).reduce((a, x) => a + x, 0) / 1024;
    assert.ok(Math.abs(mean - (0.299 * r + 0.587 * g + 0.114 * b)) < 20, `${src}: ${mean}`);
  });
  // Editing the folder changes the cache key.
  const copy = path.join(tmp, 'images-copy');
  colourFolder(copy, { red: 3, green: 3 });
  const a = await prepareDataset({ name: 'folder', path: copy, train: 4, test: 2, seed: 1, cacheDir: path.join(tmp, 'c4') });
  writeImage(path.join(copy, 'green', 'zz.png'), pngBytes(9, 9, () => [0, 255, 0]));
  const b = await prepareDataset({ name: 'folder', path: copy, train: 4, test: 2, seed: 1, cacheDir: path.join(tmp, 'c4') });
  assert.notEqual(a.trainPath, b.trainPath);
});

test('errors name the folder and the fix', async () => {
  const prep = (p: string | undefined, o: { train?: number; test?: number } = {}) =>
    prepareDataset({ name: 'folder', path: p, train: o.train ?? 4, test: o.test ?? 2, seed: 1, cacheDir: path.join(tmp, 'err') });
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await assert.rejects(prep(undefined), /dataset "folder" was given no path \(a folder with one subfolder per class/);
  const missing = path.join(tmp, 'nope');
  await assert.rejects(prep(missing), new RegExp(`image folder "${esc(missing)}" does not exist; fix the path \\(a relative path is resolved against the .mnas file's folder\\)`));
  await assert.rejects(prepareDataset({ name: 'folder', path: 'nope', baseDir: tmp, train: 1, test: 1, seed: 1, cacheDir: tmp }),
    new RegExp(`image folder "nope" \\(${esc(missing)}\\) does not exist`));
  const file = path.join(tmp, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(prep(file), /is a file, not a folder/);
  const flat = path.join(tmp, 'flat');
  writeImage(path.join(flat, 'a.png'), pngBytes(4, 4, () => [1, 1, 1]));
  await assert.rejects(prep(flat), new RegExp(`image folder "${esc(flat)}" has no class subfolders \\(it holds 1 images directly\\); put each class's images in its own subfolder`));
  const single = path.join(tmp, 'single');
  colourFolder(single, { red: 4 });
  await assert.rejects(prep(single), /has a single class subfolder \("red"\); a classifier needs at least 2 classes/);
  const empty = path.join(tmp, 'empty-class');
  colourFolder(empty, { red: 4, green: 4 });
  mkdirSync(path.join(empty, 'blue'));
  writeFileSync(path.join(empty, 'blue', 'notes.txt'), 'not an image');
  await assert.rejects(prep(empty), new RegExp(`class folder "${esc(path.join(empty, 'blue'))}" of image folder .* has no PNG or JPEG images \\(.png, .jpg, .jpeg\\); add images to it or remove the folder`));
  await assert.rejects(prep(images, { train: 20, test: 5 }), new RegExp(`image folder "${esc(images)}" has 24 images \\(blue: 8, green: 6, red: 10\\); train 20 \\+ test 5 = 25 is more: lower train/test or add images`));
  // An undecodable file drawn into the split fails the preparation, naming it.
  const bad = path.join(tmp, 'bad');
  colourFolder(bad, { red: 2, green: 2 });
  writeFileSync(path.join(bad, 'green', '0001.jpg'), 'this is not a jpeg');
  await assert.rejects(prep(bad, { train: 2, test: 2 }),
    new RegExp(`cannot decode image "${esc(path.join(bad, 'green', '0001.jpg'))}" as PNG or JPEG: not a PNG or JPEG file .*; re-save it as PNG/JPEG or remove it`));
  await assert.rejects(prepareDataset({ name: 'folder', path: images, train: 4, test: 2, seed: 1, channels: 2, cacheDir: tmp }), /channels must be 1 \(luminance\) or 3 \(RGB\), got 2/);
  await assert.rejects(prepareDataset({ name: 'folder', path: images, train: 4, test: 2, seed: 1, resolution: 0, cacheDir: tmp }), /resolution must be a whole number from 1 to 1024, got 0/);
});
