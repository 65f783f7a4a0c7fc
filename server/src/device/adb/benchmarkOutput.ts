// Parsing TFLite benchmark_model output (pure). Formats seen in the field:
//   INFO: count=50 first=1040 curr=1018 min=1012 max=1190 avg=1039.66 std=22
//   INFO: Inference timings in us: Init: 17851, First inference: 2104, Warmup (avg): 1041.15, Inference (avg): 1039.66
// the same without the `INFO: ` prefix (older builds), all-equal samples as `count=50 curr=1000(all same)`,
// and the oldest summary line `Average inference timings in us: Warmup: 1041.15, Init: 17851, Inference: 1039.66`
// (some builds say `no stats:` instead of `Inference:`). All times are microseconds.

export interface StatLine {
  count: number;
  first?: number;
  curr: number;
  min: number;
  max: number;
  avg: number;
  std: number;
  allSame: boolean;
}

export interface BenchmarkOutput {
  /** Which summary the output had: 'timings' (Inference timings in us), 'average' (the oldest), 'stats-only'. */
  format: 'timings' | 'average' | 'stats-only';
  /** Mean inference time, us (the summary's value, else the last stat line's avg). */
  inferenceAvgUs: number;
  initUs?: number;
  firstUs?: number;
  warmupAvgUs?: number;
  /** The stat line of the measured runs (the last `count=` line). */
  inference?: StatLine;
  /** The stat line of the warm-up runs, when printed before the measured runs. */
  warmup?: StatLine;
}

export class BenchmarkOutputError extends Error {}

const NUM = String.raw`(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)`;

function stripPrefix(line: string): string {
  return line.replace(/^\s*(?:(?:INFO|WARNING|VERBOSE):\s*)?/, '').trim();
}

export function parseStatLine(line: string): StatLine | undefined {
  const raw = stripPrefix(line);
  if (!raw.startsWith('count=')) return undefined;
  const markedSame = /\(all same\)/.test(raw);
  const l = raw.replace(/\(all same\)/, '');
  const fields = new Map<string, string>();
  for (const m of l.matchAll(/(\w+)=(\S+)/g)) fields.set(m[1], m[2]);
  const count = Number(fields.get('count'));
  if (!Number.isFinite(count)) return undefined;
  const currRaw = fields.get('curr');
  if (count === 0 || currRaw === undefined) return undefined;
  const allSame = markedSame || (!fields.has('min') && !fields.has('avg'));
  const curr = Number(currRaw);
  if (!Number.isFinite(curr)) return undefined;
  if (allSame) return { count, curr, first: curr, min: curr, max: curr, avg: curr, std: 0, allSame: true };
  const num = (k: string) => {
    const v = Number(fields.get(k));
    if (!Number.isFinite(v)) throw new BenchmarkOutputError(`stat line without a numeric ${k}: ${l}`);
    return v;
  };
  return { count, first: fields.has('first') ? num('first') : undefined, curr, min: num('min'), max: num('max'), avg: num('avg'), std: num('std'), allSame: false };
}

function field(line: string, name: string): number | undefined {
  const m = new RegExp(`${name.replace(/[()]/g, '\\$&')}:\\s*${NUM}`).exec(line);
  return m ? Number(m[1]) : undefined;
}

/** Parses one run's output; throws BenchmarkOutputError (with the tool's own error lines) when there is no timing. */
export function parseBenchmarkOutput(text: string): BenchmarkOutput {
  const lines = text.split(/\r?\n/);
  const stats: StatLine[] = [];
  let timings: string | undefined;
  let average: string | undefined;
  for (const raw of lines) {
    const l = stripPrefix(raw);
    const s = parseStatLine(l);
    if (s) stats.push(s);
    else if (l.startsWith('Inference timings in us:')) timings = l;
    else if (l.startsWith('Average inference timings in us:')) average = l;
  }
  const inference = stats.length ? stats[stats.length - 1] : undefined;
  const warmup = stats.length >= 2 ? stats[stats.length - 2] : undefined;
  if (timings) {
    const avg = field(timings, 'Inference (avg)');
    if (avg === undefined) throw new BenchmarkOutputError(`no "Inference (avg)" in: ${timings}`);
    return {
      format: 'timings', inferenceAvgUs: avg, initUs: field(timings, 'Init'), firstUs: field(timings, 'First inference'),
      warmupAvgUs: field(timings, 'Warmup (avg)'), inference, warmup,
    };
  }
  if (average) {
    const avg = field(average, 'Inference') ?? field(average, 'no stats');
    if (avg === undefined) throw new BenchmarkOutputError(`no inference time in: ${average}`);
    return { format: 'average', inferenceAvgUs: avg, initUs: field(average, 'Init'), warmupAvgUs: field(average, 'Warmup'), firstUs: inference?.first, inference, warmup };
  }
  if (inference) return { format: 'stats-only', inferenceAvgUs: inference.avg, firstUs: inference.first, inference, warmup };
  const errors = lines.map(stripPrefix).filter((l) => /error|fail|unconsumed|not found|denied|cannot|can't/i.test(l));
  throw new BenchmarkOutputError(errors.length ? errors.join('; ') : `no timings in benchmark_model output (${text.trim().split('\n').slice(-3).join(' | ') || 'empty'})`);
}
