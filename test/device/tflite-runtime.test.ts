// The TFLite runtime shim (server/src/device/tfliteRuntime.ts): a hand-built model computes
// what a plain-JS reference computes, bad files are refused with errors that say what is wrong,
// and timing statistics are sane. (The esbuild CJS bundle: tflite-cli.test.ts.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeModel, type Graph } from '../../server/src/device/tflite/schema';
import { checkTfliteBuffer, loadTflite, TfliteError } from '../../server/src/device/tfliteRuntime';
import { timeLoaded, toMeasurement } from '../../server/src/latency/localTiming';

/** 5x5x2 input, 3x3 conv to 3 channels (stride 1, SAME, RELU6), global mean, SOFTMAX (beta 1). */
function tinyGraph(beta = 1): { graph: Graph; w: Float32Array; bias: Float32Array } {
  const w = Float32Array.from({ length: 3 * 3 * 3 * 2 }, (_, i) => Math.sin(i) * 0.5);
  const bias = Float32Array.from([0.1, -0.2, 0.3]);
  return {
    w, bias,
    graph: {
      name: 'tiny', description: 'runtime test',
      tensors: [
        { name: 'x', shape: [1, 5, 5, 2], type: 'float32' },
        { name: 'w', shape: [3, 3, 3, 2], type: 'float32', data: w },
        { name: 'b', shape: [3], type: 'float32', data: bias },
        { name: 'conv', shape: [1, 5, 5, 3], type: 'float32' },
        { name: 'axes', shape: [2], type: 'int32', data: Int32Array.from([1, 2]) },
        { name: 'mean', shape: [1, 3], type: 'float32' },
        { name: 'prob', shape: [1, 3], type: 'float32' },
      ],
      ops: [
        { op: 'CONV_2D', inputs: [0, 1, 2], outputs: [3], options: { kind: 'conv2d', padding: 'SAME', strideW: 1, strideH: 1, act: 'RELU6' } },
        { op: 'MEAN', inputs: [3, 4], outputs: [5], options: { kind: 'reducer', keepDims: false } },
        { op: 'SOFTMAX', inputs: [5], outputs: [6], options: { kind: 'softmax', beta } },
      ],
      inputs: [0], outputs: [3, 6],
    },
  };
}

function reference(x: Float32Array, w: Float32Array, bias: Float32Array): { conv: Float32Array; prob: number[] } {
  const conv = new Float32Array(5 * 5 * 3);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) for (let o = 0; o < 3; o++) {
    let s = bias[o];
    for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) {
      const a = i + di, b = j + dj;
      if (a < 0 || b < 0 || a >= 5 || b >= 5) continue;
      for (let c = 0; c < 2; c++) s += x[(a * 5 + b) * 2 + c] * w[((o * 3 + di + 1) * 3 + dj + 1) * 2 + c];
    }
    conv[(i * 5 + j) * 3 + o] = Math.min(6, Math.max(0, s));
  }
  const mean = [0, 1, 2].map((o) => Array.from({ length: 25 }, (_, p) => conv[p * 3 + o]).reduce((a, b) => a + b, 0) / 25);
  const e = mean.map((m) => Math.exp(m - Math.max(...mean)));
  return { conv, prob: e.map((v) => v / e.reduce((a, b) => a + b, 0)) };
}

test('a hand-built model runs in the wasm runtime and matches a JS reference', { timeout: 120_000 }, async () => {
  const { graph, w, bias } = tinyGraph();
  const model = await loadTflite(encodeModel(graph), { numThreads: 1 });
  assert.match(model.runtime, /^tflite xnnpack \(wasm( simd)?, 1 thread\)$/);
  assert.deepEqual(model.inputs, [{ name: 'x', shape: [1, 5, 5, 2], dataType: 'float32' }]);
  assert.deepEqual(model.outputs.map((o) => o.shape), [[1, 5, 5, 3], [1, 3]]);
  const x = Float32Array.from({ length: 50 }, (_, i) => Math.cos(i * 0.7) * 3);
  const [conv, prob] = model.run(x);
  const ref = reference(x, w, bias);
  conv.forEach((v, i) => assert.ok(Math.abs(v - ref.conv[i]) < 1e-5, `conv[${i}] ${v} vs ${ref.conv[i]}`));
  prob.forEach((v, i) => assert.ok(Math.abs(v - ref.prob[i]) < 1e-6, `prob[${i}] ${v} vs ${ref.prob[i]}`));
  assert.throws(() => model.run(new Float32Array(7)), /expected 50 values \(shape \[1, 5, 5, 2\], NHWC\), got 7/);
  model.close();
  assert.throws(() => model.run(x), /closed/);
});

test('why SOFTMAX beta is always written: beta 0 gives a uniform output', { timeout: 120_000 }, async () => {
  const model = await loadTflite(encodeModel(tinyGraph(0).graph));
  const [, prob] = model.run(Float32Array.from({ length: 50 }, (_, i) => i));
  assert.ok(prob.every((p) => Math.abs(p - 1 / 3) < 1e-6));
  model.close();
});

test('a corrupt identifier, a truncated file and garbage are refused with clear errors', { timeout: 120_000 }, async () => {
  const good = encodeModel(tinyGraph().graph);
  const badIdent = good.slice();
  badIdent.set([0x54, 0x46, 0x4c, 0x32], 4); // "TFL2"
  await assert.rejects(loadTflite(badIdent), (e: Error) => e instanceof TfliteError && /file identifier "TFL2" at bytes 4\.\.7, expected "TFL3"/.test(e.message));
  for (const cut of [good.length - 40, Math.floor(good.length / 2), 100]) {
    await assert.rejects(loadTflite(good.subarray(0, cut)), (e: Error) => e instanceof TfliteError && /truncated or corrupt TFLite model \(\d+ bytes\).*outside the \d+-byte file/.test(e.message), `cut at ${cut}`);
  }
  await assert.rejects(loadTflite(new Uint8Array(3)), /not a TFLite model: 3 bytes/);
  await assert.rejects(loadTflite(new TextEncoder().encode('model MnasNetA1 { input 224x224x3 }')), /not a TFLite model: file identifier/);
  // Passes the header checks but the runtime refuses it: an unsupported op version.
  const g = tinyGraph().graph;
  const v7 = encodeModel(g);
  const idx = findVersion(v7);
  assert.ok(idx > 0);
  new DataView(v7.buffer).setInt32(idx, 7, true);
  checkTfliteBuffer(v7);
  await assert.rejects(loadTflite(v7), (e: Error) => e instanceof TfliteError && /the TFLite runtime refused the model/.test(e.message));
  // The good file still loads after all that.
  (await loadTflite(good)).close();
});

/** Byte offset of CONV_2D's OperatorCode.version (the int32 1 written right before builtin_code 3). */
function findVersion(bytes: Uint8Array): number {
  const v = new DataView(bytes.buffer, bytes.byteOffset);
  for (let i = 0; i + 8 <= bytes.length; i += 4) if (v.getInt32(i, true) === 1 && v.getInt32(i + 4, true) === 3) return i;
  return -1;
}

test('timing: the local protocol on a real model (CPU-time minimum beside wall time, adaptive rounds, the host lock)', { timeout: 120_000 }, async () => {
  const model = await loadTflite(encodeModel(tinyGraph().graph));
  try {
    const t = await timeLoaded(model, { stop: { boundPct: 5, minRounds: 6, maxRounds: 100 } });
    assert.equal(t.clock, 'cpu');
    assert.equal(t.statistic, 'min');
    assert.equal(t.ms, t.cpuMs);
    assert.ok(t.rounds >= 6 && t.rounds <= 100 && t.repeats === t.rounds * t.perRound);
    assert.ok(t.min <= t.median && t.median <= t.max && t.spread >= 0 && t.ms > 0 && t.wallMs > 0);
    assert.ok(t.lock && t.lock.waitedMs >= 0, 'timed holding the host lock');
    assert.match(t.runtime, /^tflite xnnpack \(wasm/);
    const m = toMeasurement(t);
    assert.match(m.source, /^local tflite xnnpack \(wasm.*\), cpu min$/);
    assert.equal(m.ms, t.ms);
    assert.equal(m.repeats, t.repeats);
  } finally {
    model.close();
  }
});
