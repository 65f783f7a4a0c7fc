// The device pool: jobs spread over every device of one model; a device killed mid-benchmark has
// its job requeued on another and the result arrives; unauthorized devices get a clear message.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdbClient } from '../../server/src/device/adb/client';
import { DevicePool } from '../../server/src/device/adb/pool';
import { AdbLatency } from '../../server/src/latency/adbLatency';
import type { Arch } from '../../server/src/language/arch';
import { connectDevice, startAdbServer, startLoopbackDevice, tfliteRuntimePath, waitForState, type AdbServer, type LoopbackHandle } from '../fixtures/loopback-device/harness';
import { convModelBytes, writeConvModel, writeFakeBenchmarkBinary } from '../fixtures/loopback-device/models';

describe('adb device pool', () => {
  let server: AdbServer;
  let doomed: LoopbackHandle;
  let steady: LoopbackHandle;
  let other: LoopbackHandle;
  let locked: LoopbackHandle;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-adb-pool-'));
  const stops: (() => Promise<void>)[] = [];
  const binary = writeFakeBenchmarkBinary(path.join(tmp, 'benchmark_model'));
  const model = writeConvModel(path.join(tmp, 'conv.tflite'));
  const quick = { binary, warmup: 1, repeats: 5, rounds: 1, cooldownMs: 0 };

  before(async () => {
    server = await startAdbServer();
    stops.push(() => server.stop());
    // Two phones of the same model; the first vanishes when its first benchmark starts.
    doomed = await startLoopbackDevice({ vanishOnBenchmark: 1 });
    stops.push(() => doomed.stop());
    steady = await startLoopbackDevice();
    stops.push(() => steady.stop());
    other = await startLoopbackDevice({ product: { model: 'Other Phone', device: 'other', name: 'other' } });
    stops.push(() => other.stop());
    locked = await startLoopbackDevice({ unauthorized: true });
    stops.push(() => locked.stop());
    for (const d of [doomed, steady, other]) await connectDevice(server, d);
    await connectDevice(server, locked, 'unauthorized');
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('an unauthorized device: clear message in discovery and when asked for', async () => {
    const client = new AdbClient({ port: server.port });
    const d = (await client.listDevices()).find((x) => x.serial === locked.serial)!;
    assert.equal(d.state, 'unauthorized');
    assert.equal(d.message, `device ${locked.serial} is unauthorized: accept the USB debugging prompt on the phone`);
    await assert.rejects(client.requireDevice(locked.serial), /is unauthorized: accept the USB debugging prompt on the phone/);
    await assert.rejects(DevicePool.open(client, { serial: locked.serial }), /is unauthorized: accept the USB debugging prompt on the phone/);
  });

  test('the pool holds every device of the model, and only those', async () => {
    const pool = await DevicePool.open(new AdbClient({ port: server.port }), { serial: steady.serial });
    assert.equal(pool.model, 'Loopback 8');
    assert.deepEqual(pool.devices.map((d) => d.serial).sort(), [doomed.serial, steady.serial].sort());
  });

  test('a device killed mid-benchmark: the job is requeued on the other device and the result arrives', async () => {
    const client = new AdbClient({ port: server.port });
    const pool = await DevicePool.open(client, { serial: doomed.serial, only: [doomed.serial, steady.serial] });
    const logs: string[] = [];
    // Both jobs at once: one lands on the doomed phone, which dies mid-benchmark.
    const jobs = [pool.bench(model, { ...quick, log: (m) => logs.push(m) }), pool.bench(model, { ...quick, log: (m) => logs.push(m) })];
    const results = await Promise.allSettled(jobs);
    await doomed.exited;
    const lost = pool.events.filter((e) => e.type === 'lost');
    const requeued = pool.events.filter((e) => e.type === 'requeue');
    assert.equal(lost.length, 1, JSON.stringify(pool.events));
    assert.equal(lost[0].serial, doomed.serial);
    assert.equal(requeued.length, 1);
    const doneOn = pool.events.filter((e) => e.type === 'done').map((e) => e.serial);
    if (tfliteRuntimePath()) {
      for (const r of results) assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      for (const r of results) if (r.status === 'fulfilled') { assert.equal(r.value.serial, steady.serial); assert.ok(r.value.ms > 0); }
      assert.deepEqual(doneOn, [steady.serial, steady.serial]);
    } else {
      // Without the runtime the second device refuses clearly; the requeue itself still happened.
      for (const r of results) assert.match(r.status === 'rejected' ? String(r.reason) : '', /no TFLite runtime/);
    }
    await waitForState(server, doomed.serial, (s) => s !== 'device');
  });

  test('AdbLatency: a LatencySource over the pool (Arch -> .tflite through the toTflite callback)', async (t) => {
    if (!tfliteRuntimePath()) { t.skip('server/src/device/tfliteRuntime.ts does not exist yet'); return; }
    const arch = { name: 'tiny' } as Arch;
    const records: string[] = [];
    const src = await AdbLatency.open(steady.serial, {
      client: new AdbClient({ port: server.port }), ...quick,
      toTflite: async () => convModelBytes(32),
      onResult: (_a, r) => records.push(`${r.device.fingerprint} ${r.governor} ${r.binarySha256} ${r.command}`),
    });
    try {
      const m = await src.measure(arch);
      assert.ok(m.ms > 0 && m.repeats === 5, JSON.stringify(m));
      assert.match(m.source, /^adb Loopback 8 \(127\.0\.0\.1:\d+\), benchmark_model, 1 thread, cores f0, wall min$/);
      assert.equal(m.statistic, 'min');
      assert.match(records[0], /loopback8.* schedutil [0-9a-f]{64} taskset f0 /);
    } finally {
      await src.close();
    }
  });
});
