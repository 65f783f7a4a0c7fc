// Calibration: build a device profile for a search space on one LatencySource. Enumerates
// every distinct unit (stem, layer, head) the space can produce (a walk over the blocks whose
// state is the feature-map shape, like cost/spaceStats.ts), measures each as a one-unit
// network, measures a seeded sample of whole children, re-measures what looks inflated (see
// RECHECK), fits the per-kind fallback and the whole-model correction, and writes the profile.
// Every measurement is appended to a journal next to the output (`PROFILE.json.journal`), so an
// interrupted run resumes where it stopped and a re-run reuses what was measured.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { blockArch, toArch, type BlockSpec, type ModelSpec } from '../language/arch';
import { type BlockChoices, decisions, factorFilters, type ResolvedSpace, sample } from '../language/space';
import type { LatencySource } from './source';
import type { LatencyMeasurement } from '../util/timing';
import { writeAtomic } from '../util/atomicWrite';
import { Journal } from '../util/journal';
import { Rng } from '../util/rng';
import { blockCost, costOf, type Shape } from '../cost/model';
import { fitLinear, fitWholeModel, type WholeModelFit } from '../cost/latency/fit';
import { FEATURES, headUnit, layerUnit, stemUnit, type Unit, UNIT_KINDS, unitArch, type UnitKind } from '../cost/latency/keys';
import { compile, type DeviceProfile, type KindFit, type ModelCheck, PROFILE_FORMAT, PROFILE_VERSION, type TableEntry } from '../cost/latency/profile';
import { fallbackMs, unitSums } from '../cost/latency/estimate';

/** Every concrete block a block's choices allow, activation choices included. */
function* blockVariants(base: BlockSpec, c: BlockChoices): Generator<BlockSpec> {
  for (const op of c.op ?? [base.op]) {
    const es = op === 'mbconv' ? c.e ?? [base.op === 'mbconv' ? base.e : 6] : [1];
    for (const e of es) for (const k of c.k ?? [base.k]) for (const s of c.s ?? [base.s])
      for (const se of c.se ?? [base.se]) for (const skip of c.skip ?? [base.skip])
        for (const act of c.act ?? [base.act]) for (const f of c.f ? c.f.map((v) => factorFilters(base.f, v)) : [base.f]) {
          // Only whether a block repeats matters for its units: x = 1 or x = 2 cover every layer.
          const xs = [...new Set((c.x ? c.x.map((d) => base.x + d) : [base.x]).map((x) => Math.min(x, 2)))];
          for (const x of xs) yield { ...base, op, e, k, s, se, skip, act, f, x };
        }
  }
}

/** The skeleton at another input resolution (calibrating a reduced-resolution variant). */
export function atResolution(space: ResolvedSpace, resolution?: number): ResolvedSpace {
  if (!resolution) return space;
  const sk: ModelSpec = { ...space.skeleton, input: { ...space.skeleton.input, h: resolution, w: resolution } };
  return { ...space, skeleton: sk };
}

/** Every distinct unit the space can produce, sorted by key. */
export function spaceUnits(space: ResolvedSpace): Unit[] {
  const sk = space.skeleton;
  const units = new Map<string, Unit>();
  const add = (u: Unit) => { if (!units.has(u.key)) units.set(u.key, u); };
  const base = toArch({ ...sk, blocks: [] });
  const stem = costOf(base).stem;
  if (stem) add(stemUnit(base, stem));
  let shapes = new Map<string, Shape>();
  const start: Shape = stem?.out ?? { ...sk.input };
  shapes.set(`${start.h}x${start.w}x${start.c}`, start);
  space.blocks.forEach((bc, i) => {
    const next = new Map<string, Shape>();
    const variants = [...blockVariants(sk.blocks[i], bc.choices)].map((b) => blockArch(b, { ...sk, depth: 1 }));
    for (const shape of shapes.values()) {
      for (const b of variants) {
        const c = blockCost(b, shape);
        for (const l of c.layers) add(layerUnit(b, l));
        next.set(`${c.out.h}x${c.out.w}x${c.out.c}`, c.out);
      }
    }
    shapes = next;
  });
  if (sk.head) {
    for (const shape of shapes.values()) {
      const arch = { name: '', input: shape, stem: null, blocks: [], head: { ...sk.head, act: sk.head.act ?? sk.act } };
      const c = costOf(arch);
      add(headUnit(arch, c.head));
    }
  }
  return [...units.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export interface CalibrationOptions {
  space: ResolvedSpace;
  /** Where the measurements come from: local torch, TFLite, a phone over adb. */
  source: LatencySource;
  out: string;
  /** Profile name (default: the output file's base name). */
  name?: string;
  /** Whole children to measure for the whole-model fit and the accuracy check (default DEFAULT_SAMPLES). */
  samples?: number;
  /** Calibrate the skeleton at this input resolution instead of its own. */
  resolution?: number;
  seed?: number;
  /** Device fingerprint; default: this machine (for local sources). */
  device?: Partial<DeviceProfile['device']>;
  /** Journal file (default: OUT.journal); two profiles can share one set of measurements. */
  journal?: string;
  /** Stop after this many new measurements (tests interrupt a run with it). */
  maxNewMeasurements?: number;
  onProgress?: (p: { phase: 'units' | 'models' | 'recheck'; done: number; total: number; reused: number; key: string }) => void;
}

export interface CalibrationResult {
  profile?: DeviceProfile;
  /** Measurements taken by this run, and reused from the journal. */
  measured: number;
  reused: number;
  /** Re-measurements of units and children that looked inflated (this run and the journal's), and how many came out lower. */
  rechecked: { units: number; models: number; lowered: number };
  units: number;
  complete: boolean;
  seconds: number;
  journal: string;
}

interface UnitRecord { type: 'unit'; key: string; ms: number; min?: number; median: number; spread: number; n: number; source: string; recheck?: number }
interface ModelRecord { type: 'model'; name: string; actions: number[]; ms: number; min?: number; spread: number; n: number; source: string; recheck?: number }
interface BaseRecord { type: 'base'; ms: number; min?: number; spread: number; n: number; source: string }
/** The ids (unit keys, `model:NAME`) a re-check pass measures again: chosen once, so a resumed or repeated run measures the same ones. */
interface RecheckRecord { type: 'recheck'; pass: number; ids: string[] }
type Record_ = UnitRecord | ModelRecord | BaseRecord | RecheckRecord | { type: 'meta'; space: string; resolution: number; source: string };

export const journalOf = (out: string) => `${out}.journal`;

function governor(): string {
  try { return fs.readFileSync('/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor', 'utf8').trim(); } catch { return 'unknown'; }
}

/** Whole children measured by default: enough for the three coefficients of the whole-model fit and a leave-one-out check. */
export const DEFAULT_SAMPLES = 100;

/**
 * Re-measuring what looks inflated. A slow stretch of a shared machine (another process on the
 * sibling core, memory traffic) adds time to everything measured during it, for seconds at a
 * time, so a one-unit network measured then reads 2-3x high with a tight spread, and the figure
 * (a minimum) cannot see it. Measured here (docs/device.md): 46 of 2,500 units came out more
 * than 1.5x their kind's fallback fit, almost all in the first minutes of one calibration, and
 * measured again they fell to 0.3-0.8x of the first figure, in line with the fit; whole models
 * that held such a unit were over-predicted by up to 107%. So after everything is measured, a
 * unit above `unitRatio` x its fallback and a child above `modelRatio` x its leave-one-out
 * prediction is measured again (`passes` times at most), and the lower figure is kept: load only
 * ever adds time. A unit that really is slow measures the same again and keeps its figure.
 */
export const RECHECK = { unitRatio: 1.3, modelRatio: 1.1, passes: 2 } as const;

/** The empty-network call overhead: a 1x1 map through one 1x1 conv. */
const BASE_ARCH = unitArch('conv|1x1x8|f8|k1|s1|e1|se0|none|relu');

export async function calibrate(opts: CalibrationOptions): Promise<CalibrationResult> {
  const t0 = Date.now();
  const space = atResolution(opts.space, opts.resolution);
  const resolution = space.skeleton.input.h;
  const units = spaceUnits(space);
  const journalFile = opts.journal ?? journalOf(opts.out);
  const previous = fs.existsSync(journalFile) ? Journal.repair(journalFile).entries as unknown as Record_[] : [];
  // Per unit and per child the lowest figure measured, and how many times it was measured.
  const unitDone = new Map<string, UnitRecord>();
  const modelDone = new Map<string, ModelRecord>();
  const times = new Map<string, number>();
  const keep = <R extends { ms: number }>(map: Map<string, R>, id: string, r: R, same = true) => {
    const prev = map.get(id);
    times.set(id, same && prev ? (times.get(id) ?? 1) + 1 : 1);
    if (!prev || !same || r.ms < prev.ms) map.set(id, r);
  };
  let base: BaseRecord | undefined;
  let priorSeconds = 0;
  const rechecked = { units: 0, models: 0, lowered: 0 };
  const plans = new Map<number, string[]>();
  const redone = new Set<string>();
  for (const r of previous) {
    if (r.type === 'unit' || r.type === 'model') {
      const id = r.type === 'unit' ? r.key : `model:${r.name}`;
      const map = (r.type === 'unit' ? unitDone : modelDone) as Map<string, UnitRecord | ModelRecord>;
      if (r.recheck) {
        if (r.type === 'unit') rechecked.units++; else rechecked.models++;
        if (map.has(id) && r.ms < map.get(id)!.ms) rechecked.lowered++;
        redone.add(`${r.recheck}:${id}`);
      }
      keep(map, id, r, r.type === 'unit' || modelDone.get(id)?.actions.join(',') === r.actions.join(','));
    } else if (r.type === 'recheck') plans.set(r.pass, r.ids);
    else if (r.type === 'base') base = r;
    else if (r.type === 'meta' && 'seconds' in r) priorSeconds += Number((r as { seconds?: number }).seconds) || 0;
  }
  const journal = new Journal(journalFile);
  let measured = 0;
  let reused = 0;
  let stopped = false;
  let runtime = '';
  const budget = opts.maxNewMeasurements ?? Infinity;
  const take = async (arch: Parameters<LatencySource['measure']>[0]): Promise<LatencyMeasurement | undefined> => {
    if (measured >= budget) { stopped = true; return undefined; }
    const m = await opts.source.measure(arch);
    measured++;
    runtime = m.source;
    return m;
  };
  try {
    journal.append({ type: 'meta', space: space.name, resolution, source: opts.source.name, started: new Date().toISOString() });
    if (!base) {
      const m = await take(BASE_ARCH);
      if (m) { base = { type: 'base', ms: m.ms, min: m.min, spread: m.spread, n: m.repeats, source: m.source }; journal.append(base); }
    } else reused++;
    // Units.
    let done = 0;
    for (const u of units) {
      done++;
      if (unitDone.has(u.key)) { reused++; continue; }
      if (stopped) break;
      const m = await take(unitArch(u.key));
      if (!m) break;
      const r: UnitRecord = { type: 'unit', key: u.key, ms: m.ms, min: m.min, median: m.median, spread: m.spread, n: m.repeats, source: m.source };
      journal.append(r);
      keep(unitDone, u.key, r);
      opts.onProgress?.({ phase: 'units', done, total: units.length, reused, key: u.key });
    }
    // Whole children, seeded.
    const ds = decisions(space);
    const rng = new Rng(opts.seed ?? 1);
    const samples = opts.samples ?? DEFAULT_SAMPLES;
    const children: { name: string; actions: number[] }[] = [];
    for (let i = 0; i < samples; i++) children.push({ name: `sample${i}`, actions: ds.map((d) => rng.int(d.options)) });
    let mdone = 0;
    for (const c of children) {
      mdone++;
      const prev = modelDone.get(`model:${c.name}`);
      if (prev && prev.actions.join(',') === c.actions.join(',')) { reused++; continue; }
      if (stopped) break;
      const m = await take(toArch(sample(space, c.actions, c.name)));
      if (!m) break;
      const r: ModelRecord = { type: 'model', name: c.name, actions: c.actions, ms: m.ms, min: m.min, spread: m.spread, n: m.repeats, source: m.source };
      journal.append(r);
      keep(modelDone, `model:${c.name}`, r, false);
      opts.onProgress?.({ phase: 'models', done: mdone, total: children.length, reused, key: c.name });
    }
    const measuredAll = () => !stopped && !!base && units.every((u) => unitDone.has(u.key)) && children.every((c) => modelDone.has(`model:${c.name}`));
    const rechecksDone = () => [...Array(RECHECK.passes).keys()].every((i) => (plans.get(i + 1) ?? ['?']).every((id) => redone.has(`${i + 1}:${id}`) || (id.startsWith('model:') && !children.some((c) => `model:${c.name}` === id))));
    const build = (seconds: number) => buildProfile({
      name: opts.name ?? opts.out.replace(/^.*[\\/]/, '').replace(/\.json$/, ''),
      space, units, unitDone, base: base!, models: children.map((c) => ({ ...modelDone.get(`model:${c.name}`)!, spec: sample(space, c.actions, c.name) })),
      runtime: runtime || base!.source, device: opts.device, seconds,
      measurements: 1 + [...units.map((u) => u.key), ...children.map((c) => `model:${c.name}`)].reduce((a, id) => a + (times.get(id) ?? 0), 0),
    });
    // Re-check (RECHECK): pass 1 measures again every unit and child that looks inflated, pass p
    // those of pass p - 1 that still do.
    for (let pass = 1; pass <= RECHECK.passes && measuredAll(); pass++) {
      let ids = plans.get(pass);
      if (!ids) {
        const draft = build(0);
        const cp = compile(draft);
        const checks = draft.accuracy.checks ?? [];
        const inflated = new Set<string>();
        for (const u of units) if (draft.table[u.key].ms > RECHECK.unitRatio * fallbackMs(cp, u)) inflated.add(u.key);
        children.forEach((c, i) => { if (checks[i].measuredMs > RECHECK.modelRatio * checks[i].predictedMs) inflated.add(`model:${c.name}`); });
        const previousPass = plans.get(pass - 1);
        ids = [...inflated].filter((id) => !previousPass || previousPass.includes(id));
        plans.set(pass, ids);
        journal.append({ type: 'recheck', pass, ids });
      }
      let rdone = 0;
      for (const id of ids) {
        rdone++;
        if (redone.has(`${pass}:${id}`)) { reused++; continue; }
        const child = id.startsWith('model:') ? children.find((c) => `model:${c.name}` === id) : undefined;
        if (id.startsWith('model:') && !child) continue;
        const m = await take(child ? toArch(sample(space, child.actions, child.name)) : unitArch(id));
        if (!m) break;
        const stats = { ms: m.ms, min: m.min, spread: m.spread, n: m.repeats, source: m.source, recheck: pass };
        const r: UnitRecord | ModelRecord = child ? { type: 'model', name: child.name, actions: child.actions, ...stats } : { type: 'unit', key: id, median: m.median, ...stats };
        journal.append(r);
        redone.add(`${pass}:${id}`);
        const map = (child ? modelDone : unitDone) as Map<string, UnitRecord | ModelRecord>;
        if (r.ms < map.get(id)!.ms) rechecked.lowered++;
        keep(map, id, r);
        if (child) rechecked.models++; else rechecked.units++;
        opts.onProgress?.({ phase: 'recheck', done: rdone, total: ids.length, reused, key: id });
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    journal.append({ type: 'meta', space: space.name, resolution, source: opts.source.name, seconds, measured });
    const complete = measuredAll() && rechecksDone();
    const result: CalibrationResult = { measured, reused, rechecked, units: units.length, complete, seconds: priorSeconds + seconds, journal: journalFile };
    if (!complete) return result;
    const profile = build(priorSeconds + seconds);
    writeAtomic(opts.out, `${JSON.stringify(profile, null, 1)}\n`);
    return { ...result, profile };
  } finally {
    journal.close();
  }
}

interface BuildInput {
  name: string;
  space: ResolvedSpace;
  units: Unit[];
  unitDone: Map<string, UnitRecord>;
  base: BaseRecord;
  models: (ModelRecord & { spec: ModelSpec })[];
  runtime: string;
  device?: Partial<DeviceProfile['device']>;
  seconds: number;
  measurements: number;
}

/** Fits the fallback per kind on the table; the whole-model correction on whole models. */
export function buildProfile(b: BuildInput): DeviceProfile {
  // Every measured figure is a minimum (util/timing.ts): the table and fits use it as it is.
  const stat = (r: { ms: number }) => r.ms;
  const table: Record<string, TableEntry> = {};
  for (const u of b.units) {
    const r = b.unitDone.get(u.key)!;
    // A one-unit network pays the call overhead of a network once: take it out.
    table[u.key] = { ms: round(Math.max(stat(r) - stat(b.base), 0.02 * stat(r)), 5), n: r.n, spread: round(r.spread, 5) };
  }
  const fallback = fitFallback(b.units, table);
  const draft: DeviceProfile = {
    format: PROFILE_FORMAT, version: PROFILE_VERSION, name: b.name,
    description: `Calibrated for space ${b.space.name} at ${b.space.skeleton.input.h}x${b.space.skeleton.input.w}: ${b.units.length} units measured alone, ${b.models.length} whole children for the whole-model fit.`,
    approximate: false,
    device: {
      model: os.cpus()[0]?.model.trim() ?? 'unknown', abi: process.arch, cores: os.cpus().length, governor: governor(),
      runtime: b.runtime, threads: /(\d+) threads?/.exec(b.runtime) ? Number(/(\d+) threads?/.exec(b.runtime)![1]) : 1, ...b.device,
    },
    created: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    source: { kind: 'calibrated', space: b.space.name, resolution: b.space.skeleton.input.h, measurements: b.measurements, seconds: round(b.seconds, 1), statistic: 'min' },
    table, fallback,
    overhead: { ms: 0, scale: 1 },
    accuracy: { models: 0, rmsePct: 0, within5: 0, within10: 0, maxErrorPct: 0 },
  };
  // Whole models: measured ≈ ms + scale * Σ units + fitScale * Σ fallback (fit.ts); accuracy by leave-one-out.
  const compiled = compile(draft);
  const rows = b.models.map((m) => ({ ...unitSums(compiled, toArch(m.spec)), measured: stat(m) }));
  const ys = rows.map((r) => r.measured);
  const fitOn = (idx: number[]): WholeModelFit => { const f = fitWholeModel(idx.map((i) => rows[i])); return { ms: round(f.ms, 5), scale: round(f.scale, 6), fitScale: round(f.fitScale, 6) }; };
  const all = b.models.map((_, i) => i);
  draft.overhead = fitOn(all);
  const checks: ModelCheck[] = b.models.map((m, i) => {
    const o = b.models.length >= 4 ? fitOn(all.filter((j) => j !== i)) : draft.overhead;
    const pred = o.ms + o.scale * rows[i].units + (o.fitScale ?? 0) * rows[i].fallback;
    return { name: m.name, measuredMs: round(ys[i], 3), predictedMs: round(pred, 3), errorPct: round((100 * (pred - ys[i])) / ys[i], 2) };
  });
  draft.accuracy = accuracyOf(checks);
  return draft;
}

export function accuracyOf(checks: ModelCheck[]): DeviceProfile['accuracy'] {
  const errs = checks.map((c) => Math.abs(c.errorPct));
  const n = Math.max(1, errs.length);
  return {
    models: checks.length,
    rmsePct: round(Math.sqrt(errs.reduce((a, e) => a + e * e, 0) / n), 2),
    within5: round(errs.filter((e) => e <= 5).length / n, 4),
    within10: round(errs.filter((e) => e <= 10).length / n, 4),
    maxErrorPct: round(errs.length ? Math.max(...errs) : 0, 2),
    checks,
  };
}

/** Per kind: non-negative least squares of the table's ms on the unit features. */
export function fitFallback(units: Unit[], table: Record<string, TableEntry>): DeviceProfile['fallback'] {
  const kinds: Partial<Record<UnitKind, KindFit>> = {};
  const rowsAll: number[][] = [];
  const yAll: number[] = [];
  for (const k of UNIT_KINDS) {
    const us = units.filter((u) => u.kind === k && table[u.key]);
    const X = us.map((u) => u.x);
    const y = us.map((u) => table[u.key].ms);
    rowsAll.push(...X);
    yAll.push(...y);
    // Too few rows for six coefficients: fit mult-adds only (and an intercept from 3 rows).
    if (us.length === 0) continue;
    const use = us.length >= 12 ? undefined : FEATURES.map((f) => f === 'denseMAdds' || f === 'dwMAdds' || (f === 'one' && us.length >= 3));
    const fit = fitLinear(X, y, { use, ridge: 1e-4 });
    kinds[k] = { coef: fit.coef.map(sig), n: fit.n, rmsePct: round(fit.rmsePct, 2) };
  }
  const all = yAll.length ? fitLinear(rowsAll, yAll, { ridge: 1e-4 }) : { coef: FEATURES.map(() => 0), n: 0, rmsePct: 100 };
  return { features: [...FEATURES], kinds, default: { coef: all.coef.map(sig), n: all.n, rmsePct: round(all.rmsePct, 2) } };
}


const sig = (v: number) => Number(v.toPrecision(6)) + 0;
const round = (v: number, d: number) => Number(v.toFixed(d)) + 0;
