// `mnas train`: train networks fully after a search (server/src/final/): the top children of a
// run and the space's skeleton, or one model of a .mnas file. One progress bar per network on a
// terminal (epoch, loss, validation accuracy, time left), one line per epoch elsewhere, or
// NDJSON events (`--events ndjson`) for the extension. Ctrl-C stops; `--resume` continues from
// the last finished epoch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { SearchEntry } from '../analysis/analysis';
import type { SearchConfig } from '../language/searchConfig';
import { FULL_DEFAULTS, RECIPE_SUMMARY } from '../final/recipe';
import type { FullTrainingEvent } from '../final/events';
import { FullTrainingError, type FullTrainingOptions, runFullTraining } from '../final/fullTraining';
import { DATASET_NAMES } from '../train/datasets';
import { runPaths } from '../search/runFolder';
import { modelOf } from './export';
import { CliError, load } from './load';
import { type RedisCliOptions, redisFlags, redisSettings } from './worker';

export interface TrainCliOptions extends RedisCliOptions {
  model?: string; top?: string; child?: string[]; baseline?: boolean; epochs?: string; batch?: string; lr?: string; seed?: string;
  resume?: boolean; dataset?: string; dataPath?: string; train?: string; test?: string; out?: string; events?: string;
  python?: string; workers?: string; queue?: string | boolean;
}

function whole(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`--${name} takes a whole number >= ${min}, got '${v}'.`);
  return n;
}

/** The options of a training from the command line (exported for tests). */
export function trainOptions(target: string, o: TrainCliOptions): FullTrainingOptions {
  if (o.events && o.events !== 'ndjson') throw new CliError(`--events takes 'ndjson', got '${o.events}'.`);
  const lr = o.lr === undefined ? undefined : Number(o.lr);
  if (lr !== undefined && !(lr > 0 && lr <= 10)) throw new CliError(`--lr takes a number in (0, 10], got '${o.lr}'.`);
  let dataset: SearchConfig['dataset'] | undefined;
  if (o.dataset) {
    if (!(DATASET_NAMES as readonly string[]).includes(o.dataset)) throw new CliError(`--dataset ${o.dataset}: unknown; known: ${DATASET_NAMES.join(', ')}.`);
    dataset = { name: o.dataset, train: 1, test: 1, ...(o.dataPath ? { path: path.resolve(o.dataPath) } : {}) };
  } else if (o.dataPath) {
    throw new CliError('--data-path goes with --dataset (e.g. --dataset cifar10 --data-path data/cifar-10-batches-bin).');
  }
  const common: FullTrainingOptions = {
    recipe: { epochs: whole(o.epochs, 'epochs'), batchSize: whole(o.batch, 'batch'), lr },
    seed: whole(o.seed, 'seed', 0), resume: !!o.resume, dataset,
    sizes: { train: whole(o.train, 'train'), test: whole(o.test, 'test') },
    python: o.python, workers: whole(o.workers, 'workers'),
    ...(o.queue ? { queue: redisSettings(typeof o.queue === 'string' ? o.queue : undefined, o) } : {}),
  };
  if (o.queue && o.workers !== undefined) throw new CliError('--workers sizes the local pool; with --queue, start `mnas worker --redis URL` on each machine instead.');
  if (!fs.existsSync(target)) throw new CliError(`${target}: no such run folder or .mnas file.`);
  if (fs.statSync(target).isDirectory()) {
    if (!fs.existsSync(runPaths(target).info)) throw new CliError(`${target} is not a run folder (no run.json). Pass the folder \`mnas search\` created, or a .mnas file with --model NAME.`);
    if (o.model) throw new CliError('--model goes with a .mnas file; a run folder takes --top K or --child ID.');
    if (o.out) throw new CliError('--out goes with a .mnas file; a run\'s results are written into the run folder.');
    const children = o.child?.map((c) => whole(c, 'child', 0)!);
    return { ...common, run: target, top: whole(o.top, 'top') ?? 3, children, baseline: o.baseline !== false };
  }
  if (o.top || o.child) throw new CliError('--top and --child go with a run folder; a .mnas file takes --model NAME.');
  const entry = modelOf(target, o.model);
  const a = load(target);
  const search = [...a.local.values()].find((e): e is SearchEntry => e.kind === 'search');
  const config = search?.resolution.config ?? null;
  const name = entry.node.name.value;
  return { ...common, model: { spec: entry.resolved.spec, file: target, config, out: o.out ?? path.join('mnas-runs', `${name}-full`) } };
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);

export async function trainCommand(target: string, o: TrainCliOptions): Promise<number> {
  const opts = trainOptions(target, o);
  const controller = new AbortController();
  let interrupted = 0;
  const onSignal = () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    process.stderr.write('\nmnas: stopping; each network keeps its last finished epoch. Continue with --resume (Ctrl-C again to quit now).\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const tty = process.stdout.isTTY && !o.events;
  let multi: cliProgress.MultiBar | undefined;
  const bars = new Map<string, cliProgress.SingleBar>();
  const say = (line: string) => (multi ? multi.log(`${line}\n`) : console.log(line));
  const onEvent = (e: FullTrainingEvent) => {
    if (o.events) {
      process.stdout.write(JSON.stringify(e) + '\n');
      return;
    }
    switch (e.event) {
      case 'start':
        console.log(`mnas train -> ${path.relative(process.cwd(), e.out) || e.out}: ${e.jobs.map((j) => `${j.key} (${j.name})${j.resume ? ' resumed' : ''}`).join(', ') || 'nothing to do'}`);
        for (const s of e.skipped) console.log(`  ${s.key}: ${s.why}`);
        console.log(`  data: ${e.dataset}`);
        console.log(`  recipe: ${e.recipe.epochs} epochs, batch ${e.recipe.batchSize}, lr ${e.recipe.lr}, ${e.recipe.emaDecay ? `EMA ${e.recipe.emaDecay.toFixed(4)}` : 'no EMA'}, crop pad ${e.recipe.cropPadding}${e.recipe.flip ? ' + flips' : ''}; ${e.backend}`);
        if (tty) multi = new cliProgress.MultiBar({
          format: '  {key} {bar} epoch {value}/{total} | loss {loss} | val {val} | ETA {eta_formatted}', hideCursor: true, clearOnComplete: false,
        }, cliProgress.Presets.shades_classic);
        break;
      case 'begin':
        if (multi) bars.set(e.key, multi.create(e.epochs, 0, { key: e.key.padEnd(10), loss: '-', val: '-' }));
        else console.log(`  ${e.key} (${e.name}): ${e.epochs} epochs`);
        break;
      case 'resumed':
        if (bars.get(e.key)) bars.get(e.key)!.update(e.epoch);
        say(`  ${e.key}: resumed after epoch ${e.epoch}/${e.epochs}`);
        break;
      case 'epoch': {
        const val = e.valAccuracyEma !== null && e.valAccuracy !== null ? Math.max(e.valAccuracy, e.valAccuracyEma) : e.valAccuracy;
        const bar = bars.get(e.key);
        if (bar) bar.update(e.epoch, { loss: e.loss.toFixed(3), val: pct(val) });
        else {
          const left = (e.elapsed / e.epoch) * (e.epochs - e.epoch);
          console.log(`  ${e.key} epoch ${e.epoch}/${e.epochs}: loss ${e.loss.toFixed(3)}, train ${pct(e.trainAccuracy)}, val ${pct(val)}, ${e.seconds.toFixed(1)} s, about ${Math.round(left)} s left`);
        }
        break;
      }
      case 'trained':
        say(`  ${e.key} (${e.name}): test accuracy ${pct(e.accuracy)} (best epoch; last ${pct(e.lastAccuracy)}), proxy ${pct(e.proxyAccuracy)}, latency ${e.latencyMs?.toFixed(3) ?? '-'} ms -> ${path.relative(process.cwd(), e.dir) || e.dir}`);
        break;
      case 'failed':
        say(`  ${e.key} failed: ${e.error}`);
        break;
      case 'warning':
        say(`  warning: ${e.message}`);
        break;
      case 'done':
        multi?.stop();
        console.log(`${e.status}: ${e.trained} trained, ${e.failed} failed in ${e.seconds.toFixed(0)} s${e.status === 'stopped' ? '; continue with --resume' : ''}`);
        if (opts.run) console.log(`  compare: mnas report ${path.relative(process.cwd(), path.resolve(opts.run)) || opts.run}`);
        break;
      default:
        break;
    }
  };
  try {
    const r = await runFullTraining({ ...opts, onEvent, signal: controller.signal });
    return r.status === 'done' ? 0 : r.status === 'stopped' ? 130 : 1;
  } catch (e) {
    if (e instanceof FullTrainingError) throw new CliError(e.message);
    throw e;
  } finally {
    multi?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function register(program: Command): void {
  const cmd = program.command('train')
    .description('Train networks fully after a search: the top children of a run and its skeleton (the baseline), or a model of a .mnas file.')
    .argument('<target>', 'a run folder (its best children and skeleton) or a .mnas file (with --model NAME)')
    .option('--model <name>', 'with a .mnas file: which model (default: the only one)')
    .option('--top <k>', 'with a run: the best k children, ranked by reward, those under the latency target first (default 3)')
    .option('--child <ids...>', 'with a run: these children instead of the top k')
    .option('--no-baseline', 'with a run: do not train the space\'s skeleton')
    .option('--epochs <n>', `epochs (default ${FULL_DEFAULTS.epochs})`)
    .option('--batch <n>', `batch size (default ${FULL_DEFAULTS.batchSize}; the learning rate scales with it)`)
    .option('--lr <x>', 'peak learning rate (default 0.1 x batch/128)')
    .option('--seed <n>', 'seed of the initialisation, data order and augmentation (default the run\'s)')
    .option('--resume', 'continue unfinished trainings from their last checkpoint (after Ctrl-C or a kill)')
    .option('--dataset <name>', `train on another dataset than the search's: ${DATASET_NAMES.join(', ')}`)
    .option('--data-path <dir>', 'with --dataset folder or cifar10: its folder')
    .option('--train <n>', 'training images (default: the whole dataset)')
    .option('--test <n>', 'held-out test images (default: the whole test split)')
    .option('--out <dir>', 'with a .mnas file: the output folder (default mnas-runs/<model>-full)')
    .option('--events <ndjson>', 'machine-readable events on stdout, one JSON object per line')
    .option('--python <path>', 'Python interpreter with torch (default: MNAS_PYTHON, /usr/bin/python3, python3)')
    .option('--workers <n>', 'networks trained at once (default: one per 2 cores)')
    .option('--queue [url]', 'train on `mnas worker` processes through Redis, one long job per network (default: MNAS_REDIS_URL)')
    .addHelpText('after', `\nRecipe: ${RECIPE_SUMMARY}.\nResults: RUN/children/<id>/full.json and weights-full.pt, RUN/baseline/ for the skeleton; \`mnas report RUN\` compares them, \`mnas export --weights RUN/<id>\` exports the fully trained weights.`);
  redisFlags(cmd).action(async (target: string, o: TrainCliOptions) => {
    process.exitCode = await trainCommand(target, o);
  });
}
