// A remote adb server (a phone farm): the server listens on all interfaces and we reach it by a
// non-loopback address with --adb HOST:PORT; and the `mnas devices` / `mnas bench` commands with
// their error messages, run as a user runs them.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdbClient } from '../../server/src/device/adb/client';
import { connectDevice, externalAddress, freePort, startAdbServer, startLoopbackDevice, tfliteRuntimePath, type AdbServer, type LoopbackHandle } from '../fixtures/loopback-device/harness';
import { writeConvModel, writeFakeBenchmarkBinary } from '../fixtures/loopback-device/models';

const CLI = fileURLToPath(new URL('../../server/src/cli.ts', import.meta.url));

function mnas(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, ...env }, timeout: 120000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('remote adb server and the CLI', () => {
  let server: AdbServer;
  let dev: LoopbackHandle;
  const host = externalAddress();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-adb-remote-'));
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    server = await startAdbServer({ allInterfaces: true });
    stops.push(() => server.stop());
    dev = await startLoopbackDevice({ product: { model: 'Farm Phone', device: 'farm', name: 'farm' } });
    stops.push(() => dev.stop());
    await connectDevice(server, dev);
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('discovery through a remote server address (HOST:PORT)', async (t) => {
    if (!host) { t.skip('this machine has no non-loopback IPv4 address to reach the server by'); return; }
    const client = new AdbClient({ host, port: server.port });
    const d = (await client.listDevices()).find((x) => x.serial === dev.serial);
    assert.equal(d?.model, 'Farm Phone');
    assert.equal(d?.bigCoreMask, 'f0');
  });

  test('mnas devices --adb HOST:PORT (table and --json)', async () => {
    const where = `${host ?? '127.0.0.1'}:${server.port}`;
    const text = await mnas(['devices', '--adb', where]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /serial\s+state\s+model/);
    assert.match(text.stdout, new RegExp(`${dev.serial.replace(/\./g, '\\.')}\\s+device\\s+Farm Phone\\s+arm64-v8a\\s+13 \\(33\\)\\s+8\\s+f0\\s+schedutil\\s+35\\.0 C`));
    const json = await mnas(['devices', '--adb', where, '--json']);
    const list = JSON.parse(json.stdout) as { serial: string; model: string }[];
    assert.equal(list.find((x) => x.serial === dev.serial)?.model, 'Farm Phone');
  });

  test('no adb server: a clear message', async () => {
    const port = await freePort();
    const r = await mnas(['devices', '--adb', `127.0.0.2:${port}`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^mnas: no adb server at 127\.0\.0\.2:\d+: is adb installed\? run `adb start-server`/);
  });

  test('mnas bench: no device SERIAL lists what is connected', async () => {
    const model = writeConvModel(path.join(tmp, 'm.tflite'));
    const r = await mnas(['bench', model, '--device', 'emulator-9999', '--adb', `127.0.0.1:${server.port}`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`no device emulator-9999: connected are ${dev.serial.replace(/\./g, '\\.')} \\(device\\)`));
  });

  test('mnas bench FILE.tflite --device SERIAL --json', async (t) => {
    const model = writeConvModel(path.join(tmp, 'cli model.tflite'));
    const binary = writeFakeBenchmarkBinary(path.join(tmp, 'benchmark_model'));
    const args = ['bench', model, '--device', dev.serial, '--adb', `127.0.0.1:${server.port}`, '--binary', binary, '--repeats', '5', '--warmup', '1', '--rounds', '1', '--cooldown', '0'];
    const missing = await mnas(['bench', model, '--device', dev.serial, '--adb', `127.0.0.1:${server.port}`], { MNAS_BENCHMARK_MODEL: '' });
    assert.match(missing.stderr, /no benchmark_model binary: pass --binary PATH/);
    if (!tfliteRuntimePath()) { t.skip('server/src/device/tfliteRuntime.ts does not exist yet'); return; }
    const r = await mnas([...args, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { ms: number; command: string; cpuMask: string };
    assert.ok(res.ms > 0);
    assert.equal(res.command, "taskset f0 /data/local/tmp/mnas/benchmark_model '--graph=/data/local/tmp/mnas/cli model.tflite' --num_threads=1 --warmup_runs=1 --num_runs=5");
    const text = await mnas(args);
    assert.match(text.stdout, /cli model\.tflite on Farm Phone .*: \d+\.\d{3} ms/);
    assert.match(text.stdout, /command {5}taskset f0 /);
  });
});
