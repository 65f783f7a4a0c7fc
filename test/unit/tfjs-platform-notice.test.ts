// quietPlatformNotice drops exactly tfjs-core's second-copy notices (the Node platform, the cpu and
// webgl backends and their kernels registered again) while a second copy of tfjs-core loads (the
// CLI bundle's and the TFLite runtime's), and nothing else.
// The bundle itself is checked in test/search/resume.test.ts (a real search's stderr).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quietPlatformNotice } from '../../server/src/platform/tfjs';

const NOTICE = 'Platform node has already been set. Overwriting the platform with node.';

async function recording(fn: (seen: unknown[][]) => unknown): Promise<void> {
  const warn = console.warn;
  const seen: unknown[][] = [];
  console.warn = (...args: unknown[]) => { seen.push(args); };
  try {
    await fn(seen);
  } finally {
    console.warn = warn;
  }
}

test('sync: the notice is dropped, other warnings (and the notice with other text) pass, console.warn is restored', async () => {
  await recording((seen) => {
    const mine = console.warn;
    const r = quietPlatformNotice(() => {
      console.warn(NOTICE);
      console.warn('Platform browser has already been set. Overwriting the platform with node.');
      console.warn('something else', 1);
      console.warn("The kernel 'Abs' for backend 'cpu' is already registered");
      console.warn("The kernel 'Conv2D' for backend 'webgl' is already registered");
      console.warn('cpu backend was already registered. Reusing existing backend factory.');
      console.warn("The kernel 'Abs' for backend 'wasm' is already registered");
      return 7;
    });
    assert.equal(r, 7);
    assert.deepEqual(seen, [
      ['Platform browser has already been set. Overwriting the platform with node.'], ['something else', 1],
      ["The kernel 'Abs' for backend 'wasm' is already registered"],
    ]);
    assert.equal(console.warn, mine, 'restored');
    console.warn(NOTICE);
    assert.equal(seen.length, 4, 'outside the load the line is not touched');
  });
});

test('async: dropped until the load settles; restored after a rejection too', async () => {
  await recording(async (seen) => {
    const mine = console.warn;
    await quietPlatformNotice(async () => {
      await new Promise((r) => setTimeout(r, 5));
      console.warn(NOTICE);
    });
    assert.deepEqual(seen, []);
    assert.equal(console.warn, mine);
    await assert.rejects(quietPlatformNotice(async () => { throw new Error('load failed'); }), /load failed/);
    assert.equal(console.warn, mine);
    assert.throws(() => quietPlatformNotice(() => { throw new Error('sync failed'); }), /sync failed/);
    assert.equal(console.warn, mine);
  });
});
