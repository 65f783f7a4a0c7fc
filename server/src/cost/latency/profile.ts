// The device-profile file (`format: "mnas-device-profile"`), its JSON schema, validation on
// load (ajv; errors name the file and the field), and the compiled in-memory form estimate()
// reads. Format reference: docs/device.md, "Latency predictor and profiles".
import * as fs from 'node:fs';
import Ajv, { type ErrorObject } from 'ajv';
import { fieldOf } from '../../util/schema';
import { FEATURES, UNIT_KINDS, type UnitKind } from './keys';

export const PROFILE_FORMAT = 'mnas-device-profile';
export const PROFILE_VERSION = 1;

export interface TableEntry {
  /** Trimmed mean of the unit alone, minus the empty-network call overhead, ms. */
  ms: number;
  /** Timed runs behind it. */
  n: number;
  /** p90 - p10 of those runs, ms. */
  spread: number;
}

export interface KindFit {
  /** One coefficient per `fallback.features` entry: ms = coef · features. */
  coef: number[];
  /** Table entries it was fitted on (0 for a profile fitted to whole-model figures only). */
  n: number;
  /** Relative RMS residual on those entries, percent. */
  rmsePct: number;
}

export interface ModelCheck { name: string; measuredMs: number; predictedMs: number; errorPct: number }

export interface DeviceProfile {
  format: typeof PROFILE_FORMAT;
  version: number;
  name: string;
  description?: string;
  /** True when the figures are not measurements of this device (fitted, borrowed, synthetic). */
  approximate: boolean;
  device: { model: string; abi: string; cores: number; governor: string; runtime: string; threads: number };
  created: string;
  /** How the profile was made: calibration settings or the published figures it was fitted on. */
  source: {
    kind: 'calibrated' | 'published' | 'synthetic'; space?: string; resolution?: number; measurements?: number; seconds?: number; note?: string;
    /** The statistic of each measurement the table and fits use. */
    statistic?: 'trimmed-mean' | 'min';
  };
  table: Record<string, TableEntry>;
  fallback: { features: string[]; kinds: Partial<Record<UnitKind, KindFit>>; default: KindFit };
  /**
   * Whole-model correction (fit.ts, fitWholeModel): total = overhead.ms + overhead.scale * sum(units)
   * + overhead.fitScale * sum(every unit's fallback); fitScale absent = 0 (profiles before it).
   */
  overhead: { ms: number; scale: number; fitScale?: number };
  /** Accuracy on whole models (held-out samples of the calibration, or the fitted figures). */
  accuracy: { models: number; rmsePct: number; within5: number; within10: number; maxErrorPct: number; checks?: ModelCheck[] };
}

const num = { type: 'number' } as const;
const nonneg = { type: 'number', minimum: 0 } as const;
const kindFit = {
  type: 'object', required: ['coef', 'n', 'rmsePct'], additionalProperties: false,
  properties: { coef: { type: 'array', items: num }, n: { type: 'integer', minimum: 0 }, rmsePct: nonneg },
} as const;

export const PROFILE_SCHEMA = {
  $id: 'mnas-device-profile',
  type: 'object',
  required: ['format', 'version', 'name', 'approximate', 'device', 'created', 'source', 'table', 'fallback', 'overhead', 'accuracy'],
  properties: {
    format: { const: PROFILE_FORMAT },
    version: { type: 'integer', minimum: 1, maximum: PROFILE_VERSION },
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    approximate: { type: 'boolean' },
    device: {
      type: 'object', required: ['model', 'abi', 'cores', 'governor', 'runtime', 'threads'],
      properties: {
        model: { type: 'string' }, abi: { type: 'string' }, cores: { type: 'integer', minimum: 0 },
        governor: { type: 'string' }, runtime: { type: 'string' }, threads: { type: 'integer', minimum: 0 },
      },
    },
    created: { type: 'string', minLength: 1 },
    source: {
      type: 'object', required: ['kind'],
      properties: {
        kind: { enum: ['calibrated', 'published', 'synthetic'] }, space: { type: 'string' }, resolution: { type: 'integer', minimum: 1 },
        measurements: { type: 'integer', minimum: 0 }, seconds: nonneg, note: { type: 'string' }, statistic: { enum: ['trimmed-mean', 'min'] },
      },
    },
    table: {
      type: 'object',
      additionalProperties: {
        type: 'object', required: ['ms', 'n', 'spread'], additionalProperties: false,
        properties: { ms: nonneg, n: { type: 'integer', minimum: 1 }, spread: nonneg },
      },
    },
    fallback: {
      type: 'object', required: ['features', 'kinds', 'default'], additionalProperties: false,
      properties: {
        features: { type: 'array', items: { enum: [...FEATURES] }, minItems: 1 },
        kinds: { type: 'object', propertyNames: { enum: [...UNIT_KINDS] }, additionalProperties: kindFit },
        default: kindFit,
      },
    },
    overhead: { type: 'object', required: ['ms', 'scale'], additionalProperties: false, properties: { ms: num, scale: { type: 'number', exclusiveMinimum: 0 }, fitScale: nonneg } },
    accuracy: {
      type: 'object', required: ['models', 'rmsePct', 'within5', 'within10', 'maxErrorPct'],
      properties: {
        models: { type: 'integer', minimum: 0 }, rmsePct: nonneg, within5: { type: 'number', minimum: 0, maximum: 1 },
        within10: { type: 'number', minimum: 0, maximum: 1 }, maxErrorPct: nonneg,
        checks: {
          type: 'array',
          items: { type: 'object', required: ['name', 'measuredMs', 'predictedMs', 'errorPct'], properties: { name: { type: 'string' }, measuredMs: num, predictedMs: num, errorPct: num } },
        },
      },
    },
  },
} as const;

export class ProfileError extends Error {}

let validator: ReturnType<Ajv['compile']> | undefined;
function validate(data: unknown): ErrorObject[] {
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(PROFILE_SCHEMA);
  return validator(data) ? [] : [...(validator.errors ?? [])];
}

function describe(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is missing';
  if (e.keyword === 'additionalProperties') return 'is not a profile field';
  if (e.keyword === 'propertyNames') return `is not an op kind (${UNIT_KINDS.join(', ')})`;
  if (e.keyword === 'const') return `must be "${String((e.params as { allowedValue: unknown }).allowedValue)}"`;
  return e.message ?? 'is invalid';
}

/**
 * Checks a parsed profile. Throws a ProfileError naming `file` and every bad field, e.g.
 * `profiles/x.json: table["conv|..."].ms must be >= 0`.
 */
export function checkProfile(data: unknown, file: string): DeviceProfile {
  const errors = validate(data);
  const d = data as Partial<DeviceProfile> | null;
  if (errors.length === 0 && d?.fallback) {
    const p = d.fallback.features.length;
    for (const [k, f] of [...Object.entries(d.fallback.kinds), ['default', d.fallback.default] as const]) {
      if (f && f.coef.length !== p) {
        throw new ProfileError(`${file}: fallback.${k === 'default' ? 'default' : `kinds.${k}`}.coef has ${f.coef.length} coefficients, but fallback.features lists ${p}.`);
      }
    }
  }
  if (errors.length === 0) return data as DeviceProfile;
  if (d && typeof d === 'object' && d.format !== undefined && d.format !== PROFILE_FORMAT) {
    throw new ProfileError(`${file}: format is ${JSON.stringify(d.format)}, not "${PROFILE_FORMAT}": this is not a device profile.`);
  }
  if (d && typeof d === 'object' && typeof d.version === 'number' && d.version > PROFILE_VERSION) {
    throw new ProfileError(`${file}: version ${d.version} is newer than this mnas-studio reads (${PROFILE_VERSION}). Update mnas-studio or re-run \`mnas calibrate\`.`);
  }
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const e of errors) {
    const line = `${fieldOf(e)} ${describe(e)}`;
    if (!seen.has(line)) { seen.add(line); lines.push(line); }
  }
  const shown = lines.slice(0, 5).join('; ');
  throw new ProfileError(`${file}: not a valid device profile: ${shown}${lines.length > 5 ? `; and ${lines.length - 5} more` : ''}.`);
}

/** Reads and validates a profile file. */
export function readProfile(file: string): DeviceProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ProfileError(code === 'ENOENT' ? `${file}: no such profile file.` : `${file}: cannot read it (${(e as Error).message}).`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ProfileError(`${file}: not valid JSON (${(e as Error).message}).`);
  }
  return checkProfile(data, file);
}

/** A profile ready for estimate(): the table as a Map, feature columns mapped. */
export interface CompiledProfile {
  profile: DeviceProfile;
  table: Map<string, TableEntry>;
  /** Per kind: coefficients in FEATURES order. */
  coef: Record<UnitKind, number[]>;
  relErr: Record<UnitKind, number>;
}

export function compile(profile: DeviceProfile): CompiledProfile {
  const index = profile.fallback.features.map((f) => FEATURES.indexOf(f as (typeof FEATURES)[number]));
  const toFull = (c: number[]) => {
    const out = new Array<number>(FEATURES.length).fill(0);
    c.forEach((v, i) => { out[index[i]] = v; });
    return out;
  };
  const coef = {} as Record<UnitKind, number[]>;
  const relErr = {} as Record<UnitKind, number>;
  for (const k of UNIT_KINDS) {
    const f = profile.fallback.kinds[k] ?? profile.fallback.default;
    coef[k] = toFull(f.coef);
    relErr[k] = f.rmsePct / 100;
  }
  return { profile, table: new Map(Object.entries(profile.table)), coef, relErr };
}
