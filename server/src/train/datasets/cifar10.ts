// The `cifar10` dataset from its binary version (cifar-10-batches-bin): data_batch_1.bin ...
// data_batch_5.bin (training) and test_batch.bin, each a run of 3073-byte records: 1 label byte
// (0..9) then 3072 pixel bytes (1024 R, 1024 G, 1024 B, each 32x32 row-major), i.e. already
// channels-first. The official files hold 10,000 records each; any whole number of records is
// accepted. Train is a seeded stratified subset of the training batches, test one of the test
// batch, so the official train/test separation is kept.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describePath } from './folder';
import { type Picked, stratifiedSplit } from './split';
import type { EncodedDataset, EncodedSplit } from './write';

export const CIFAR_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'];
export const CIFAR_TEST_FILE = 'test_batch.bin';
export const CIFAR_RECORD = 1 + 3 * 32 * 32;
export const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const FILES = [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE];

export interface CifarListing { root: string; fingerprint: string; sizes: Record<string, number> }

/** Finds and checks the six batch files (existence and size) without reading them. */
export function scanCifar(folder: string, written?: string): CifarListing {
  const where = `CIFAR-10 folder ${describePath(written, folder)}`;
  if (!existsSync(folder)) {
    throw new Error(`${where} does not exist; fix the path (a relative path is resolved against the .mnas file's folder) to the folder holding ${FILES.join(', ')} (the "CIFAR-10 binary version", cifar-10-batches-bin)`);
  }
  if (!statSync(folder).isDirectory()) throw new Error(`${where} is a file, not a folder; point \`dataset cifar10\` at the folder holding ${FILES.join(', ')}`);
  // The folder the archive unpacks to, one level down, is accepted too.
  const nested = path.join(folder, 'cifar-10-batches-bin');
  const root = !existsSync(path.join(folder, CIFAR_TEST_FILE)) && existsSync(path.join(nested, CIFAR_TEST_FILE)) ? nested : folder;
  const missing = FILES.filter((f) => !existsSync(path.join(root, f)));
  if (missing.length) {
    throw new Error(`${where} lacks ${missing.join(', ')}; it needs all of ${FILES.join(', ')} (the CIFAR-10 binary version; the Python version's data_batch_1 without .bin is a different format)`);
  }
  const hash = createHash('sha256').update(JSON.stringify(['mnas-cifar10-v1', root]));
  const sizes: Record<string, number> = {};
  for (const f of FILES) {
    const st = statSync(path.join(root, f));
    if (st.size === 0 || st.size % CIFAR_RECORD !== 0) {
      throw new Error(`${path.join(root, f)} is ${st.size} bytes, not a whole number of ${CIFAR_RECORD}-byte records (official files: ${10_000 * CIFAR_RECORD} bytes); the file is truncated or not CIFAR-10 binary: download it again`);
    }
    sizes[f] = st.size / CIFAR_RECORD;
    hash.update(JSON.stringify([f, st.size, st.mtimeMs]));
  }
  return { root, fingerprint: hash.digest('hex'), sizes };
}

interface Records { buffers: Uint8Array[]; files: string[]; perClass: [number, number][][] }

async function readRecords(root: string, files: string[]): Promise<Records> {
  const buffers: Uint8Array[] = [];
  const perClass: [number, number][][] = Array.from({ length: 10 }, () => []);
  for (const [fi, f] of files.entries()) {
    const buf = await readFile(path.join(root, f));
    if (buf.length % CIFAR_RECORD !== 0) throw new Error(`${path.join(root, f)} changed while reading: ${buf.length} bytes is not a whole number of records`);
    for (let r = 0; r < buf.length / CIFAR_RECORD; r++) {
      const label = buf[r * CIFAR_RECORD];
      if (label > 9) throw new Error(`${path.join(root, f)}: record ${r} has label ${label}, not 0..9; the file is not CIFAR-10 binary (CIFAR-100 records have 2 label bytes)`);
      perClass[label].push([fi, r]);
    }
    buffers.push(buf);
  }
  return { buffers, files, perClass };
}

function encode(rec: Records, picked: Picked[], channels: 1 | 3): EncodedSplit {
  const plane = 32 * 32;
  const per = channels * plane;
  const images = new Uint8Array(picked.length * per);
  const labels = new Uint8Array(picked.length);
  const sources: string[] = [];
  picked.forEach((p, i) => {
    const [fi, r] = rec.perClass[p.cls][p.index];
    const px = rec.buffers[fi].subarray(r * CIFAR_RECORD + 1, (r + 1) * CIFAR_RECORD);
    if (channels === 3) images.set(px, i * per);
    else {
      // Luminance, ITU-R BT.601 (as the folder dataset and Pillow's convert('L')).
      for (let j = 0; j < plane; j++) images[i * per + j] = Math.round(0.299 * px[j] + 0.587 * px[plane + j] + 0.114 * px[2 * plane + j]);
    }
    labels[i] = p.cls;
    sources.push(`${rec.files[fi]}#${r}`);
  });
  return { images, labels, sources };
}

export interface CifarEncodeOptions { train: number; test: number; seed: number; channels: 1 | 3; written?: string }

/** train/test within what the batches hold (from the file sizes, nothing read). */
export function checkCifarSizes(listing: CifarListing, o: { train: number; test: number; written?: string }): { trainTotal: number; testTotal: number } {
  const where = `CIFAR-10 folder ${describePath(o.written, listing.root)}`;
  const trainTotal = CIFAR_TRAIN_FILES.reduce((a, f) => a + listing.sizes[f], 0);
  const testTotal = listing.sizes[CIFAR_TEST_FILE];
  if (o.train > trainTotal) throw new Error(`${where} has ${trainTotal} training images (data_batch_1..5.bin); train ${o.train} is more: lower it`);
  if (o.test > testTotal) throw new Error(`${where} has ${testTotal} test images (test_batch.bin); test ${o.test} is more: lower it`);
  return { trainTotal, testTotal };
}

export async function encodeCifar(listing: CifarListing, o: CifarEncodeOptions): Promise<EncodedDataset> {
  const { trainTotal, testTotal } = checkCifarSizes(listing, o);
  const tr = await readRecords(listing.root, CIFAR_TRAIN_FILES);
  const te = await readRecords(listing.root, [CIFAR_TEST_FILE]);
  // Two independent seeded draws: the training subset from the training batches, the test subset from the test batch.
  const trainPick = stratifiedSplit(tr.perClass.map((c) => c.length), o.train, 0, o.seed).train;
  const testPick = stratifiedSplit(te.perClass.map((c) => c.length), 0, o.test, o.seed).test;
  let classNames = CIFAR_CLASSES;
  const meta = path.join(listing.root, 'batches.meta.txt');
  if (existsSync(meta)) {
    const names = (await readFile(meta, 'utf8')).split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (names.length === 10) classNames = names;
  }
  const desc = `stratified seeded subsets (seed ${o.seed}) of CIFAR-10 in ${listing.root}: ${o.train} of the ${trainTotal} training images ` +
    `(data_batch_1..5.bin) / ${o.test} of the ${testTotal} test images (test_batch.bin), per-class counts proportional (largest remainder); ` +
    `${o.channels === 3 ? 'RGB' : 'luminance'} 32x32`;
  return {
    shape: [o.channels, 32, 32], classes: 10,
    train: encode(tr, trainPick, o.channels), test: encode(te, testPick, o.channels),
    extra: { description: desc, source: listing.root, classNames, channels: o.channels },
  };
}
