// `mnas search` and `mnas report`: the search engine headless, with a progress bar on a
// terminal, one line per child elsewhere, or NDJSON events (`--events ndjson`) for tools.
import * as fs from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { runSearch, type SearchOptions } from '../search/engine';
import { childLogPrefix, type SearchEvent } from '../search/events';
import { type EvaluatorFactory, localEvaluator } from '../search/evaluator';
import { readJournal } from '../util/journal';
import { type ChildRecord, paretoFront, type RunInfo, runPaths } from '../search/runFolder';
import { CliError } from './load';
import { finalTable } from '../report/finalTable';
import { readFullRecords } from '../final/store';
import type { FinalTable } from '../report/data';
import { isTrainerBackend, type TrainerBackend } from '../train/createTrainer';
import { int, table } from './text';
import { type RedisCliOptions, redisSettings } from './worker';

export interface SearchCliOptions extends RedisCliOptions {
  search?: string; out?: string; seed?: string; budget?: string; strategy?: string; resume?: string;
  events?: string; python?: string; workers?: string; backend?: string;
  queue?: string | boolean; jobAttempts?: string;
}

function intOpt(v: string | undefined, name: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} takes a whole number${min ? ` of at least ${min}` : ''}, got '${v}'.`);
  return n;
}

export async function searchCommand(file: string | undefined, o: SearchCliOptions): Promise<number> {
  if (o.events && o.events !== 'ndjson') throw new CliError(`--events takes 'ndjson', got '${o.events}'.`);
  if (o.strategy && o.strategy !== 'rl' && o.strategy !== 'random') throw new CliError(`--strategy is 'rl' or 'random', got '${o.strategy}'.`);
  if (o.backend && !isTrainerBackend(o.backend)) throw new CliError(`--backend is 'torch', 'tfjs' or 'auto', got '${o.backend}'.`);
  if (o.queue && o.workers !== undefined) throw new CliError('--workers sizes the local pool; with --queue, start `mnas worker --redis URL --concurrency N` on each machine instead.');
  if (!file && !o.resume) throw new CliError('give a .mnas file (`mnas search examples/search-quickstart.mnas`) or --resume RUN.');
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    process.stderr.write('\nmnas: stopping: the training in progress ends; every child that finished is kept. Resume with --resume (Ctrl-C again to quit at once).\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stdout.isTTY && !o.events;
  let bar: cliProgress.SingleBar | undefined;
  let backend = '';
  let started = { run: '', search: '' };
  const onEvent = (e: SearchEvent) => {
    if (o.events) {
      process.stdout.write(JSON.stringify(e) + '\n');
      return;
    }
    if (e.event === 'start') {
      started = { run: e.run, search: e.search };
      backend = `${e.backend.trainer}; controller ${e.backend.controller}`;
      console.log(`mnas search ${e.search} (${e.strategy}) -> ${path.relative(process.cwd(), e.run) || e.run}`);
      console.log(`  backend: ${backend}; latency: ${e.backend.latency}${e.resumed ? `; resumed at ${e.done}/${e.total}` : ''}`);
      const r = e.target.relative;
      console.log(`  target T = ${e.target.ms.toPrecision(4)} ms${r ? ` = ${r.factor}x ${r.model} (${r.referenceMs.toPrecision(4)} ms on ${r.source}, measured ${e.resumed ? 'when the run started' : 'now'})` : ''}`);
      if (tty) {
        bar = new cliProgress.SingleBar({
          format: '  {bar} {value}/{total} children | best reward {best} | ETA {eta_formatted} | {last}',
          hideCursor: true, clearOnComplete: false,
        }, cliProgress.Presets.shades_classic);
        bar.start(e.total, e.done, { best: '-', last: '' });
      }
    } else if (e.event === 'child') {
      const line = `child ${e.id}: acc ${(100 * e.accuracy).toFixed(2)}%  lat ${e.latencyMs.toFixed(3)} ms  reward ${e.reward.toFixed(4)}${e.cached ? ' (cached)' : ''}`;
      if (bar) bar.update(e.done, { best: e.best.toFixed(4), last: line });
      else console.log(`  ${childLogPrefix(started.run, started.search, e.done, e.total)} ${line}`);
    } else if (e.event === 'stopping') {
      const ids = (xs: number[]) => xs.join(', ');
      if (e.training.length || e.timing.length) {
        console.error(`  stopping: ${[e.training.length ? `training of ${ids(e.training)} ended` : '', e.timing.length ? `latency of ${ids(e.timing)} not measured (trained: kept)` : ''].filter(Boolean).join('; ')}`);
      }
    } else if (e.event === 'warning') {
      console.error(`  warning: ${e.message}`);
    } else if (e.event === 'failed') {
      if (bar) bar.update(e.done, { last: `child ${e.id} failed` });
      console.error(`  ${childLogPrefix(started.run, started.search, e.done, e.total)} child ${e.id} failed: ${e.error}`);
    } else if (e.event === 'done') {
      bar?.stop();
      const b = e.best;
      console.log(`${e.status === 'done' ? 'done' : 'stopped'}: ${e.children} children (${e.failed} failed) in ${e.seconds.toFixed(0)} s` +
        (b ? `; best ${b.name}: reward ${b.reward.toFixed(4)}, acc ${(100 * b.accuracy).toFixed(2)}%, ${b.latencyMs.toFixed(3)} ms` : ''));
      console.log(`  results: ${path.join(path.relative(process.cwd(), e.run) || e.run, 'results.csv')}, pareto.json, best/*.mnas; \`mnas report ${path.relative(process.cwd(), e.run) || e.run}\``);
      if (e.status === 'stopped') console.log(`  resume: mnas search --resume ${path.relative(process.cwd(), e.run) || e.run}${e.resume ? ` (${e.resume.note.replace(/^--resume /, '').replace(/\.$/, '')})` : ''}`);
    }
  };
  const opts: SearchOptions = {
    file, search: o.search, out: o.out, resume: o.resume, seed: intOpt(o.seed, 'seed'), budget: intOpt(o.budget, 'budget', 1),
    strategy: o.strategy as 'rl' | 'random' | undefined, evaluator: await evaluatorOf(o),
    onEvent, signal: controller.signal,
  };
  try {
    const r = await runSearch(opts);
    return r.status === 'done' ? 0 : 130;
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Children trained and timed here (a pool of PyTorch workers) or by `mnas worker`s behind --queue. */
async function evaluatorOf(o: SearchCliOptions): Promise<EvaluatorFactory> {
  if (!o.queue) return localEvaluator({ python: o.python, workers: intOpt(o.workers, 'workers'), backend: o.backend as TrainerBackend | undefined });
  const settings = { ...redisSettings(typeof o.queue === 'string' ? o.queue : undefined, o), attempts: intOpt(o.jobAttempts, 'job-attempts') };
  // BullMQ loads only for queued searches.
  const { queueEvaluator } = await import('../queue/queueEvaluator');
  return queueEvaluator(settings);
}

export function report(runDir: string, json: boolean): string {
  const p = runPaths(path.resolve(runDir));
  if (!fs.existsSync(p.info)) throw new CliError(`${runDir} is not a run folder (no run.json).`);
  const info = JSON.parse(fs.readFileSync(p.info, 'utf8')) as RunInfo;
  const entries = readJournal<ChildRecord | { type: string }>(p.journal).entries;
  const children = entries.filter((e): e is ChildRecord => e.type === 'child');
  const failed = entries.filter((e) => e.type === 'failed').length;
  const ranked = [...children].sort((a, b) => b.reward - a.reward);
  const front = paretoFront(children);
  const final = finalTable(readFullRecords(p.dir), info.config.targetMs);
  if (json) return JSON.stringify({ run: p.dir, search: info.search, strategy: info.strategy, children: children.length, failed, total: info.children, best: ranked.slice(0, 5), pareto: front.map((c) => c.id), final }, null, 2);
  const rows = ranked.slice(0, 10).map((c, i) => [String(i + 1), String(c.id), c.reward.toFixed(4), `${(100 * c.accuracy).toFixed(2)}%`, `${c.latencyMs.toFixed(3)} ms`, int(c.params), int(c.multAdds), front.includes(c) ? 'yes' : '']);
  return [
    `run ${p.dir}`,
    `search ${info.search} (${info.strategy}, seed ${info.seed}): ${children.length}/${info.children} children, ${failed} failed; target ${Number(info.config.targetMs.toPrecision(4))} ms${info.target ? ` (${info.target.factor}x ${info.target.model})` : ''}, reward ${info.config.reward.preset}`,
    `backend: ${info.backend.trainer}; controller ${info.backend.controller}; latency ${info.backend.latency}; data: ${info.dataset.split}`,
    '',
    table(['rank', 'child', 'reward', 'accuracy', 'latency', 'params', 'mult-adds', 'pareto'], rows, [true, true, true, true, true, true, true, false]),
    ...(final ? ['', renderFinal(final, info.config.targetMs)] : []),
  ].join('\n');
}

const pct = (v: number | null) => (v === null ? '-' : `${(100 * v).toFixed(2)}%`);

/** The paper's table: every fully trained network, fastest first, and the verdict against the skeleton. */
export function renderFinal(f: FinalTable, targetMs: number): string {
  const rows = f.rows.map((r) => [
    r.kind === 'baseline' ? `${r.name} (skeleton)` : `${r.name} (child ${r.id})`, int(r.params), int(r.multAdds),
    r.latencyMs === null ? '-' : `${r.latencyMs.toFixed(3)} ms`, pct(r.proxyAccuracy), pct(r.accuracy), r.underTarget ? 'yes' : '',
  ]);
  const c = f.comparison;
  const verdict = c
    ? `best child under ${targetMs} ms: ${c.child.name} ${pct(c.child.accuracy)} at ${c.child.latencyMs?.toFixed(3)} ms vs skeleton ${c.baseline.name} ${pct(c.baseline.accuracy)} at ${c.baseline.latencyMs?.toFixed(3) ?? '-'} ms: ` +
      `${c.accuracyGain >= 0 ? '+' : ''}${(100 * c.accuracyGain).toFixed(2)} points${c.latencyRatio !== null ? `, ${c.latencyRatio.toFixed(2)}x the latency` : ''}`
    : `no comparison yet: ${f.note}`;
  return [
    `full training (${f.recipe}; ${f.dataset})`,
    table(['model', 'params', 'mult-adds', 'latency', 'proxy acc', 'full acc', `under ${targetMs} ms`], rows, [false, true, true, true, true, true, false]),
    verdict,
  ].join('\n');
}
