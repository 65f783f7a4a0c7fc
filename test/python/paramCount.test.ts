// The torch builder must mirror the cost model exactly: for random archs across the search
// space, the worker's trainable-parameter count equals costOf(arch).params.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { costOf } from '../../server/src/cost/model';
import { TorchTrainer } from '../../server/src/train/torchTrainer';
import { randomArchs } from './helpers';

let trainer: TorchTrainer;
before(async () => { trainer = await TorchTrainer.start(); }, { timeout: 120_000 });
after(async () => { await trainer?.close(); });

test('worker param count equals the TS cost model for 80 random archs', { timeout: 600_000 }, async () => {
  const archs = randomArchs(20240601, 80);
  const kinds = new Set(archs.flatMap((a) => a.blocks.map((b) => `${b.op}/${b.skip}/${b.se > 0 ? 'se' : 'nose'}`)));
  assert.ok(kinds.size >= 12, `generator covers too few combinations: ${[...kinds].join(' ')}`);
  const residuals = new Set(archs.flatMap((a) => costOf(a).blocks.flatMap((b) => b.layers.map((l) => l.residual + (l.ops.some((o) => o.kind === 'shortcut') ? '+proj' : '')))));
  assert.deepEqual([...residuals].sort(), ['identity', 'none', 'pool', 'pool+proj']);
  const mismatches: string[] = [];
  for (const arch of archs) {
    const want = costOf(arch).params;
    const got = await trainer.count(arch);
    if (got !== want) mismatches.push(`${arch.name}: torch ${got}, cost model ${want}: ${JSON.stringify(arch)}`);
  }
  assert.deepEqual(mismatches, []);
});

test('published-scale check: MnasNet-A1 at 224x224x3 has the cost model count', { timeout: 120_000 }, async () => {
  const row = (name: string, op: 'sepconv' | 'mbconv', e: number, k: number, s: number, f: number, x: number, se: number) =>
    ({ name, op, e, k, s, f, x, se, skip: (op === 'sepconv' ? 'none' : 'identity') as 'none' | 'identity', act: 'relu' as const });
  const arch = {
    name: 'A1', input: { h: 224, w: 224, c: 3 }, stem: { k: 3, s: 2, f: 32, act: 'relu' as const },
    blocks: [row('b1', 'sepconv', 1, 3, 1, 16, 1, 0), row('b2', 'mbconv', 6, 3, 2, 24, 2, 0), row('b3', 'mbconv', 3, 5, 2, 40, 3, 0.25),
      row('b4', 'mbconv', 6, 3, 2, 80, 4, 0), row('b5', 'mbconv', 6, 3, 1, 112, 2, 0.25), row('b6', 'mbconv', 6, 5, 2, 160, 3, 0.25),
      row('b7', 'mbconv', 6, 3, 1, 320, 1, 0)],
    head: { f: 1280, pool: 'avg' as const, classes: 1000, dropout: 0.2 },
  };
  assert.equal(await trainer.count(arch), costOf(arch).params);
});
