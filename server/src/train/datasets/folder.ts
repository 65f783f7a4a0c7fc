// The `folder` dataset: a folder with one subfolder per class holding PNG or JPEG files
// (torchvision ImageFolder layout). Classes are the subfolder names in code-unit order (label 0
// = first); files within a class are sorted the same way, so the seeded split depends only on
// the names. Only files drawn into the split are read and decoded; an undecodable one fails the
// preparation with its path (silently skipping it would change the class sizes and the split).
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { loadImage, quantize } from './images';
import { type Picked, stratifiedSplit } from './split';
import type { EncodedDataset, EncodedSplit } from './write';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
/** Labels are stored as uint8. */
export const MAX_CLASSES = 256;

export interface FolderListing {
  root: string;
  classNames: string[];
  /** Per class: file names inside the class folder, sorted. */
  files: string[][];
  /** Hash of the paths, sizes and modification times: the cache key's content part. */
  fingerprint: string;
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const isImage = (name: string) => !name.startsWith('.') && IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());

/** `"written" (absolute)`, or just the absolute path when they are the same. */
export function describePath(written: string | undefined, abs: string): string {
  return written && written !== abs ? `"${written}" (${abs})` : `"${abs}"`;
}

/** Lists classes and images without decoding anything; every layout problem is an Error naming the folder and the fix. */
export async function scanImageFolder(root: string, written?: string): Promise<FolderListing> {
  const where = `image folder ${describePath(written, root)}`;
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new Error(`${where} does not exist; fix the path (a relative path is resolved against the .mnas file's folder) or create it with one subfolder per class of PNG/JPEG images`);
  }
  if (!st.isDirectory()) throw new Error(`${where} is a file, not a folder; point \`dataset folder\` at a folder with one subfolder per class`);
  const entries = await readdir(root, { withFileTypes: true });
  const classNames: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await stat(path.join(root, e.name)).catch(() => null))?.isDirectory())) classNames.push(e.name);
  }
  classNames.sort(byCodeUnit);
  if (classNames.length === 0) {
    const loose = entries.filter((e) => isImage(e.name)).length;
    throw new Error(`${where} has no class subfolders${loose ? ` (it holds ${loose} images directly)` : ''}; put each class's images in its own subfolder, e.g. ${path.join(root, 'cat', '001.png')} and ${path.join(root, 'dog', '001.jpg')}`);
  }
  if (classNames.length === 1) throw new Error(`${where} has a single class subfolder ("${classNames[0]}"); a classifier needs at least 2 classes: add a subfolder per class`);
  if (classNames.length > MAX_CLASSES) throw new Error(`${where} has ${classNames.length} class subfolders; at most ${MAX_CLASSES} are supported (labels are 8-bit)`);
  const hash = createHash('sha256').update(JSON.stringify(['mnas-folder-v1', root]));
  const files: string[][] = [];
  for (const cls of classNames) {
    const dir = path.join(root, cls);
    const names = (await readdir(dir)).filter(isImage).sort(byCodeUnit);
    const stats = await Promise.all(names.map((n) => stat(path.join(dir, n)).catch(() => null)));
    const kept = names.filter((_, i) => stats[i]?.isFile());
    if (kept.length === 0) {
      throw new Error(`class folder "${dir}" of ${where} has no PNG or JPEG images (${IMAGE_EXTENSIONS.join(', ')}); add images to it or remove the folder`);
    }
    stats.forEach((s, i) => { if (s?.isFile()) hash.update(JSON.stringify([cls, names[i], s.size, s.mtimeMs])); });
    files.push(kept);
  }
  return { root, classNames, files, fingerprint: hash.digest('hex') };
}

export interface FolderEncodeOptions { train: number; test: number; seed: number; side: number; channels: 1 | 3; written?: string }

/** Checks the sizes, splits (seeded, stratified), decodes, converts and resizes the drawn images. */
export async function encodeImageFolder(listing: FolderListing, o: FolderEncodeOptions): Promise<EncodedDataset> {
  const sizes = listing.files.map((f) => f.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  checkFolderSize(listing, o);
  const picked = stratifiedSplit(sizes, o.train, o.test, o.seed);
  const shape: [number, number, number] = [o.channels, o.side, o.side];
  const encode = async (list: Picked[]): Promise<EncodedSplit> => {
    const per = shape[0] * shape[1] * shape[2];
    const images = new Uint8Array(list.length * per);
    const labels = new Uint8Array(list.length);
    const sources: string[] = [];
    for (const [i, p] of list.entries()) {
      const rel = path.join(listing.classNames[p.cls], listing.files[p.cls][p.index]);
      const file = path.join(listing.root, rel);
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (e) {
        throw new Error(`cannot read image "${file}" of image folder ${describePath(o.written, listing.root)}: ${(e as Error).message}`);
      }
      try {
        quantize(loadImage(bytes, o.channels, o.side), images, i * per);
      } catch (e) {
        throw new Error(`cannot decode image "${file}" as PNG or JPEG: ${(e as Error).message}; re-save it as PNG/JPEG or remove it from image folder ${describePath(o.written, listing.root)}`);
      }
      labels[i] = p.cls;
      sources.push(rel.split(path.sep).join('/'));
    }
    return { images, labels, sources };
  };
  const desc = `stratified seeded split (seed ${o.seed}) of the ${total} images in ${listing.classNames.length} classes of image folder ` +
    `${listing.root}: ${o.train} train / ${o.test} test, per-class counts proportional (largest remainder), disjoint; ` +
    `${o.channels === 3 ? 'RGB' : 'luminance'}, resized to ${o.side}x${o.side} (bilinear)`;
  return {
    shape, classes: listing.classNames.length,
    train: await encode(picked.train), test: await encode(picked.test),
    extra: { description: desc, source: listing.root, classNames: listing.classNames, sourceClassCounts: sizes, resolution: o.side, channels: o.channels },
  };
}

export function checkFolderSize(listing: FolderListing, o: { train: number; test: number; written?: string }): void {
  const sizes = listing.files.map((f) => f.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (o.train + o.test > total) {
    const per = listing.classNames.map((c, i) => `${c}: ${sizes[i]}`).join(', ');
    throw new Error(`image folder ${describePath(o.written, listing.root)} has ${total} images (${per}); train ${o.train} + test ${o.test} = ${o.train + o.test} is more: lower train/test or add images`);
  }
}
