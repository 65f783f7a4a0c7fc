// Discovery against the real adb server and a loopback device speaking the real protocol.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AdbClient } from '../../server/src/device/adb/client';
import { connectDevice, startAdbServer, startLoopbackDevice, type AdbServer, type LoopbackHandle } from '../fixtures/loopback-device/harness';

describe('adb discovery', () => {
  let server: AdbServer;
  let big: LoopbackHandle;
  let tri: LoopbackHandle;
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    server = await startAdbServer();
    stops.push(() => server.stop());
    big = await startLoopbackDevice({ product: { model: 'Loopback 8', abi: 'arm64-v8a', release: '13' }, governor: 'schedutil' });
    stops.push(() => big.stop());
    // A Pixel-4-like tri-cluster: 4 little, 3 big, 1 prime.
    tri = await startLoopbackDevice({
      product: { model: 'Loopback Tri', device: 'tri', name: 'tri', abi: 'armeabi-v7a', release: '10', sdk: '29' },
      coreMaxKhz: [1785600, 1785600, 1785600, 1785600, 2419200, 2419200, 2419200, 2841600], governor: 'performance',
      thermal: { normal: 41000 },
    });
    stops.push(() => tri.stop());
    await connectDevice(server, big);
    await connectDevice(server, tri);
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  });

  test('adb devices -l shows the banner', async () => {
    const { stdout } = await server.adb(['devices', '-l']);
    assert.match(stdout, new RegExp(`${big.serial.replace(/\./g, '\\.')}\\s+device product:loopback model:Loopback_8 device:loopback8`));
  });

  test('listDevices: serial, state, model, ABI, Android version, cores, big-core mask, governor, thermal', async () => {
    const client = new AdbClient({ port: server.port });
    const devices = await client.listDevices();
    const b = devices.find((d) => d.serial === big.serial)!;
    assert.ok(b, `${big.serial} in ${JSON.stringify(devices)}`);
    assert.equal(b.state, 'device');
    assert.equal(b.model, 'Loopback 8');
    assert.equal(b.abi, 'arm64-v8a');
    assert.equal(b.androidVersion, '13');
    assert.equal(b.sdk, 33);
    assert.equal(b.cores, 8);
    assert.deepEqual(b.bigCores, [4, 5, 6, 7]);
    assert.equal(b.bigCoreMask, 'f0');
    assert.equal(b.governor, 'schedutil');
    assert.equal(b.thermalC, 35);
    assert.match(b.fingerprint ?? '', /loopback8/);

    const t = devices.find((d) => d.serial === tri.serial)!;
    assert.equal(t.model, 'Loopback Tri');
    assert.equal(t.abi, 'armeabi-v7a');
    assert.equal(t.bigCoreMask, '70');
    assert.equal(t.governor, 'performance');
    assert.equal(t.thermalC, 41);
  });

  test('shell exit codes through the exit marker', async () => {
    const client = new AdbClient({ port: server.port });
    assert.deepEqual(await client.shell(big.serial, 'echo hi; false'), { output: 'hi\n', rc: 1 });
    assert.equal((await client.shell(big.serial, 'nosuchtool')).rc, 127);
  });

  test('no device SERIAL: the message lists what is connected', async () => {
    const client = new AdbClient({ port: server.port });
    await assert.rejects(client.requireDevice('nope:1'), (e: Error) => {
      assert.match(e.message, /^no device nope:1: connected are /);
      assert.ok(e.message.includes(`${big.serial} (device)`), e.message);
      return true;
    });
  });
});
