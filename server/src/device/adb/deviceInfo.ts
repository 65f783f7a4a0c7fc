// Pure parsing of what a device tells about itself: properties, cpufreq, governors, thermal zones.

export type DeviceState = 'device' | 'unauthorized' | 'offline' | 'emulator' | 'unknown' | string;

export interface ThermalZone { zone: number; type?: string; celsius: number }

export interface DeviceInfo {
  serial: string;
  state: DeviceState;
  model?: string;
  manufacturer?: string;
  product?: string;
  abi?: string;
  androidVersion?: string;
  sdk?: number;
  fingerprint?: string;
  cores?: number;
  /** cpuinfo_max_freq per core, kHz, indexed by core number (undefined for a core without cpufreq). */
  coreMaxKhz?: (number | undefined)[];
  bigCores?: number[];
  /** Hex mask for `taskset`, e.g. `f0`. */
  bigCoreMask?: string;
  governor?: string;
  /** Hottest plausible thermal zone, degrees C. */
  thermalC?: number;
  thermalZones?: ThermalZone[];
  /** Why fields are missing (unauthorized, offline, a failed query). */
  message?: string;
}

/** The script run once per device; sections start with `@name`. Paths come before values so that
 * `cat` over a glob can be paired with the files it read (a core without cpufreq is skipped by both). */
export const PROBE_SCRIPT = [
  'echo @possible', 'cat /sys/devices/system/cpu/possible 2>/dev/null',
  'echo @freqpaths', 'echo /sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq',
  'echo @freqs', 'cat /sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq 2>/dev/null',
  'echo @govpaths', 'echo /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor',
  'echo @govs', 'cat /sys/devices/system/cpu/cpu*/cpufreq/scaling_governor 2>/dev/null',
  ...THERMAL_LINES(),
  'echo @end',
].join('; ');

function THERMAL_LINES(): string[] {
  return [
    'echo @thermpaths', 'echo /sys/class/thermal/thermal_zone*/temp',
    'echo @temps', 'cat /sys/class/thermal/thermal_zone*/temp 2>/dev/null',
    'echo @typepaths', 'echo /sys/class/thermal/thermal_zone*/type',
    'echo @types', 'cat /sys/class/thermal/thermal_zone*/type 2>/dev/null',
  ];
}

export const THERMAL_SCRIPT = [...THERMAL_LINES(), 'echo @end'].join('; ');

export function sections(output: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const raw of output.split(/\r?\n/)) {
    const line = raw.trim();
    const m = /^@(\w+)$/.exec(line);
    if (m) { cur = []; out.set(m[1], cur); continue; }
    if (cur && line !== '') cur.push(line);
  }
  return out;
}

const cpuIndex = (p: string) => { const m = /\/cpu(\d+)\//.exec(p); return m ? Number(m[1]) : undefined; };
const zoneIndex = (p: string) => { const m = /thermal_zone(\d+)\//.exec(p); return m ? Number(m[1]) : undefined; };

/** Pairs glob-expanded paths (one `echo` line, or unexpanded when nothing matched) with values. */
function paired(paths: string[] | undefined, values: string[] | undefined): [string, string][] {
  const ps = (paths ?? []).join(' ').split(/\s+/).filter((p) => p && !p.includes('*'));
  const vs = values ?? [];
  if (ps.length !== vs.length) return [];
  return ps.map((p, i) => [p, vs[i]]);
}

/** Cores to pin a single-thread benchmark to: group cores by max frequency; the lowest group is
 * the little cluster; of the others, the largest group (ties: the faster). On a tri-cluster SoC
 * this skips a lone prime core (Pixel 4: 70, not 80); on big.LITTLE it is the big cluster (Pixel 2: f0);
 * on a uniform SoC, all cores. */
export function bigCores(maxKhz: (number | undefined)[]): number[] {
  const groups = new Map<number, number[]>();
  maxKhz.forEach((f, i) => { if (f !== undefined && f > 0) groups.set(f, [...(groups.get(f) ?? []), i]); });
  if (groups.size === 0) return [];
  const freqs = [...groups.keys()].sort((a, b) => a - b);
  if (freqs.length === 1) return groups.get(freqs[0])!;
  const candidates = freqs.slice(1);
  let best = candidates[candidates.length - 1];
  for (const f of candidates) if (groups.get(f)!.length > groups.get(best)!.length) best = f;
  return groups.get(best)!;
}

export function coreMask(cores: number[]): string {
  let m = 0n;
  for (const c of cores) m |= 1n << BigInt(c);
  return m.toString(16);
}

function countPossible(s: string | undefined): number | undefined {
  if (!s) return undefined;
  let n = 0;
  for (const part of s.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) return undefined;
    n += m[2] ? Number(m[2]) - Number(m[1]) + 1 : 1;
  }
  return n;
}

export function parseThermal(s: Map<string, string[]>): { thermalC?: number; thermalZones: ThermalZone[] } {
  const types = new Map<number, string>();
  for (const [p, v] of paired(s.get('typepaths'), s.get('types'))) { const z = zoneIndex(p); if (z !== undefined) types.set(z, v); }
  const zones: ThermalZone[] = [];
  for (const [p, v] of paired(s.get('thermpaths'), s.get('temps'))) {
    const z = zoneIndex(p);
    const raw = Number(v);
    if (z === undefined || !Number.isFinite(raw)) continue;
    const celsius = Math.abs(raw) >= 1000 ? raw / 1000 : raw;
    zones.push({ zone: z, type: types.get(z), celsius });
  }
  const plausible = zones.filter((z) => z.celsius > 0 && z.celsius < 150).map((z) => z.celsius);
  return { thermalC: plausible.length ? Math.max(...plausible) : undefined, thermalZones: zones };
}

export function parseProbe(output: string): Pick<DeviceInfo, 'cores' | 'coreMaxKhz' | 'bigCores' | 'bigCoreMask' | 'governor' | 'thermalC' | 'thermalZones'> {
  const s = sections(output);
  const maxKhz: (number | undefined)[] = [];
  for (const [p, v] of paired(s.get('freqpaths'), s.get('freqs'))) {
    const c = cpuIndex(p);
    if (c !== undefined && Number.isFinite(Number(v))) maxKhz[c] = Number(v);
  }
  const governors = new Map<number, string>();
  for (const [p, v] of paired(s.get('govpaths'), s.get('govs'))) { const c = cpuIndex(p); if (c !== undefined) governors.set(c, v); }
  const big = bigCores(maxKhz);
  const cores = countPossible(s.get('possible')?.[0]) ?? (maxKhz.length || undefined);
  const governor = governors.get(big[0] ?? -1) ?? governors.values().next().value;
  return { cores, coreMaxKhz: maxKhz.length ? maxKhz : undefined, bigCores: big.length ? big : undefined, bigCoreMask: big.length ? coreMask(big) : undefined, governor, ...parseThermal(s) };
}

export function fromProperties(p: Record<string, string>): Pick<DeviceInfo, 'model' | 'manufacturer' | 'product' | 'abi' | 'androidVersion' | 'sdk' | 'fingerprint'> {
  const sdk = Number(p['ro.build.version.sdk']);
  return {
    model: p['ro.product.model'] || undefined,
    manufacturer: p['ro.product.manufacturer'] || undefined,
    product: p['ro.product.name'] || undefined,
    abi: p['ro.product.cpu.abi'] || undefined,
    androidVersion: p['ro.build.version.release'] || undefined,
    sdk: Number.isFinite(sdk) && sdk > 0 ? sdk : undefined,
    fingerprint: p['ro.build.fingerprint'] || undefined,
  };
}
