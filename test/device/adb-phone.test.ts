// A real phone, when ANDROID_SERIAL names one (and the adb server in use sees it): discovery, and
// a benchmark when MNAS_BENCHMARK_MODEL points at TFLite's benchmark_model for the phone's ABI.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdbClient } from '../../server/src/device/adb/client';
import { bench } from '../../server/src/device/adb/bench';
import { writeConvModel } from '../fixtures/loopback-device/models';

const serial = process.env.ANDROID_SERIAL;

test('real phone: discovery', async (t) => {
  if (!serial) { t.skip('ANDROID_SERIAL is not set: no real phone to test (set it to a serial from `adb devices`)'); return; }
  const d = await new AdbClient().requireDevice(serial);
  assert.equal(d.state, 'device');
  assert.ok(d.model && d.abi && d.androidVersion, JSON.stringify(d));
  assert.ok(d.bigCoreMask, 'big-core mask from cpufreq');
  t.diagnostic(JSON.stringify(d));
});

test('real phone: bench', async (t) => {
  if (!serial) { t.skip('ANDROID_SERIAL is not set: no real phone to test'); return; }
  if (!process.env.MNAS_BENCHMARK_MODEL) { t.skip('MNAS_BENCHMARK_MODEL is not set: point it at benchmark_model for the phone\'s ABI'); return; }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-phone-'));
  try {
    const r = await bench(new AdbClient(), serial, writeConvModel(path.join(tmp, 'conv.tflite')), { repeats: 20, warmup: 5, rounds: 2, cooldownMs: 1000 });
    assert.ok(r.ms > 0);
    t.diagnostic(`${r.ms.toFixed(3)} ms (${r.source}); ${r.command}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
