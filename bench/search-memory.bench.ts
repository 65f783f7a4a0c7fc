// Memory across a 200-child RL search: tf.memory().numTensors and the process RSS, sampled after
// every batch (PPO update). Training 200 children for real is far too slow here, so the search
// runs with an injected Evaluator that answers instantly from a cheap deterministic function of
// the architecture: this measures the controller, the journal and the engine, not training.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { costOf } from '../server/src/cost/model';
import { loadTf } from '../server/src/platform/tfjs';
import { runSearch } from '../server/src/search/engine';
import type { ChildEvaluation, ChildJob, Evaluator } from '../server/src/search/evaluator';
import type { Arch } from '../server/src/language/arch';
import type { LatencyMeasurement } from '../server/src/util/timing';
import { type BenchResult, type Metric, report, round } from './lib/result';
import { deriveQuickstart, LoadSampler, loadavg, runsDir, slope, useBenchCache } from './lib/search';

const CHILDREN = 200;
/** Children before the first sample that counts (tf kernels, Adam moments, caches). */
const WARMUP = 16;

/** Accuracy and latency from the architecture alone, deterministic, instant. */
class FormulaEvaluator implements Evaluator {
  readonly backend = 'formula (no training)';
  async evaluate(job: ChildJob): Promise<ChildEvaluation> {
    const cost = costOf(job.full);
    const accuracy = Math.min(0.99, 0.8 + 0.03 * Math.log10(cost.params));
    return {
      accuracy, attempts: 1,
      train: { trainSeconds: 0.001, evalSeconds: 0, imagesPerSecond: 1, params: cost.params, weightsPath: '', loss: [], diverged: false, threads: 1 },
      latency: await this.measureLatency(job.full),
    };
  }
  async measureLatency(arch: Arch): Promise<LatencyMeasurement> {
    const ms = costOf(arch).multAdds / 5e6;
    return { ms, median: ms, min: ms, max: ms, spread: 0, repeats: 1, source: 'formula' };
  }
  async close(): Promise<void> {}
}

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const out = runsDir('search-memory');
  const file = deriveQuickstart('memory-quickstart', [[/children 24/, `children ${CHILDREN}`]]);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as (() => void) | undefined;
  const { tf, backend } = await loadTf();
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const samples: { children: number; numTensors: number; rssMB: number; heapMB: number }[] = [];
  let done = 0;
  const take = () => {
    gc?.();
    const m = process.memoryUsage();
    samples.push({ children: done, numTensors: tf.memory().numTensors, rssMB: m.rss / 2 ** 20, heapMB: m.heapUsed / 2 ** 20 });
  };
  const tensorsBefore = tf.memory().numTensors;
  const t0 = performance.now();
  const res = await runSearch({
    file, out, strategy: 'rl', cacheDir, evaluator: new FormulaEvaluator(),
    onEvent: (e) => {
      if (e.event === 'child') done = e.done;
      if (e.event === 'update') take();
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const tensorsAfter = tf.memory().numTensors;
  const load = sampler.stop();
  if (res.children.length !== CHILDREN) throw new Error(`expected ${CHILDREN} children, got ${res.children.length}`);
  const after = samples.filter((s) => s.children >= WARMUP);
  const mid = after[Math.floor(after.length / 2)];
  const first = after[0];
  const last = after[after.length - 1];
  const tensorRange = Math.max(...after.map((s) => s.numTensors)) - Math.min(...after.map((s) => s.numTensors));
  const rssSlope = slope(after.map((s) => s.children), after.map((s) => s.rssMB)) * 100;
  const heapSlope = slope(after.map((s) => s.children), after.map((s) => s.heapMB)) * 100;
  const growth = last.rssMB - first.rssMB;
  const metrics: Metric[] = [
    report('num_tensors_start', first.numTensors, 'tensors'),
    report('num_tensors_middle', mid.numTensors, 'tensors'),
    report('num_tensors_end', last.numTensors, 'tensors'),
    { name: 'num_tensors_change_after_warmup', value: tensorRange, unit: 'tensors', goal: '= 0', met: tensorRange === 0 },
    report('num_tensors_after_dispose', tensorsAfter - tensorsBefore, 'tensors'),
    { name: 'rss_growth', value: round(growth, 1), unit: 'MB', goal: '< 20', met: growth < 20 },
    report('rss_slope_per_100_children', rssSlope, 'MB'),
    report('heap_used_slope_per_100_children', heapSlope, 'MB'),
    report('rss_start', first.rssMB, 'MB'),
    report('rss_end', last.rssMB, 'MB'),
  ];
  return {
    benchmark: 'search-memory',
    metrics,
    machine: { controller: backend, load_start: load0.join(' '), load1_during: `${load.min}-${load.max}` },
    notes: `runSearch, RL, ${CHILDREN} children of examples/search-quickstart.mnas (budget raised to ${CHILDREN}; controller batch 8, so ${CHILDREN / 8} PPO updates and checkpoints), ` +
      'with an injected Evaluator that returns instantly (accuracy from log10(params), latency = mult-adds / 5e6 ms): this measures the controller, journal and engine, ' +
      `not training (no PyTorch worker runs). Sampled after each update event, after a forced GC (v8 --expose-gc set at runtime${gc ? '' : '; unavailable here'}); ` +
      `"start" is the first sample after ${WARMUP} warm-up children, "end" after child ${CHILDREN}. num_tensors_after_dispose = tensors left after runSearch returned (controller disposed) minus before. ` +
      `Search took ${seconds.toFixed(1)} s. Slopes are least squares over the post-warm-up samples.`,
  };
}
