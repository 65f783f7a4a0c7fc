// Search overhead per child: controller sampling + PPO update + journal/checkpoint writes (the
// engine's own overheadMs) as a share of child evaluation time (evaluationMs), on the quickstart
// search with the RL strategy and the real PyTorch evaluator. Also the controller's sample and
// update time per batch: timed inside the search (wrapping Controller.prototype methods), and in
// a short loop on a controller of the same space and settings for more repeats.
import { loadSearch } from '../server/src/search/searchInput';
import { decisions as spaceDecisions } from '../server/src/language/space';
import { loadTf } from '../server/src/platform/tfjs';
import { Controller } from '../server/src/search/controller/controller';
import { hyperOf } from '../server/src/search/controller/hyper';
import { runSearch } from '../server/src/search/engine';
import { LocalEvaluator } from '../server/src/search/evaluator';
import { Rng } from '../server/src/util/rng';
import { type BenchResult, type Metric, report, round, summarize, time } from './lib/result';
import { deriveQuickstart, LoadSampler, loadavg, pythonFacts, runsDir, useBenchCache } from './lib/search';

const CHILDREN = 16;
const TRAIN = 1000;
const TEST = 500;
const WIDTH = 0.25;

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const out = runsDir('search-overhead');
  const file = deriveQuickstart('overhead-quickstart', [
    [/train 4000/, `train ${TRAIN}`], [/width 0\.5/, `width ${WIDTH}`], [/test 1000/, `test ${TEST}`], [/children 24/, `children ${CHILDREN}`],
  ]);
  const { tf, backend } = await loadTf();
  const load0 = loadavg();
  const sampler = new LoadSampler();

  // Per-call timing inside the real search.
  const inSample: number[] = [];
  const inUpdate: number[] = [];
  const proto = Controller.prototype;
  const origSample = proto.sample;
  const origUpdate = proto.update;
  proto.sample = function (this: Controller, ...a: Parameters<Controller['sample']>) {
    const t0 = performance.now();
    try { return origSample.apply(this, a); } finally { inSample.push(performance.now() - t0); }
  };
  proto.update = function (this: Controller, ...a: Parameters<Controller['update']>) {
    const t0 = performance.now();
    try { return origUpdate.apply(this, a); } finally { inUpdate.push(performance.now() - t0); }
  };
  const local = await LocalEvaluator.start({ latency: { kind: 'local' } });
  let res: Awaited<ReturnType<typeof runSearch>>;
  const t0 = performance.now();
  try {
    res = await runSearch({ file, out, strategy: 'rl', cacheDir, evaluator: local });
  } finally {
    proto.sample = origSample;
    proto.update = origUpdate;
    await local.close();
  }
  const wall = performance.now() - t0;
  const o = res.overheadMs;
  const overhead = o.sample + o.update + o.journal;
  const share = (100 * overhead) / res.evaluationMs;

  // More repeats of sample(8) and update(8) on a controller of the same space and settings.
  const { config, space } = loadSearch(file);
  const c = config.controller;
  const ctl = new Controller(tf, spaceDecisions(space).map((d) => ({ key: d.key, options: d.options })), {
    seed: 7, ...hyperOf(c),
  });
  const rng = new Rng(7);
  const sampleMs = await time(() => ctl.sample(c.batch, rng), 2, 15);
  const updateMs = await time(() => {
    const s = ctl.sample(c.batch, rng);
    ctl.update(s.map((x, i) => ({ actions: x.actions, logProbOld: x.logProb, reward: 0.9 + 0.01 * ((i * 7) % 5) })));
  }, 2, 15);
  ctl.dispose();
  const load = sampler.stop();
  const ss = summarize(sampleMs);
  const us = summarize(updateMs);
  // The first sample() and update() of a process pay tf's kernel set-up and JIT warm-up.
  const warmShare = (100 * (overhead - inSample[0] - inUpdate[0])) / res.evaluationMs;
  const perChild = res.evaluationMs / res.children.length;
  const metrics: Metric[] = [
    { name: 'overhead_share_of_evaluation', value: round(share), unit: '%', goal: '< 2', met: share < 2 },
    report('overhead_sample_total', o.sample, 'ms'),
    report('overhead_update_total', o.update, 'ms'),
    report('overhead_journal_total', o.journal, 'ms'),
    report('overhead_per_child', overhead / res.children.length, 'ms'),
    report('evaluation_per_child', perChild, 'ms'),
    report('overhead_share_after_first_batch', warmShare, '%'),
    report('in_search_sample_first_batch', inSample[0], 'ms'),
    report('in_search_sample_later_batches_max', Math.max(...inSample.slice(1)), 'ms'),
    report('in_search_update_first_batch', inUpdate[0], 'ms'),
    report('in_search_update_later_batches_max', Math.max(...inUpdate.slice(1)), 'ms'),
    report('sample_per_batch_min', ss.min, 'ms'),
    report('sample_per_batch_median', ss.median, 'ms'),
    report('sample_per_batch_p95', ss.p95, 'ms'),
    report('update_per_batch_min', us.min, 'ms'),
    report('update_per_batch_median', us.median, 'ms'),
    report('update_per_batch_p95', us.p95, 'ms'),
  ];
  return {
    benchmark: 'search-overhead',
    metrics,
    machine: { ...pythonFacts(), controller: backend, load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes: `runSearch, RL, examples/search-quickstart.mnas shortened to ${CHILDREN} children (controller batch ${c.batch}: ${inUpdate.length} updates) with train ${TRAIN}, test ${TEST} ` +
      `and dataset width ${WIDTH} (the full quickstart takes 25-55 s per child on this loaded machine); real LocalEvaluator (1 PyTorch worker, 2 threads, local latency). ` +
      'Cheaper children make the overhead share larger, so this is an upper bound for the full quickstart. overhead = runSearch overheadMs (sample + update + journal ' +
      'appends, controller checkpoints); evaluationMs = wall time of the batches\' evaluations. Not counted by the engine: writeSummaries after each batch and costOf/printModel per child. ' +
      `in_search_* = each Controller.sample/update call inside that search (n = ${inSample.length}/${inUpdate.length}); overhead_share_after_first_batch leaves out the first sample and update calls (one-off tf warm-up); sample_/update_per_batch = 2 warm-ups + 15 repeats on a ` +
      `controller of the same space (${spaceDecisions(space).length} decisions, hidden ${c.hidden}, ${c.epochs} PPO epochs, batch ${c.batch}); the update repeat includes one sample. ` +
      `Whole search ${(wall / 1000).toFixed(0)} s; 1-min load average ${load.min}-${load.max}.`,
  };
}
