import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../server/src/util/rng';

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.next());

test('rng: same seed same stream, different seeds differ, values in [0, 1)', () => {
  const a = draw(new Rng(42), 1000);
  assert.deepEqual(a, draw(new Rng(42), 1000));
  assert.notDeepEqual(a, draw(new Rng(43), 1000));
  assert.ok(a.every((v) => v >= 0 && v < 1));
  const mean = a.reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('rng: state get/set resumes the exact stream', () => {
  const r = new Rng(7);
  draw(r, 17);
  for (let i = 0; i < 1000; i++) {
    r.next();
    assert.ok(r.state.every((v) => Number.isInteger(v) && v >= 0 && v <= 0xffffffff), `state ${r.state}`);
  }
  const saved = JSON.parse(JSON.stringify(r.state));
  const rest = draw(r, 50);
  assert.deepEqual(draw(Rng.fromState(saved), 50), rest);
  const other = new Rng(1);
  other.state = saved;
  assert.deepEqual(draw(other, 50), rest);
  assert.throws(() => { other.state = [1, 2, 3] as unknown as [number, number, number, number]; }, /four unsigned/);
});

test('rng: int and categorical follow their distributions; bad input throws', () => {
  const r = new Rng(3);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 8000; i++) counts[r.int(4)]! += 1;
  assert.ok(counts.every((c) => Math.abs(c - 2000) < 200), `int counts ${counts}`);
  const cat = [0, 0, 0];
  for (let i = 0; i < 10000; i++) cat[r.categorical([0.2, 0, 0.8])]! += 1;
  assert.equal(cat[1], 0);
  assert.ok(Math.abs(cat[0]! / 10000 - 0.2) < 0.02, `categorical ${cat}`);
  assert.equal(r.categorical([0, 3]), 1); // unnormalised weights are fine
  assert.throws(() => r.categorical([]), /positive sum/);
  assert.throws(() => r.categorical([0.5, -0.1]), /bad weight/);
  assert.throws(() => r.categorical([Number.NaN]), /bad weight/);
  assert.throws(() => r.int(0), /positive integer/);
  assert.throws(() => new Rng(1.5), /integer/);
});
