// A tiny calibration with the real local source (PyTorch worker) on a tiny space: it produces
// a valid profile; interrupted, the re-run reuses the journal's measurements; complete, a
// re-run measures nothing; a unit measured during a slow stretch (injected: its first
// measurement reads 5x) is measured again and keeps the lower figure.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { calibrate, journalOf, spaceUnits } from '../../server/src/latency/calibration';
import { unitArch } from '../../server/src/cost/latency/keys';
import type { LatencySource } from '../../server/src/latency/source';
import { estimate } from '../../server/src/cost/latency/estimate';
import { compile, readProfile } from '../../server/src/cost/latency/profile';
import { calibrateCommand } from '../../server/src/cli/calibrate';
import { load } from '../../server/src/cli/load';
import type { SpaceEntry } from '../../server/src/analysis/analysis';
import { toArch } from '../../server/src/language/arch';
import { sample } from '../../server/src/language/space';
import { readJournal } from '../../server/src/util/journal';
import { LocalTorchLatency } from '../../server/src/latency/torchLatency';
import { ProfileLatency } from '../../server/src/latency/profileLatency';

const FIXTURE = path.resolve(import.meta.dirname, '..', 'fixtures', 'tiny-search.mnas');

describe('mnas calibrate on the local PyTorch source', { timeout: 180_000 }, () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-calibrate-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('interrupted, then resumed reusing the journal; the profile is valid; a re-run measures nothing', async () => {
    const space = (load(FIXTURE).local.get('TS') as SpaceEntry).resolution.space!;
    const out = path.join(dir, 'tiny.json');
    const units = spaceUnits(space);
    // stem, b1 with k 3/5 x e 3/6, and the head.
    assert.equal(units.length, 6);

    const source = await LocalTorchLatency.start({ warmup: 1, repeats: 5 });
    try {
      const first = await calibrate({ space, source, out, samples: 4, maxNewMeasurements: 4 });
      assert.equal(first.complete, false);
      assert.equal(first.measured, 4);
      assert.equal(first.profile, undefined);
      assert.equal(fs.existsSync(out), false, 'no profile until every measurement is in');
      const kinds = readJournal<{ type: string }>(journalOf(out)).entries.map((e) => e.type).filter((t) => t !== 'meta');
      assert.deepEqual(kinds, ['base', 'unit', 'unit', 'unit']);
    } finally {
      await source.close();
    }

    // The CLI path resumes from the same journal.
    const logs: string[] = [];
    const second = await calibrateCommand({ device: 'local', backend: 'torch', space: FIXTURE, out, samples: '4', repeats: '5' }, (s) => logs.push(s));
    assert.equal(second.complete, true);
    assert.equal(second.reused, 4);
    // Base, 6 units, 4 children, less the 4 measured before; plus whatever the re-check measured again.
    const again = second.rechecked.units + second.rechecked.models;
    assert.equal(second.measured, 1 + units.length + 4 - 4 + again);
    assert.match(logs.join('\n'), /wrote .*tiny\.json: 6 table entries/);

    const profile = readProfile(out);
    assert.equal(profile.name, 'tiny');
    assert.equal(profile.source.kind, 'calibrated');
    assert.equal(profile.approximate, false);
    assert.deepEqual(Object.keys(profile.table).sort(), units.map((u) => u.key).sort());
    assert.equal(profile.accuracy.models, 4);
    assert.equal(profile.source.measurements, 1 + 6 + 4 + again);
    assert.match(profile.device.runtime, /torch/);
    const child = toArch(sample(space, [1, 0]));
    const e = estimate(compile(profile), child);
    assert.equal(e.coverage, 1);
    assert.ok(e.ms > 0 && Number.isFinite(e.ms));

    // As a LatencySource for `latency profile PATH`.
    const m = await ProfileLatency.open(out).measure(child);
    assert.equal(m.ms, e.ms);
    assert.match(m.source, /^profile tiny, 100% of layers measured/);

    const source2 = await LocalTorchLatency.start({ warmup: 1, repeats: 5 });
    try {
      const third = await calibrate({ space, source: source2, out, samples: 4 });
      assert.equal(third.measured, 0);
      assert.equal(third.complete, true);
    } finally {
      await source2.close();
    }
  });
  test('a unit measured during a slow stretch is measured again and keeps the lower figure', async () => {
    const space = (load(FIXTURE).local.get('TS') as SpaceEntry).resolution.space!;
    const out = path.join(dir, 'slow.json');
    const units = spaceUnits(space);
    const slow = units.find((u) => u.kind === 'mbconv')!.key;
    const inner = await LocalTorchLatency.start({ warmup: 1, repeats: 5 });
    let inflated = 0;
    // The real source; the first measurement of one unit reads 5x, as under a slow stretch of the machine.
    const source: LatencySource = {
      name: inner.name,
      measure: async (arch) => {
        const m = await inner.measure(arch);
        if (inflated === 0 && JSON.stringify(arch) === JSON.stringify(unitArch(slow))) { inflated = 5 * m.ms; return { ...m, ms: inflated, min: inflated }; }
        return m;
      },
      close: () => inner.close(),
    };
    try {
      const r = await calibrate({ space, source, out, samples: 4 });
      assert.equal(r.complete, true);
      assert.ok(inflated > 0, 'the unit was measured');
      const plans = readJournal<{ type: string; pass?: number; ids?: string[] }>(journalOf(out)).entries.filter((e) => e.type === 'recheck');
      assert.ok(plans.find((p) => p.pass === 1)?.ids?.includes(slow), `pass 1 re-measures ${slow}: ${JSON.stringify(plans)}`);
      assert.ok(r.rechecked.units >= 1 && r.rechecked.lowered >= 1, JSON.stringify(r.rechecked));
      assert.ok(r.profile!.table[slow].ms < inflated / 2, `kept ${r.profile!.table[slow].ms} ms, not the inflated ${inflated} ms`);
    } finally {
      await source.close();
    }
  });
});
