// Folder-dataset image path: PNG/JPEG decoding (format told by the bytes), channel conversion
// and the bilinear resize, on known patterns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeImage, type Planes, resizeBilinear, sniffFormat, toPlanes } from '../../server/src/train/datasets/images';
import { jpegBytes, pngBytes } from './datasets-fixtures';

const QUAD = (x: number, y: number, w: number, h: number): [number, number, number] =>
  x < w / 2 ? (y < h / 2 ? [255, 0, 0] : [0, 255, 0]) : (y < h / 2 ? [0, 0, 255] : [255, 255, 255]);

test('PNG decodes exactly (RGBA, grey); the format comes from the bytes', () => {
  const px = (x: number, y: number): [number, number, number, number] => [x * 10, y * 20, x + y, 200 + x];
  const img = decodeImage(pngBytes(5, 3, px));
  assert.deepEqual([img.width, img.height], [5, 3]);
  for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) assert.deepEqual([...img.data.subarray((y * 5 + x) * 4, (y * 5 + x + 1) * 4)], px(x, y));
  const grey = decodeImage(pngBytes(4, 2, (x, y) => [x * 60 + y, x * 60 + y, x * 60 + y], { colorType: 0 }));
  assert.deepEqual([...grey.data.subarray(0, 8)], [0, 0, 0, 255, 60, 60, 60, 255]);
  assert.equal(sniffFormat(pngBytes(1, 1, () => [1, 2, 3])), 'png');
  assert.equal(sniffFormat(jpegBytes(8, 8, () => [1, 2, 3])), 'jpeg');
  assert.equal(sniffFormat(new TextEncoder().encode('GIF89a')), undefined);
});

test('JPEG decodes to the drawn colours (lossy: within a small tolerance)', () => {
  const img = decodeImage(jpegBytes(32, 32, (x, y) => QUAD(x, y, 32, 32), 100));
  assert.deepEqual([img.width, img.height], [32, 32]);
  // Quadrant centres, away from the block edges.
  for (const [x, y] of [[8, 8], [24, 8], [8, 24], [24, 24]]) {
    const got = [...img.data.subarray((y * 32 + x) * 4, (y * 32 + x) * 4 + 3)];
    QUAD(x, y, 32, 32).forEach((v, c) => assert.ok(Math.abs(got[c] - v) <= 8, `(${x},${y}) channel ${c}: ${got[c]} vs ${v}`));
  }
});

test('undecodable bytes give a reason', () => {
  assert.throws(() => decodeImage(new TextEncoder().encode('hello world')), /not a PNG or JPEG file \(it starts with bytes 68 65 6c 6c\)/);
  assert.throws(() => decodeImage(new Uint8Array(0)), /the file is empty/);
  const png = pngBytes(16, 16, () => [1, 2, 3]);
  assert.throws(() => decodeImage(png.subarray(0, 40)));
  const jpg = jpegBytes(16, 16, () => [1, 2, 3]);
  assert.throws(() => decodeImage(jpg.subarray(0, 30)));
});

test('channels: RGB planes in order; 1 channel is BT.601 luminance; alpha is dropped', () => {
  const img = decodeImage(pngBytes(2, 1, (x) => (x === 0 ? [255, 0, 0, 0] : [10, 20, 30, 255])));
  const rgb = toPlanes(img, 3);
  assert.deepEqual([...rgb.data], [255, 10, 0, 20, 0, 30]);
  const l = toPlanes(img, 1);
  assert.ok(Math.abs(l.data[0] - 0.299 * 255) < 1e-4 && Math.abs(l.data[1] - (0.299 * 10 + 0.587 * 20 + 0.114 * 30)) < 1e-4);
});

const planes = (h: number, w: number, values: number[], channels = 1): Planes => ({ channels, height: h, width: w, data: Float32Array.from(values) });
const close = (got: Float32Array, want: number[], tol = 1e-4) =>
  assert.ok(got.length === want.length && want.every((v, i) => Math.abs(got[i] - v) < tol), `got [${[...got].map((v) => v.toFixed(3))}], want [${want}]`);

test('bilinear resize: enlarging matches half-pixel bilinear (PyTorch align_corners=False)', () => {
  close(resizeBilinear(planes(1, 2, [0, 100]), 1, 4).data, [0, 25, 75, 100]);
  // 2x2 -> 4x4 is the outer product of the 1-D weights [1,0], [.75,.25], [.25,.75], [0,1].
  const src = [0, 100, 200, 40];
  const w = [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]];
  const want: number[] = [];
  for (const [a, b] of w) for (const [c, d] of w) want.push(a * (c * src[0] + d * src[1]) + b * (c * src[2] + d * src[3]));
  close(resizeBilinear(planes(2, 2, src), 4, 4).data, want);
});

test('bilinear resize: shrinking widens the triangle filter (antialiased, as Pillow BILINEAR)', () => {
  // 4 -> 2: taps (.75, .75, .25) / 1.75 around centres 1 and 3.
  close(resizeBilinear(planes(1, 4, [0, 0, 100, 100]), 1, 2).data, [25 / 1.75, 150 / 1.75]);
  // A constant image stays constant at any size; channels are resized independently.
  const r = resizeBilinear(planes(7, 5, [...new Array(35).fill(42), ...new Array(35).fill(200)], 2), 3, 11);
  assert.deepEqual([r.channels, r.height, r.width], [2, 3, 11]);
  close(r.data, [...new Array(33).fill(42), ...new Array(33).fill(200)]);
  // Same size: untouched.
  const same = planes(2, 2, [1, 2, 3, 4]);
  assert.equal(resizeBilinear(same, 2, 2), same);
  // A horizontal ramp stays a monotone ramp, and a quadrant image keeps its quadrants.
  const ramp = resizeBilinear(planes(1, 64, Array.from({ length: 64 }, (_, i) => i * 4)), 1, 10).data;
  for (let i = 1; i < 10; i++) assert.ok(ramp[i] > ramp[i - 1]);
  const quad = resizeBilinear(toPlanes(decodeImage(pngBytes(64, 64, (x, y) => QUAD(x, y, 64, 64))), 3), 8, 8);
  const at = (c: number, y: number, x: number) => quad.data[(c * 8 + y) * 8 + x];
  assert.deepEqual([at(0, 1, 1), at(1, 1, 1), at(2, 1, 1)], [255, 0, 0]);
  assert.deepEqual([at(0, 6, 1), at(1, 6, 1), at(2, 6, 1)], [0, 255, 0]);
  assert.deepEqual([at(0, 1, 6), at(1, 1, 6), at(2, 1, 6)], [0, 0, 255]);
  assert.deepEqual([at(0, 6, 6), at(1, 6, 6), at(2, 6, 6)], [255, 255, 255]);
});
