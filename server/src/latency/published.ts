// The built-in profile `pixel1-published`: fitted to the MnasNet paper's published Pixel 1
// latencies (single big core, TFLite), not measured. Only the published models the language
// can describe exactly are used: MobileNetV2 1.0 (75 ms), MobileNetV2 1.4 (143 ms) and
// MnasNet-A1 (78 ms). NASNet-A (183 ms) is a cell-based net outside the language; MnasNet-A2
// (84 ms) and A3 (103 ms) have no published architecture. `npx tsx
// server/src/latency/published.ts` rewrites profiles/pixel1-published.json.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AnalysisCache, analyze, type ModelEntry } from '../analysis/analysis';
import type { Arch } from '../language/arch';
import { costOf } from '../cost/model';
import { fitLinear } from '../cost/latency/fit';
import { FEATURES, unitsOf } from '../cost/latency/keys';
import { type DeviceProfile, PROFILE_FORMAT, PROFILE_VERSION } from '../cost/latency/profile';

const MOBILENETV2 = (name: string, width: string, head: number) => `
model ${name} {
  input 224x224x3
  ${width}
  act relu6
  stem conv k3 s2 f32
  block b1 { mbconv e1 k3 s1 f16 x1 }
  block b2 { mbconv e6 k3 s2 f24 x2 }
  block b3 { mbconv e6 k3 s2 f32 x3 }
  block b4 { mbconv e6 k3 s2 f64 x4 }
  block b5 { mbconv e6 k3 s1 f96 x3 }
  block b6 { mbconv e6 k3 s2 f160 x3 }
  block b7 { mbconv e6 k3 s1 f320 x1 }
  head conv f${head} pool avg classes 1000 dropout 0.2
}`;

const A1 = `
model MnasNetA1 {
  input 224x224x3
  act relu
  stem conv k3 s2 f32
  block b1 { sepconv k3 s1 f16 x1 skip none }
  block b2 { mbconv e6 k3 s2 f24 x2 }
  block b3 { mbconv e3 k5 s2 f40 x3 se 0.25 }
  block b4 { mbconv e6 k3 s2 f80 x4 }
  block b5 { mbconv e6 k3 s1 f112 x2 se 0.25 }
  block b6 { mbconv e6 k5 s2 f160 x3 se 0.25 }
  block b7 { mbconv e6 k3 s1 f320 x1 }
  head conv f1280 pool avg classes 1000 dropout 0.2
}`;

/** The published figures the built-in profile is fitted on (ms on a Pixel 1). */
export const PUBLISHED: { name: string; ms: number; text: string }[] = [
  { name: 'MobileNetV2', ms: 75, text: MOBILENETV2('MobileNetV2', '', 1280) },
  // MobileNetV2 1.4 scales the head conv too (1280 * 1.4 = 1792); our `width` leaves it alone.
  { name: 'MobileNetV2_140', ms: 143, text: MOBILENETV2('MobileNetV2_140', 'width 1.4', 1792) },
  { name: 'MnasNetA1', ms: 78, text: A1 },
];

/** Published figures of models the language cannot describe: listed, not fitted. */
export const NOT_FITTED = [
  { name: 'NASNet-A', ms: 183, why: 'cell-based network, not expressible as MNAS blocks' },
  { name: 'MnasNet-A2', ms: 84, why: 'architecture not published' },
  { name: 'MnasNet-A3', ms: 103, why: 'architecture not published' },
];

/** Tolerance the built-in profile reproduces its fitted figures within (tested). */
export const PUBLISHED_TOLERANCE_PCT = 5;

export function publishedArch(text: string): Arch {
  const a = analyze('/published.mnas', text, { read: () => undefined }, new AnalysisCache());
  const e = [...a.local.values()].find((v): v is ModelEntry => v.kind === 'model');
  if (!e || a.problems.some((p) => p.severity === 'error')) throw new Error(`published model does not check: ${a.problems.map((p) => p.message).join('; ')}`);
  return e.arch;
}

/**
 * Fits ms = c_dense * dense mult-adds + c_dw * depthwise mult-adds + c_act * activations
 * (shared by every op kind; non-negative least squares on relative error) to the published
 * figures. Three figures cannot support a per-kind fit; the shared one is what they support.
 */
export function fitPublished(created = new Date().toISOString()): DeviceProfile {
  const used = ['denseMAdds', 'dwMAdds', 'act'] as const;
  const cols = used.map((f) => FEATURES.indexOf(f));
  const rows = PUBLISHED.map((m) => {
    const arch = publishedArch(m.text);
    const sum = new Array<number>(FEATURES.length).fill(0);
    for (const u of unitsOf(arch, costOf(arch))) u.x.forEach((v, i) => { sum[i] += v; });
    return cols.map((c) => sum[c]);
  });
  const y = PUBLISHED.map((m) => m.ms);
  const fit = fitLinear(rows, y, { weights: y.map((v) => 1 / (v * v)), ridge: 1e-9 });
  const pred = rows.map((r) => r.reduce((a, v, i) => a + v * fit.coef[i], 0));
  const checks = PUBLISHED.map((m, i) => ({
    name: m.name, measuredMs: m.ms, predictedMs: round(pred[i], 2), errorPct: round((100 * (pred[i] - m.ms)) / m.ms, 2),
  }));
  const errs = checks.map((c) => Math.abs(c.errorPct));
  // Three figures and three coefficients say little about unseen architectures: the stated
  // uncertainty is not the fit residual but a floor of 10% (approximate by construction).
  const rmse = Math.max(10, Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / errs.length));
  const kind = { coef: fit.coef.map((c) => Number(c.toPrecision(6))), n: 0, rmsePct: 0 };
  return {
    format: PROFILE_FORMAT,
    version: PROFILE_VERSION,
    name: 'pixel1-published',
    description: 'Approximate Pixel 1 (single big core, TFLite) profile fitted to the MnasNet paper\'s published latencies of MobileNetV2 1.0 (75 ms), MobileNetV2 1.4 (143 ms) and MnasNet-A1 (78 ms). Not a measurement: no lookup table, one shared linear model of dense and depthwise mult-adds and activation traffic. NASNet-A (183 ms), MnasNet-A2 (84 ms) and A3 (103 ms) are not fitted (not expressible / architectures not published).',
    approximate: true,
    device: { model: 'Google Pixel (2016)', abi: 'arm64-v8a', cores: 1, governor: 'unknown', runtime: 'TFLite (as published, 2018)', threads: 1 },
    created,
    source: { kind: 'published', resolution: 224, note: `fitted to ${PUBLISHED.map((m) => `${m.name} ${m.ms} ms`).join(', ')}; not fitted: ${NOT_FITTED.map((m) => `${m.name} ${m.ms} ms (${m.why})`).join(', ')}` },
    table: {},
    fallback: { features: [...used], kinds: {}, default: kind },
    overhead: { ms: 0, scale: 1 },
    accuracy: { models: PUBLISHED.length, rmsePct: round(rmse, 2), within5: errs.filter((e) => e <= 5).length / errs.length, within10: errs.filter((e) => e <= 10).length / errs.length, maxErrorPct: round(Math.max(...errs), 2), checks },
  };
}

const round = (v: number, d: number) => Number(v.toFixed(d)) + 0;

// Run directly: rewrite the shipped JSON.
if (process.argv[1] && path.resolve(process.argv[1]).endsWith(path.join('latency', 'published.ts'))) {
  const out = path.resolve(path.dirname(process.argv[1]), '..', '..', '..', 'profiles', 'pixel1-published.json');
  const p = fitPublished(new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'));
  fs.writeFileSync(out, `${JSON.stringify(p, null, 2)}\n`);
  console.log(`wrote ${out}`);
  console.log(p.accuracy.checks);
  console.log(p.fallback.default);
}
