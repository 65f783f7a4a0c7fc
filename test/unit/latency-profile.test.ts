import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkProfile, type DeviceProfile, ProfileError, readProfile } from '../../server/src/cost/latency/profile';
import { loadProfile } from '../../server/src/cost/latency/store';

function toyProfile(over: Partial<DeviceProfile> = {}): DeviceProfile {
  return {
    format: 'mnas-device-profile', version: 1, name: 'toy', approximate: false,
    device: { model: 'test cpu', abi: 'x64', cores: 2, governor: 'unknown', runtime: 'test', threads: 1 },
    created: '2026-01-01T00:00:00Z', source: { kind: 'synthetic' },
    table: { 'stem|224x224x3|f32|k3|s2|relu': { ms: 2, n: 20, spread: 0.1 } },
    fallback: { features: ['one', 'denseMAdds'], kinds: { mbconv: { coef: [0.1, 0.01], n: 5, rmsePct: 10 } }, default: { coef: [0.2, 0.02], n: 5, rmsePct: 20 } },
    overhead: { ms: 1, scale: 1 },
    accuracy: { models: 3, rmsePct: 4, within5: 0.6, within10: 1, maxErrorPct: 8 },
    ...over,
  };
}

const bad = (data: unknown, re: RegExp) => assert.throws(() => checkProfile(data, 'p.json'), (e: Error) => {
  assert.ok(e instanceof ProfileError);
  assert.match(e.message, /^p\.json: /);
  assert.match(e.message, re);
  return true;
});

describe('device profile validation', () => {
  test('a valid profile passes', () => {
    assert.equal(checkProfile(toyProfile(), 'p.json').name, 'toy');
  });

  test('errors name the file and the field', () => {
    const p = toyProfile() as unknown as Record<string, Record<string, unknown>>;
    delete p.device.runtime;
    bad(p, /device\.runtime is missing/);
    bad(toyProfile({ table: { 'conv|8x8x8|f8|k3|s1|e1|se0|none|relu': { ms: -1, n: 3, spread: 0 } } }), /table\["conv\|8x8x8\|f8\|k3\|s1\|e1\|se0\|none\|relu"\]\.ms must be >= 0/);
    bad({ ...toyProfile(), overhead: { ms: 0, scale: 0 } }, /overhead\.scale must be > 0/);
    bad({ ...toyProfile(), fallback: { ...toyProfile().fallback, kinds: { lstm: { coef: [1, 1], n: 1, rmsePct: 0 } } } }, /fallback\.kinds\.lstm is not an op kind/);
    bad({ ...toyProfile(), fallback: { ...toyProfile().fallback, features: ['one', 'flops'] } }, /fallback\.features\[1\] must be equal to one of the allowed values/);
    bad({ ...toyProfile(), extra: 1, accuracy: { models: 1 } }, /accuracy\.rmsePct is missing/);
  });

  test('coefficient count must match the features', () => {
    bad(toyProfile({ fallback: { features: ['one'], kinds: {}, default: { coef: [1, 2], n: 0, rmsePct: 0 } } }), /fallback\.default\.coef has 2 coefficients, but fallback\.features lists 1/);
  });

  test('another format, or a newer version, is said plainly', () => {
    bad({ format: 'tflite-benchmark', version: 1 }, /format is "tflite-benchmark", not "mnas-device-profile"/);
    bad({ ...toyProfile(), version: 99 }, /version 99 is newer than this mnas-studio reads \(1\)/);
    bad(null, /not a valid device profile/);
  });

  test('files: missing, not JSON, found by path and cached until changed; unknown names say where they looked', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-profile-'));
    try {
      const file = path.join(dir, 'toy.json');
      assert.throws(() => readProfile(file), /toy\.json: no such profile file/);
      fs.writeFileSync(file, '{ nope');
      assert.throws(() => readProfile(file), /toy\.json: not valid JSON/);
      fs.writeFileSync(file, JSON.stringify(toyProfile()));
      const p = loadProfile(file);
      assert.equal(p.profile.name, 'toy');
      assert.equal(loadProfile(file), p);
      assert.equal(loadProfile('toy.json', dir).profile.name, 'toy');
      assert.throws(() => loadProfile('no-such-phone'), /Device profile `no-such-phone` not found \(looked for .*no-such-phone\.json/);
      assert.equal(loadProfile('pixel1-published').profile.approximate, true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
