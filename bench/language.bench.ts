// Language core: parse and full analysis (validation + exact costs of every block) of a
// seeded 5,000-line file, and the lazy statistics of the paper's search space.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as src from '../server/src/analysis/analysis';
import { clearParseCache as clearSrcParseCache } from '../server/src/language/parser';
import { clearModelCache as clearSrcModelCache } from '../server/src/analysis/analysis';
import type { SpaceEntry } from '../server/src/analysis/analysis';
import { bundledCore, CORE_BUNDLE } from './lib/bundle';
import { ROOT, writeFixture } from './lib/generate';
import { below, type BenchResult, report, summarize } from './lib/result';

const WARMUPS = 5;
const REPEATS = 30;
const ROUNDS = 3;
const ALONE_WARMUPS = 10;
const ALONE_REPEATS = 60;

interface Alone { wallMedian: number; wallMin: number; wallMean: number; cpuMean: number; mainThreadCpuMean: number }

/** Wall and CPU time of one call, in ms. */
function measure(fn: () => unknown): { wall: number; cpu: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1000 };
}

export async function run(): Promise<BenchResult> {
  const g = writeFixture(5000);
  const text = fs.readFileSync(g.file, 'utf8');
  const host = { read: () => undefined };
  // The shipped code (esbuild bundle, as in dist/), and the TS sources through tsx for comparison.
  const core = await bundledCore();
  // An earlier build of the same entry (bench/lib/core.ts bundled at another commit), for pairs.
  const baselineFile = process.env.MNAS_BENCH_BASELINE_CORE;

  // Sanity: the input is valid and every block's cost is computed.
  const check = core.analyze(g.file, text, host, new core.AnalysisCache());
  const errors = check.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(`generated file has ${errors.length} errors, first: ${errors[0].message}`);
  const costed = [...check.local.values()].reduce((n, e) => n + (e.kind === 'model' ? e.cost.blocks.length : 0), 0);
  if (costed !== g.blocks) throw new Error(`costed ${costed} blocks, expected ${g.blocks}`);

  // Cold: the parser's declaration cache is emptied first, so every declaration is parsed.
  const lines = text.split('\n');
  const mid = lines.findIndex((l, i) => i > lines.length / 2 && /\bblock \w+ \{ \w+/.test(l));
  let edit = 0;
  const edited = () => {
    const e = [...lines];
    e[mid] = e[mid].replace(/ \}\s*$/, ` ${++edit % 2 ? 'relu' : 'swish'} }`);
    return e.join('\n');
  };
  let previous: ReturnType<typeof core.parse> | undefined;
  const jobs = {
    parse: () => { core.clearParseCache(); return core.parse(text); },
    validate: () => { core.clearParseCache(); core.clearModelCache(); return core.analyze(g.file, text, host, new core.AnalysisCache()); },
    validateTsx: () => { clearSrcParseCache(); clearSrcModelCache(); return src.analyze(g.file, text, host, new src.AnalysisCache()); },
    // As you type in the language server: one block changed mid-file, given the last parse of
    // the document, so only that declaration is lexed, parsed, resolved and costed again.
    validateAfterEdit: () => {
      const a = core.analyze(g.file, edited(), host, new core.AnalysisCache(), previous);
      previous = a.parsed;
      return a;
    },
    // The same edit without the last parse (the CLI's path): the whole file is lexed again and
    // every declaration is looked up in the caches by its text.
    validateAfterEditNoBase: () => core.analyze(g.file, edited(), host, new core.AnalysisCache()),
  };
  type Job = keyof typeof jobs;
  for (let i = 0; i < WARMUPS; i++) for (const job of Object.values(jobs)) job();
  // Alternate the measurements, so load on the shared machine hits all of them alike.
  const wall: Record<Job, number[]> = { parse: [], validate: [], validateTsx: [], validateAfterEdit: [], validateAfterEditNoBase: [] };
  const cpu: Record<Job, number[]> = { parse: [], validate: [], validateTsx: [], validateAfterEdit: [], validateAfterEditNoBase: [] };
  const load: number[] = [os.loadavg()[0]];
  for (let i = 0; i < REPEATS; i++) {
    for (const [name, job] of Object.entries(jobs) as [Job, () => unknown][]) {
      const m = measure(job);
      wall[name].push(m.wall);
      cpu[name].push(m.cpu);
    }
  }
  load.push(os.loadavg()[0]);
  const p = summarize(wall.parse);
  const a = summarize(wall.validate);
  const t = summarize(wall.validateTsx);
  const e = summarize(wall.validateAfterEdit);
  const n = summarize(wall.validateAfterEditNoBase);

  // Lazy space statistics: the first read of `stats` on a fresh analysis of the paper's space.
  const spaceFile = path.join(ROOT, 'examples', 'mnas-space.mnas');
  const spaceText = fs.readFileSync(spaceFile, 'utf8');
  const statsMs: number[] = [];
  let size = '';
  const fresh = () => core.analyze(spaceFile, spaceText, core.diskHost, new core.AnalysisCache()).local.get('MnasSpace') as SpaceEntry;
  for (let i = 0; i < 3; i++) void fresh().stats;
  for (let i = 0; i < 20; i++) {
    const entry = fresh();
    const t0 = performance.now();
    const st = entry.stats;
    statsMs.push(performance.now() - t0);
    if (!st?.exact) throw new Error('MnasSpace statistics should be exact');
    size = `~10^${st.log10Size.toFixed(1)}`;
  }
  const s = summarize(statsMs);

  // Before/after: this build and the baseline in processes of their own (in one process their
  // garbage would be collected during each other's runs): ROUNDS rounds of one process per build,
  // the order alternating; per build the mean CPU time of the main thread per validation (the
  // load stretches it least), of all threads (GC helpers included), and the wall median.
  const alone: { current: Alone[]; baseline: Alone[] } = { current: [], baseline: [] };
  if (baselineFile) {
    const child = (bundle: string) => JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'lib', 'coldValidate.ts'),
      bundle, g.file, String(ALONE_WARMUPS), String(ALONE_REPEATS)], { cwd: ROOT, encoding: 'utf8' })) as Alone;
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? (['baseline', 'current'] as const) : (['current', 'baseline'] as const);
      for (const side of order) alone[side].push(child(side === 'current' ? CORE_BUNDLE : path.resolve(baselineFile)));
    }
  }
  const aloneMetrics = (side: 'current' | 'baseline', prefix: string) => [
    report(`${prefix}_main_thread_cpu_mean`, summarize(alone[side].map((a) => a.mainThreadCpuMean)).median, 'ms'),
    report(`${prefix}_process_cpu_mean`, summarize(alone[side].map((a) => a.cpuMean)).median, 'ms'),
    report(`${prefix}_wall_median`, summarize(alone[side].map((a) => a.wallMedian)).median, 'ms'),
  ];

  return {
    benchmark: 'language',
    metrics: [
      below('validate_5000_lines_median', a.median, 'ms', 50),
      report('validate_5000_lines_min', a.min, 'ms'),
      report('validate_5000_lines_p95', a.p95, 'ms'),
      report('validate_5000_lines_cpu_median', summarize(cpu.validate).median, 'ms'),
      report('validate_5000_lines_cpu_min', summarize(cpu.validate).min, 'ms'),
      ...(baselineFile ? [
        ...aloneMetrics('current', 'validate_alone'),
        ...aloneMetrics('baseline', 'validate_alone_baseline'),
        report('validate_alone_main_thread_cpu_ratio', summarize(alone.baseline.map((b, i) => b.mainThreadCpuMean / alone.current[i].mainThreadCpuMean)).median, 'ratio'),
      ] : []),
      below('validate_after_one_edit_median', e.median, 'ms', 50),
      report('validate_after_one_edit_min', e.min, 'ms'),
      report('validate_after_one_edit_p95', e.p95, 'ms'),
      report('validate_after_one_edit_cpu_median', summarize(cpu.validateAfterEdit).median, 'ms'),
      report('validate_after_one_edit_without_last_parse_median', n.median, 'ms'),
      report('validate_after_one_edit_without_last_parse_min', n.min, 'ms'),
      report('parse_5000_lines_median', p.median, 'ms'),
      report('parse_5000_lines_min', p.min, 'ms'),
      report('parse_5000_lines_p95', p.p95, 'ms'),
      report('parse_share_of_validate', p.median / a.median, 'ratio'),
      report('validate_tsx_source_median', t.median, 'ms'),
      report('tsx_over_bundle', t.median / a.median, 'ratio'),
      report('space_stats_mnas_space_median', s.median, 'ms'),
      report('space_stats_mnas_space_min', s.min, 'ms'),
      report('space_stats_mnas_space_p95', s.p95, 'ms'),
    ],
    notes: `Input: bench/fixtures/generated/language-5000.mnas (seed 20190101, ${g.lines} lines, ${g.models} models, ${g.blocks} blocks, `
      + `${g.spaces} spaces, ${g.searches} searches; 0 errors). validate = analyze(): parse + resolution + space/search checks + costOf for `
      + 'every block; parse = parse() alone. Both time the esbuild bundle of the language core (the code dist/ ships); '
      + 'validate_tsx_source times the same call on the TS sources under tsx (keepNames wraps every closure), for comparison. '
      + 'validate_after_one_edit: the same file with one block changed (alternating its activation), as a keystroke in the language '
      + 'server: analyze() is given the last parse of the document, so only the edited declaration is lexed and parsed again (the ones '
      + 'after it are moved in place) and only the edited model is resolved and costed again. validate_after_one_edit_without_last_parse: '
      + 'the same edit without it (the CLI\'s path): the whole file is lexed, and each declaration is served from the caches by its text. '
      + `${WARMUPS} warm-ups, then ${REPEATS} repeats of each, interleaved, fresh caches each time (cold jobs empty the parser's declaration cache and the model cache); wall time unless named cpu `
      + '(process.cpuUsage, user+system, includes GC threads). '
      + `space_stats: first read of the lazy SpaceEntry.stats of examples/mnas-space.mnas (${size} models, exact DP), 3 warm-ups + 20 repeats; `
      + 'no goal was set for it (report only). '
      + (baselineFile ? `Before/after: MNAS_BENCH_BASELINE_CORE (${process.env.MNAS_BENCH_BASELINE_CORE_LABEL ?? path.basename(baselineFile)}) is bench/lib/core.ts bundled the same way at an `
        + 'earlier commit; validate_alone_* run this build and it each in a process of its own (in one process their garbage is collected during each other\'s runs) '
        + `(bench/lib/coldValidate.ts: ${ALONE_WARMUPS} warm-ups, then ${ALONE_REPEATS} cold validations), ${ROUNDS} rounds alternating which goes first; *_main_thread_cpu_mean `
        + 'is the CPU time of the main thread per validation (from /proc; GC helper threads not counted), *_process_cpu_mean all threads, the median over rounds; '
        + 'validate_alone_main_thread_cpu_ratio is the median over rounds of baseline/current. ' : '')
      + `1-minute load average: start ${load[0].toFixed(2)}, end ${load[1].toFixed(2)} (2 cores shared with other work: wall times stretch with it, CPU times much less).`,
  };
}
