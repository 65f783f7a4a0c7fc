// Push + bench through the real adb server on a loopback device whose benchmark_model stand-in runs
// the pushed model in the real TFLite runtime (server/src/device/tfliteRuntime.ts).
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdbClient } from '../../server/src/device/adb/client';
import { bench } from '../../server/src/device/adb/bench';
import { shJoin } from '../../server/src/device/adb/quote';
import { connectDevice, startAdbServer, startLoopbackDevice, tfliteRuntimePath, type AdbServer, type LoopbackHandle } from '../fixtures/loopback-device/harness';
import { writeConvModel, writeFakeBenchmarkBinary } from '../fixtures/loopback-device/models';

const NO_RUNTIME = 'server/src/device/tfliteRuntime.ts does not exist yet: the loopback benchmark_model has no real runtime to time the model with';

describe('adb bench', () => {
  let server: AdbServer;
  let dev: LoopbackHandle;
  let plain: LoopbackHandle;
  let old: LoopbackHandle;
  let hot: LoopbackHandle;
  let client: AdbClient;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-adb-bench-'));
  const stops: (() => Promise<void>)[] = [];
  const binary = writeFakeBenchmarkBinary(path.join(tmp, 'benchmark_model'));
  const model = writeConvModel(path.join(tmp, 'conv.tflite'));
  const quick = { binary, warmup: 2, repeats: 5, rounds: 2, maxRounds: 2, cooldownMs: 0, thermalPollMs: 50 };

  before(async () => {
    server = await startAdbServer();
    stops.push(() => server.stop());
    dev = await startLoopbackDevice();
    stops.push(() => dev.stop());
    plain = await startLoopbackDevice({ benchmarkFormat: 'plain' });
    stops.push(() => plain.stop());
    old = await startLoopbackDevice({ benchmarkFormat: 'old' });
    stops.push(() => old.stop());
    hot = await startLoopbackDevice({ thermal: { hotReads: 3, hot: 58000 } });
    stops.push(() => hot.stop());
    for (const d of [dev, plain, old, hot]) await connectDevice(server, d);
    client = new AdbClient({ port: server.port });
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('rounds adapt: more rounds until the halves agree on the minimum, at most maxRounds', async (t) => {
    if (!tfliteRuntimePath()) { t.skip(NO_RUNTIME); return; }
    // A bound no real timing meets: rounds go on to the cap, and the result says it was capped.
    const capped = await bench(client, dev.serial, model, { ...quick, rounds: 2, maxRounds: 4, boundPct: 1e-9 });
    assert.equal(capped.rounds.length, 4);
    assert.equal(capped.stable, false);
    // A bound every timing meets: the least number of rounds.
    const settled = await bench(client, dev.serial, model, { ...quick, rounds: 2, maxRounds: 6, boundPct: 1e9 });
    assert.equal(settled.rounds.length, 2);
    assert.equal(settled.stable, true);
  });

  test('push + bench: a real timing from the real runtime, with fingerprint, governor, binary hash, command', async (t) => {
    if (!tfliteRuntimePath()) { t.skip(NO_RUNTIME); return; }
    const r = await bench(client, dev.serial, model, quick);
    assert.ok(r.ms > 0 && Number.isFinite(r.ms), `ms ${r.ms}`);
    assert.ok(r.min <= r.ms && r.ms <= r.max, JSON.stringify(r));
    // The figure is the fastest run of all rounds, as on this host.
    assert.equal(r.ms, Math.min(...r.rounds.map((x) => x.inference!.min / 1000)));
    assert.equal(r.statistic, 'min');
    assert.match(r.source, /, wall min$/);
    assert.equal(r.rounds.length, 2);
    assert.equal(r.repeats, 10);
    assert.equal(r.rounds[0].format, 'timings');
    assert.equal(r.rounds[0].inference?.count, 5);
    assert.ok((r.rounds[0].initUs ?? 0) > 0);
    assert.equal(r.cpuMask, 'f0');
    assert.equal(r.governor, 'schedutil');
    assert.match(r.device.fingerprint ?? '', /loopback8/);
    assert.equal(r.binarySha256.length, 64);
    assert.equal(r.command, 'taskset f0 /data/local/tmp/mnas/benchmark_model --graph=/data/local/tmp/mnas/conv.tflite --num_threads=1 --warmup_runs=2 --num_runs=5');
    // The binary is on the phone, executable, with the same hash; the model was cleaned up.
    const ls = await client.shell(dev.serial, 'sha256sum /data/local/tmp/mnas/benchmark_model; ls /data/local/tmp/mnas');
    assert.ok(ls.output.startsWith(r.binarySha256), ls.output);
    assert.doesNotMatch(ls.output, /conv\.tflite/);
    const mode = fs.statSync(path.join(dev.root, 'data/local/tmp/mnas/benchmark_model')).mode & 0o777;
    assert.equal(mode, 0o755);
  });

  test('the binary is pushed once: a second bench finds it by sha256', async (t) => {
    if (!tfliteRuntimePath()) { t.skip(NO_RUNTIME); return; }
    const logs: string[] = [];
    const fresh = new AdbClient({ port: server.port });
    await bench(fresh, dev.serial, model, { ...quick, rounds: 1, log: (m) => logs.push(m) });
    assert.ok(!logs.some((l) => /pushing .*benchmark_model/.test(l)), logs.join('\n'));
  });

  test('older output formats parse to the same kind of figure (no INFO: prefix; Average inference timings)', async (t) => {
    if (!tfliteRuntimePath()) { t.skip(NO_RUNTIME); return; }
    const a = await bench(client, plain.serial, model, quick);
    assert.equal(a.rounds[0].format, 'timings');
    assert.ok(a.ms > 0);
    const b = await bench(client, old.serial, model, quick);
    assert.equal(b.rounds[0].format, 'average');
    assert.ok(b.ms > 0);
  });

  test('waits while the thermal zone is hot', async (t) => {
    if (!tfliteRuntimePath()) { t.skip(NO_RUNTIME); return; }
    const logs: string[] = [];
    const r = await bench(client, hot.serial, model, { ...quick, rounds: 1, thermalLimitC: 45, log: (m) => logs.push(m) });
    assert.ok(logs.filter((l) => /58 C >= 45 C, waiting/.test(l)).length >= 1, logs.join('\n'));
    assert.equal(r.thermal.beforeC, 35);
    assert.equal(r.thermal.gaveUp, false);
  });

  test('without the runtime the stand-in fails clearly instead of faking a number', async (t) => {
    if (tfliteRuntimePath()) { t.skip('the runtime exists: covered by the real timings above'); return; }
    await assert.rejects(bench(client, dev.serial, model, quick), /no TFLite runtime/);
  });

  test('hostile file names cannot inject into the device shell', async () => {
    const names = [
      "it's a model.tflite",
      'semi;touch /data/local/tmp/PWNED1;.tflite',
      '$(touch /data/local/tmp/PWNED2).tflite',
      '`touch /data/local/tmp/PWNED3`.tflite',
      'dq"$HOME"&&touch PWNED4 || x.tflite',
      'back\\slash *glob? [x].tflite',
    ];
    for (const name of names) {
      const remote = `/data/local/tmp/q/${name}`;
      // Round trip through the loopback device's command runner.
      const echo = await client.shell(dev.serial, shJoin(['echo', name]));
      assert.equal(echo.output, `${name}\n`, `echo of ${name}`);
      const local = path.join(tmp, 'payload');
      fs.writeFileSync(local, name);
      await client.push(dev.serial, local, remote);
      assert.equal(fs.readFileSync(path.join(dev.root, 'data/local/tmp/q', name), 'utf8'), name);
      const sum = await client.sha256(dev.serial, remote);
      assert.equal(sum?.length, 64, `sha256sum of ${name}`);
      const rm = await client.shell(dev.serial, shJoin(['rm', '-f', remote]));
      assert.equal(rm.rc, 0);
      assert.ok(!fs.existsSync(path.join(dev.root, 'data/local/tmp/q', name)), `${name} removed`);
    }
    // The bench command line itself, with a hostile model file name.
    const hostile = path.join(tmp, "x'; touch PWNED5; $(touch PWNED6) `touch PWNED7` \"$HOME\".tflite");
    fs.copyFileSync(model, hostile);
    const r = await bench(client, dev.serial, hostile, { ...quick, rounds: 1 }).then((x) => x, (e: Error) => e);
    if (r instanceof Error) assert.match(r.message, /no TFLite runtime/);
    else assert.ok(r.ms > 0);
    for (const n of [1, 2, 3, 4, 5, 6, 7]) {
      assert.ok(!fs.existsSync(path.join(dev.root, `data/local/tmp/PWNED${n}`)), `PWNED${n}`);
      assert.ok(!fs.existsSync(path.join(dev.root, `PWNED${n}`)), `PWNED${n} at /`);
    }
  });

  test('the stand-in runner does execute unquoted injections (so the test above means something)', async () => {
    await client.shell(dev.serial, 'echo semi;touch /data/local/tmp/CANARY');
    assert.ok(fs.existsSync(path.join(dev.root, 'data/local/tmp/CANARY')));
    const sub = await client.shell(dev.serial, 'echo x$(echo INJECTED)');
    assert.equal(sub.output, 'xINJECTED\n');
  });
});
