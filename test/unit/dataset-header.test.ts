// A dataset header may only name files beside it: tfjsTrainer.loadSplit refuses '..', absolute
// paths, sub-folders and symbolic links out of the folder, naming the header and the fix.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { loadSplit } from '../../server/src/train/tfjsTrainer';
import { plainFileIn } from '../../server/src/util/plainFile';
import { hostileDatasets, refusal, smallDataset } from '../helpers/hostileDataset';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mnas-header-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('loadSplit reads a valid header and refuses every name that leaves its folder', async () => {
  const ok = await smallDataset(tmp, 'valid');
  const split = await loadSplit(ok.trainPath);
  assert.deepEqual([split.count, split.shape, split.images.length], [8, [1, 28, 28], 8 * 784]);
  const cases = await hostileDatasets(tmp);
  assert.equal(cases.length, 6);
  for (const { how, spec, want } of cases) {
    await assert.rejects(loadSplit(spec.trainPath), refusal(spec, want), how);
  }
});

test('plainFileIn: plain names inside the folder pass, the rest say why', () => {
  assert.equal(plainFileIn(tmp, 'train-images.u8'), path.join(tmp, 'train-images.u8'));
  assert.equal(plainFileIn(tmp, '..hidden'), path.join(tmp, '..hidden'));
  for (const bad of ['a/b', 'a\\b', '..', '.', '/etc/passwd', 'C:\\x', 'x\0y']) {
    assert.throws(() => plainFileIn(tmp, bad), /is not a plain file name/, bad);
  }
  assert.throws(() => plainFileIn(tmp, ''), /is not a file name/);
  assert.throws(() => plainFileIn(tmp, null), /is not a file name/);
});
