// Writes a prepared proxy dataset the way the worker reads it (server/python/mnas_worker/data.py):
// per split `<split>.json` (header), `<split>-images.u8` (N x C x H x W uint8, C-order),
// `<split>-labels.u8` (N uint8) and, when known, `<split>-sources.txt` (where each image came
// from, one line per image, in order). Written to a private folder and renamed into place, so
// concurrent runs never see half a dataset.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { countClasses } from './split';

export const DATASET_FORMAT = 'mnas-dataset-v1';

export interface EncodedSplit {
  images: Uint8Array;
  labels: Uint8Array;
  /** One line per image: its source file (or file#record). */
  sources?: string[];
}

export interface EncodedDataset {
  /** [C, H, W] */
  shape: [number, number, number];
  classes: number;
  train: EncodedSplit;
  test: EncodedSplit;
  /** Extra header fields: name, seed, description, source, classNames... */
  extra: Record<string, unknown>;
}

export interface PixelStats { mean: number; std: number; channelMean: number[]; channelStd: number[] }

/** Mean and std of the pixels after scaling by 1/255, overall and per channel. */
export function pixelStats(images: Uint8Array, shape: [number, number, number]): PixelStats {
  const [c, h, w] = shape;
  const plane = h * w;
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  // Integer histograms per channel: exact and fast (no float accumulation over millions of pixels).
  const hist = Array.from({ length: c }, () => new Float64Array(256));
  for (let base = 0; base < images.length; base += c * plane) {
    for (let ch = 0; ch < c; ch++) {
      const hc = hist[ch];
      const off = base + ch * plane;
      for (let p = 0; p < plane; p++) hc[images[off + p]]++;
    }
  }
  for (let ch = 0; ch < c; ch++) {
    for (let v = 0; v < 256; v++) {
      sum[ch] += hist[ch][v] * (v / 255);
      sumSq[ch] += hist[ch][v] * (v / 255) ** 2;
    }
  }
  const n = images.length / c;
  const std = (s: number, sq: number, k: number) => Math.sqrt(Math.max(sq / k - (s / k) ** 2, 1e-12));
  const total = sum.reduce((a, b) => a + b, 0);
  const totalSq = sumSq.reduce((a, b) => a + b, 0);
  return {
    mean: total / images.length,
    std: std(total, totalSq, images.length),
    channelMean: Array.from(sum, (s) => s / n),
    channelStd: Array.from(sum, (s, ch) => std(s, sumSq[ch], n)),
  };
}

function header(ds: EncodedDataset, split: 'train' | 'test', stats: PixelStats): string {
  const s = ds[split];
  return JSON.stringify({
    format: DATASET_FORMAT, split, count: s.labels.length, shape: ds.shape, classes: ds.classes, dtype: 'uint8', scale: 255,
    images: `${split}-images.u8`, labels: `${split}-labels.u8`, ...(s.sources ? { sources: `${split}-sources.txt` } : {}),
    ...ds.extra, ...stats, classCounts: countClasses(s.labels, ds.classes),
  }, null, 2);
}

/** Writes both splits into `folder` (atomically); a folder finished first by another process is kept. */
export async function writeDataset(folder: string, ds: EncodedDataset): Promise<void> {
  const stats = pixelStats(ds.train.images, ds.shape);
  const tmp = `${folder}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    for (const split of ['train', 'test'] as const) {
      const s = ds[split];
      await writeFile(path.join(tmp, `${split}-images.u8`), s.images);
      await writeFile(path.join(tmp, `${split}-labels.u8`), s.labels);
      if (s.sources) await writeFile(path.join(tmp, `${split}-sources.txt`), s.sources.map((l) => `${l}\n`).join(''));
      await writeFile(path.join(tmp, `${split}.json`), header(ds, split, stats));
    }
    await rename(tmp, folder);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // Another process finished the same dataset first: theirs is identical.
    if (!(existsSync(path.join(folder, 'train.json')) && existsSync(path.join(folder, 'test.json')))) throw e;
  }
}
