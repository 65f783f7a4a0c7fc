// Dataset folders whose header names a file outside its folder (a damaged cache or one written by
// something else): both readers (tfjsTrainer.loadSplit, the worker's data.py) must refuse them.
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DataSpec } from '../../server/src/train/trainer';
import { writeDataset } from '../../server/src/train/datasets/write';

const COUNT = 8;
const SHAPE: [number, number, number] = [1, 28, 28];

function split(seed: number) {
  const images = new Uint8Array(COUNT * 28 * 28).map((_, i) => (i * 31 + seed) % 256);
  const labels = new Uint8Array(COUNT).map((_, i) => i % 10);
  return { images, labels };
}

/** A valid 8-image dataset in `dir/name`, as a DataSpec. */
export async function smallDataset(dir: string, name: string): Promise<DataSpec> {
  const folder = path.join(dir, name);
  await writeDataset(folder, { shape: SHAPE, classes: 10, train: split(1), test: split(2), extra: { name } });
  return {
    name, trainPath: path.join(folder, 'train.json'), testPath: path.join(folder, 'test.json'), shape: SHAPE, classes: 10,
    train: COUNT, test: COUNT, split: 'test fixture',
  };
}

/**
 * Ways a train header can name a file outside its folder, each with a same-sized file there (so a
 * reader that follows the name would load it without complaint). `want` matches the refusal.
 */
export async function hostileDatasets(dir: string): Promise<{ how: string; spec: DataSpec; want: RegExp }[]> {
  const outside = path.join(dir, 'outside-images.u8');
  writeFileSync(outside, split(3).images);
  const cases: { how: string; images: string | ((folder: string) => string); want: RegExp }[] = [
    { how: 'a ../ step', images: '../outside-images.u8', want: /is not a plain file name/ },
    { how: 'an absolute path', images: outside, want: /is not a plain file name/ },
    { how: 'a sub-folder', images: 'sub/train-images.u8', want: /is not a plain file name/ },
    { how: "'..' itself", images: '..', want: /is not a plain file name/ },
    { how: 'not a string', images: 42 as unknown as string, want: /is not a file name/ },
    {
      how: 'a symbolic link out of the folder',
      images: (folder) => { symlinkSync(outside, path.join(folder, 'link-images.u8')); return 'link-images.u8'; },
      want: /leads outside .* through a symbolic link/,
    },
  ];
  const out = [];
  for (const [i, c] of cases.entries()) {
    const spec = await smallDataset(dir, `hostile-${i}`);
    const folder = path.dirname(spec.trainPath);
    mkdirSync(path.join(folder, 'sub'));
    writeFileSync(path.join(folder, 'sub', 'train-images.u8'), split(3).images);
    const header = JSON.parse(readFileSync(spec.trainPath, 'utf8')) as Record<string, unknown>;
    header.images = typeof c.images === 'function' ? c.images(folder) : c.images;
    writeFileSync(spec.trainPath, JSON.stringify(header));
    out.push({ how: c.how, spec, want: c.want });
  }
  return out;
}

/** The refusal names the header file and the fix. */
export function refusal(spec: DataSpec, want: RegExp): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${esc(spec.trainPath)}: 'images' .*${want.source}.*delete ${esc(path.dirname(spec.trainPath))} and run again`, 's');
}
