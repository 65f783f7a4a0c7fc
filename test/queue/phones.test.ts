// A phone farm at scale, simulated on this machine with the real parts: 8 loopback phones of one
// model (the real adb protocol, a fixed timing) on 4 hosts (4 adb servers, 4 `mnas worker`
// processes), Redis, BullMQ, the search engine with `latency adb "Loopback 8"`. The jobs are
// shared evenly, and a phone that vanishes mid-benchmark loses no child.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSearch } from '../../server/src/search/engine';
import { queueEvaluator } from '../../server/src/queue/queueEvaluator';
import { redisMissing, startRedis, WIDE_SPACE, writeSearch } from '../fixtures/queue/harness';
import { phoneOf, startPhoneFarm } from '../fixtures/queue/phoneFarm';

const missing = redisMissing();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-phones-'));
const env = { ...process.env, MNAS_CACHE: path.join(tmp, 'cache') };
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('a phone farm: 8 phones of one model on 4 hosts', { skip: missing }, () => {
  test('latency jobs are shared evenly over hosts and phones; a phone that vanishes mid-benchmark loses no child', { timeout: 900_000 }, async () => {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
    const redis = await startRedis();
    // Host b's first phone goes away when its second benchmark starts (no goodbye: the process dies).
    const farm = await startPhoneFarm(redis.url, { hosts: 4, phonesPerHost: 2, inferenceMs: 20, vanish: { host: 1, phone: 0, onBenchmark: 2 }, trainSlots: 2, standInSeconds: 0.5, env }).catch(async (e) => { await redis.stop(); throw e; });
    try {
      const vanished = farm.hosts[1].phones[0];
      const dir = fs.mkdtempSync(path.join(tmp, 'run-'));
      const file = writeSearch(dir, { children: 32, batch: 8, latency: 'adb "Loopback 8"', space: WIDE_SPACE, overlap: true });
      const res = await runSearch({ file, out: dir, cacheDir: path.join(env.MNAS_CACHE, 'datasets'), evaluator: queueEvaluator({ url: redis.url }) });
      assert.equal(res.status, 'done');
      assert.deepEqual(res.failed, [], 'no child failed');
      assert.equal(res.children.length, 32, 'no child lost');
      assert.notEqual(await Promise.race([vanished.exited, new Promise((r) => setTimeout(() => r('alive'), 5000))]), 'alive', 'the phone did vanish');
      const timed = res.children.filter((c) => c.cachedFrom === undefined);
      const byPhone = new Map<string, number>();
      for (const c of timed) {
        const serial = phoneOf(c.latencySource);
        assert.ok(serial && farm.serials().includes(serial), `${c.latencySource} names a phone of the farm`);
        byPhone.set(serial, (byPhone.get(serial) ?? 0) + 1);
      }
      const counts = farm.hosts.map((h) => h.phones.map((p) => byPhone.get(p.serial) ?? 0));
      const perHost = counts.map((xs) => xs.reduce((a, b) => a + b, 0));
      const mean = timed.length / farm.hosts.length;
      // Even: every host within half the mean of it, every phone that stayed timed children.
      for (const [i, n] of perHost.entries()) assert.ok(n >= 0.5 * mean && n <= 1.5 * mean, `host ${i}: ${n} of ${timed.length} (per host ${perHost.join('/')}, per phone ${JSON.stringify(counts)})`);
      for (const [h, xs] of counts.entries()) xs.forEach((n, p) => { if (!(h === 1 && p === 0)) assert.ok(n >= 1, `phone ${h}.${p} timed no child (${JSON.stringify(counts)})`); });
      assert.ok((byPhone.get(vanished.serial) ?? 0) <= 1, 'the vanished phone finished at most its first benchmark');
      // Its second benchmark was handed to the other phone of its host, in the same job.
      const hostB = farm.hosts[1].worker.lines.join('\n');
      assert.match(hostB, new RegExp(`lost \\(${vanished.serial.replace(/\./g, '\\.')}`), hostB);
      assert.match(hostB, new RegExp(`requeue \\(${vanished.serial.replace(/\./g, '\\.')}`));
    } finally {
      await farm.stop();
      await redis.stop();
    }
  });
});
