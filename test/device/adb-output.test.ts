// Pure parts of the adb backend: benchmark_model output in every format, quoting, big cores.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { parseBenchmarkOutput, parseStatLine, BenchmarkOutputError } from '../../server/src/device/adb/benchmarkOutput';
import { shJoin, shQuote } from '../../server/src/device/adb/quote';
import { bigCores, coreMask, parseProbe } from '../../server/src/device/adb/deviceInfo';
import { summarizeMs } from '../../server/src/util/timing';
import { DeviceFs } from '../fixtures/loopback-device/deviceFs';
import { Shell } from '../fixtures/loopback-device/shell';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const NEW = `INFO: STARTING!
INFO: Graph: [/data/local/tmp/m.tflite]
INFO: Initialized session in 17.851ms.
INFO: Running benchmark for at least 10 iterations and at least 0.5 seconds but terminate if exceeding 150 seconds.
INFO: count=10 first=2104 curr=1041 min=1020 max=2104 avg=1150.5 std=300

INFO: Running benchmark for at least 50 iterations and at least 1 seconds but terminate if exceeding 150 seconds.
INFO: count=50 first=1040 curr=1018 min=1012 max=1190 avg=1039.66 std=22

INFO: Inference timings in us: Init: 17851, First inference: 2104, Warmup (avg): 1041.15, Inference (avg): 1039.66
INFO: Memory footprint delta from the start of the tool (MB): init=3.5 overall=4.2
`;

test('TFLite format with INFO: prefix', () => {
  const r = parseBenchmarkOutput(NEW);
  assert.equal(r.format, 'timings');
  assert.equal(r.inferenceAvgUs, 1039.66);
  assert.equal(r.initUs, 17851);
  assert.equal(r.firstUs, 2104);
  assert.equal(r.warmupAvgUs, 1041.15);
  assert.deepEqual(r.inference, { count: 50, first: 1040, curr: 1018, min: 1012, max: 1190, avg: 1039.66, std: 22, allSame: false });
  assert.equal(r.warmup?.count, 10);
});

test('older builds: no prefix', () => {
  const r = parseBenchmarkOutput(NEW.replace(/^INFO: /gm, ''));
  assert.equal(r.format, 'timings');
  assert.equal(r.inferenceAvgUs, 1039.66);
  assert.equal(r.inference?.min, 1012);
});

test('curr=X(all same)', () => {
  assert.deepEqual(parseStatLine('INFO: count=50 curr=1000(all same)'), { count: 50, curr: 1000, first: 1000, min: 1000, max: 1000, avg: 1000, std: 0, allSame: true });
  assert.deepEqual(parseStatLine('count=1 curr=777'), { count: 1, curr: 777, first: 777, min: 777, max: 777, avg: 777, std: 0, allSame: true });
  const r = parseBenchmarkOutput('count=50 curr=1000(all same)\n');
  assert.equal(r.format, 'stats-only');
  assert.equal(r.inferenceAvgUs, 1000);
});

test('the oldest summary: Average inference timings in us', () => {
  const r = parseBenchmarkOutput('count=50 first=80 curr=70 min=69 max=90 avg=70.48 std=3\nAverage inference timings in us: Warmup: 83.87, Init: 28, Inference: 70.48\n');
  assert.equal(r.format, 'average');
  assert.equal(r.inferenceAvgUs, 70.48);
  assert.equal(r.warmupAvgUs, 83.87);
  assert.equal(r.initUs, 28);
  const s = parseBenchmarkOutput('Average inference timings in us: Warmup: 248459, Init: 154779, no stats: 229716.7');
  assert.equal(s.inferenceAvgUs, 229716.7);
});

test('failures say what the tool said', () => {
  assert.throws(() => parseBenchmarkOutput('ERROR: Failed to mmap model /x.tflite\nBenchmarking failed.\n'), (e: Error) => e instanceof BenchmarkOutputError && /Failed to mmap/.test(e.message));
  assert.throws(() => parseBenchmarkOutput(''), /no timings/);
});

test('shQuote: one word, read back exactly', () => {
  assert.equal(shQuote('plain/path-1.tflite'), 'plain/path-1.tflite');
  assert.equal(shQuote(''), "''");
  assert.equal(shQuote("it's"), `'it'\\''s'`);
  assert.equal(shJoin(['a b', '$x', '`y`', ';']), `'a b' '$x' '\`y\`' ';'`);
  assert.throws(() => shQuote('a\0b'), /NUL/);
});

test('shQuote round trip through the loopback command runner (hostile strings, no device needed)', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'quote-'));
  try {
    const sh = new Shell(new DeviceFs(root), () => undefined);
    const hostile = ["'", "''", '"', '\\', '$HOME', '$(touch X)', '`touch X`', 'a;touch X', 'a && touch X', 'a || touch X', '*', '?', '[a]', '#c', 'new\nline', ' lead', 'tab\t', '> X', '2>&1', '~', '!', '{a,b}', '%s'];
    for (const s of hostile) {
      let out = '';
      const rc = await sh.run(shJoin(['echo', s]), { stdout: (c) => { out += c.toString(); }, stderr: (c) => { out += c.toString(); } });
      assert.equal(rc, 0, s);
      assert.equal(out, `${s}\n`, JSON.stringify(s));
    }
    assert.deepEqual(fs.readdirSync(root), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('big cores from cpufreq max frequencies', () => {
  const pixel2 = [1900800, 1900800, 1900800, 1900800, 2457600, 2457600, 2457600, 2457600];
  assert.equal(coreMask(bigCores(pixel2)), 'f0');
  const pixel4 = [1785600, 1785600, 1785600, 1785600, 2419200, 2419200, 2419200, 2841600];
  assert.equal(coreMask(bigCores(pixel4)), '70');
  assert.equal(coreMask(bigCores([2000000, 2000000])), '3');
  assert.equal(coreMask(bigCores([1800000, undefined, 2400000])), '4');
});

test('probe output: cores, mask, governor of a big core, hottest plausible zone', () => {
  const out = [
    '@possible', '0-3', '@freqpaths', '/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq /sys/devices/system/cpu/cpu2/cpufreq/cpuinfo_max_freq',
    '@freqs', '1000000', '2000000', '@govpaths', '/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor /sys/devices/system/cpu/cpu2/cpufreq/scaling_governor',
    '@govs', 'powersave', 'performance', '@thermpaths', '/sys/class/thermal/thermal_zone0/temp /sys/class/thermal/thermal_zone1/temp /sys/class/thermal/thermal_zone2/temp',
    '@temps', '41500', '-40000', '900000', '@typepaths', '/sys/class/thermal/thermal_zone*/type', '@types', '@end',
  ].join('\n');
  const p = parseProbe(out);
  assert.equal(p.cores, 4);
  assert.equal(p.bigCoreMask, '4');
  assert.equal(p.governor, 'performance');
  assert.equal(p.thermalC, 41.5);
});

test('round summary: the figure is the fastest, with the median and spread beside it', () => {
  const s = summarizeMs([10, 1, 2, 3, 4, 5, 6, 7, 8, 100]);
  assert.equal(s.ms, 1);
  assert.equal(s.median, 5.5);
  assert.equal(s.min, 1);
  assert.equal(s.max, 100);
  assert.ok(s.spread > 0);
});
