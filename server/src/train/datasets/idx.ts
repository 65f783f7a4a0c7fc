// MNIST-format (IDX) datasets: `idx "folder"` for any data in the four standard files, and
// `fashion-mnist`, which Debian's package dataset-fashion-mnist installs as IDX files.
// An IDX file is a 4-byte magic number (0, 0, value type, number of dimensions), one
// big-endian uint32 per dimension, then the values in C order; MNIST-format data is unsigned
// bytes: images N x rows x cols, labels N. Each file may be gzipped (detected by its content).
// Every header field is checked against the file's length before a byte of data is used, so
// a truncated, padded or foreign file is an error naming the file, never a wrong dataset.
// Train is a seeded stratified subset of the train-* files, test one of the t10k-* files, so
// the official train/test separation is kept.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { describePath } from './folder';
import { type Picked, stratifiedSplit } from './split';
import type { EncodedDataset, EncodedSplit } from './write';

const gunzipAsync = promisify(gunzip);

/** The four files by their standard names (MNIST's); each may also end in .gz, or use `.idx` for `-idx` (train-images.idx3-ubyte). */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;
type Role = keyof typeof IDX_FILES;
const ROLES = Object.keys(IDX_FILES) as Role[];
const STANDARD = ROLES.map((r) => IDX_FILES[r]).join(', ');

/** Where Debian's dataset-fashion-mnist package installs its files (its documented location). */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_PACKAGE = 'dataset-fashion-mnist';
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const INSTALL = `sudo apt-get install ${FASHION_MNIST_PACKAGE}`;

/** Largest image side accepted (as a dataset's resolution). */
const MAX_SIDE = 1024;
const UNSIGNED_BYTE = 0x08;
const TYPE_NAMES: Record<number, string> = { 0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };

export interface IdxListing {
  root: string;
  /** The file found for each role (absolute). */
  files: Record<Role, string>;
  /** Hash of the names, sizes and modification times: the cache key's content part. */
  fingerprint: string;
}

/** Candidate names of a role's file, in order of preference (uncompressed first: no inflate). */
function candidates(base: string): string[] {
  const dotted = base.replace(/-(idx\d-ubyte)$/, '.$1');
  return [base, `${base}.gz`, dotted, `${dotted}.gz`];
}

/** Finds the four files without reading them; `what` names the dataset in messages, `fix` says what to do when files are missing. */
export function scanIdx(folder: string, o: { written?: string; what?: string; fix?: string } = {}): IdxListing {
  const where = `${o.what ?? 'IDX folder'} ${describePath(o.written, folder)}`;
  if (!existsSync(folder)) {
    throw new Error(`${where} does not exist; ${o.fix ?? `fix the path (a relative path is resolved against the .mnas file's folder) to the folder holding ${STANDARD} (each may be .gz)`}`);
  }
  if (!statSync(folder).isDirectory()) throw new Error(`${where} is a file, not a folder; point \`dataset idx\` at the folder holding ${STANDARD}`);
  const files = {} as Record<Role, string>;
  const missing: string[] = [];
  for (const role of ROLES) {
    const found = candidates(IDX_FILES[role]).find((n) => existsSync(path.join(folder, n)));
    if (found) files[role] = path.join(folder, found);
    else missing.push(IDX_FILES[role]);
  }
  if (missing.length) {
    throw new Error(`${where} lacks ${missing.join(', ')} (or the same names with .gz); it needs all of ${STANDARD}${o.fix ? `; ${o.fix}` : ''}`);
  }
  const hash = createHash('sha256').update(JSON.stringify(['mnas-idx-v1', folder]));
  for (const role of ROLES) {
    const st = statSync(files[role]);
    hash.update(JSON.stringify([path.basename(files[role]), st.size, st.mtimeMs]));
  }
  return { root: folder, files, fingerprint: hash.digest('hex') };
}

export interface IdxArray { dims: number[]; data: Uint8Array }

/**
 * Parses one IDX file of unsigned bytes with `rank` dimensions (3 = images, 1 = labels).
 * Every inconsistency is an Error naming `file`.
 */
export function parseIdx(buf: Uint8Array, file: string, rank: 1 | 3): IdxArray {
  const kind = rank === 3 ? 'images (count x rows x cols)' : 'labels (count)';
  const magic = (n: number) => Array.from(buf.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) {
    throw new Error(`${file} is not an IDX file: it starts with ${buf.length ? magic(4) : 'nothing (0 bytes)'}, an IDX file with ${kind} starts with 00 00 08 0${rank}; download it again`);
  }
  const type = buf[2];
  if (type !== UNSIGNED_BYTE) {
    throw new Error(`${file} holds ${TYPE_NAMES[type] ?? `type 0x${type.toString(16)}`} values (magic ${magic(4)}); MNIST-format data is unsigned bytes (00 00 08 0${rank})`);
  }
  if (buf[3] !== rank) throw new Error(`${file} has ${buf[3]} dimension(s) (magic ${magic(4)}); ${kind} have ${rank} (00 00 08 0${rank}): is it the right file?`);
  const head = 4 + 4 * rank;
  if (buf.length < head) throw new Error(`${file} is ${buf.length} bytes, shorter than its ${head}-byte header: the file is truncated; download it again`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i, false));
  if (dims[0] === 0) throw new Error(`${file} holds 0 ${rank === 3 ? 'images' : 'labels'}`);
  if (rank === 3 && (dims[1] === 0 || dims[2] === 0 || dims[1] > MAX_SIDE || dims[2] > MAX_SIDE)) {
    throw new Error(`${file}: images of ${dims[1]}x${dims[2]} pixels; each side must be 1 to ${MAX_SIDE}`);
  }
  const want = head + dims.reduce((a, b) => a * b, 1);
  if (buf.length !== want) {
    const what = rank === 3 ? `${dims[0]} images of ${dims[1]}x${dims[2]}` : `${dims[0]} labels`;
    throw new Error(`${file}: its header says ${what} (${want} bytes with the header), the file ${buf.length < want ? 'is truncated at' : 'has'} ${buf.length} bytes; download it again`);
  }
  return { dims, data: buf.subarray(head) };
}

/** Reads (inflating if gzipped) and parses one file. */
export async function readIdx(file: string, rank: 1 | 3): Promise<IdxArray> {
  let buf: Uint8Array = await readFile(file);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = await gunzipAsync(buf);
    } catch (e) {
      throw new Error(`${file} is a damaged gzip file (${(e as Error).message}); download it again`);
    }
  }
  return parseIdx(buf, file, rank);
}

interface IdxSplit { images: IdxArray; labels: IdxArray; imagesFile: string; perClass: number[][] }

async function readSplit(imagesFile: string, labelsFile: string): Promise<IdxSplit> {
  const images = await readIdx(imagesFile, 3);
  const labels = await readIdx(labelsFile, 1);
  if (images.dims[0] !== labels.dims[0]) {
    throw new Error(`${imagesFile} holds ${images.dims[0]} images but ${labelsFile} holds ${labels.dims[0]} labels; the two files must come from the same set`);
  }
  const perClass: number[][] = [];
  labels.data.forEach((l, i) => {
    while (perClass.length <= l) perClass.push([]);
    perClass[l].push(i);
  });
  return { images, labels, imagesFile, perClass };
}

function encode(s: IdxSplit, picked: Picked[]): EncodedSplit {
  const px = s.images.dims[1] * s.images.dims[2];
  const images = new Uint8Array(picked.length * px);
  const labels = new Uint8Array(picked.length);
  const name = path.basename(s.imagesFile);
  const sources: string[] = [];
  picked.forEach((p, i) => {
    const r = s.perClass[p.cls][p.index];
    images.set(s.images.data.subarray(r * px, (r + 1) * px), i * px);
    labels[i] = p.cls;
    sources.push(`${name}#${r}`);
  });
  return { images, labels, sources };
}

export interface IdxEncodeOptions {
  train: number;
  test: number;
  seed: number;
  written?: string;
  /** What the data is, for messages and the header ("IDX folder", "Fashion-MNIST"). */
  what: string;
  /** When set, the data must be exactly this: classes and image side. */
  expect?: { classes: number; side: number; classNames: string[] };
}

export async function encodeIdx(listing: IdxListing, o: IdxEncodeOptions): Promise<EncodedDataset> {
  const f = listing.files;
  const tr = await readSplit(f.trainImages, f.trainLabels);
  const te = await readSplit(f.testImages, f.testLabels);
  const [, rows, cols] = tr.images.dims;
  if (te.images.dims[1] !== rows || te.images.dims[2] !== cols) {
    throw new Error(`${f.testImages} holds ${te.images.dims[1]}x${te.images.dims[2]} images, ${f.trainImages} ${rows}x${cols}; train and test images must have one size`);
  }
  const classes = Math.max(tr.perClass.length, te.perClass.length);
  if (o.expect && (classes !== o.expect.classes || rows !== o.expect.side || cols !== o.expect.side)) {
    throw new Error(`${o.what} in ${describePath(o.written, listing.root)} holds ${classes} classes of ${rows}x${cols} images, not ${o.expect.classes} of ${o.expect.side}x${o.expect.side}: these are not the ${o.what} files; reinstall them`);
  }
  if (classes < 2) throw new Error(`${f.trainLabels} and ${f.testLabels} hold only label 0: a proxy task needs at least 2 classes`);
  const where = `${o.what} ${describePath(o.written, listing.root)}`;
  const trainTotal = tr.images.dims[0];
  const testTotal = te.images.dims[0];
  if (o.train > trainTotal) throw new Error(`${where} has ${trainTotal} training images (${path.basename(f.trainImages)}); train ${o.train} is more: lower it`);
  if (o.test > testTotal) throw new Error(`${where} has ${testTotal} test images (${path.basename(f.testImages)}); test ${o.test} is more: lower it`);
  const sizes = (s: IdxSplit) => Array.from({ length: classes }, (_, c) => s.perClass[c]?.length ?? 0);
  // Two independent seeded draws, as for CIFAR-10: train from the train-* files, test from the t10k-* files.
  const trainPick = stratifiedSplit(sizes(tr), o.train, 0, o.seed).train;
  const testPick = stratifiedSplit(sizes(te), 0, o.test, o.seed).test;
  const desc = `stratified seeded subsets (seed ${o.seed}) of ${o.what} in ${listing.root}: ${o.train} of the ${trainTotal} training images ` +
    `(${path.basename(f.trainImages)}) / ${o.test} of the ${testTotal} test images (${path.basename(f.testImages)}), ` +
    `per-class counts proportional (largest remainder); greyscale ${rows}x${cols}, ${classes} classes`;
  return {
    shape: [1, rows, cols], classes,
    train: encode(tr, trainPick), test: encode(te, testPick),
    extra: { description: desc, source: listing.root, ...(o.expect ? { classNames: o.expect.classNames } : {}) },
  };
}

/** The installed Fashion-MNIST files, or an Error that names the package and the command that installs it. */
export function scanFashionMnist(dir = FASHION_MNIST_DIR): IdxListing {
  if (!existsSync(dir)) {
    throw new Error(`Fashion-MNIST is not installed: \`dataset fashion-mnist\` reads the IDX files of the Debian package ${FASHION_MNIST_PACKAGE} ` +
      `(in ${dir}); install it with \`${INSTALL}\`, or use \`dataset idx "folder"\` with a copy of the files, or \`dataset mnist\` (built in)`);
  }
  return scanIdx(dir, { what: 'Fashion-MNIST folder', fix: `reinstall the package: \`sudo apt-get install --reinstall ${FASHION_MNIST_PACKAGE}\`` });
}
