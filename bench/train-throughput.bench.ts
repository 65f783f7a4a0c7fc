// Child training throughput inside the search vs the same model in a plain PyTorch loop.
// Search side: runSearch (random strategy, so the sampled architectures depend only on the seed)
// with the real LocalEvaluator; images/s as the worker reports it through the evaluator into
// the child records. Plain side: bench/lib/plain_train.py on the very same proxy archs, data
// files, batch size, optimizer, threads and epochs. Rounds alternate which side goes first.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runSearch } from '../server/src/search/engine';
import { type ChildEvaluation, type ChildJob, type Evaluator, LocalEvaluator } from '../server/src/search/evaluator';
import type { LatencyMeasurement } from '../server/src/util/timing';
import { type BenchResult, type Metric, report, round, summarize } from './lib/result';
import { deriveQuickstart, LoadSampler, loadavg, PYTHON, pythonFacts, RecordingEvaluator, ROOT, runsDir, useBenchCache } from './lib/search';

const ROUNDS = 4;
const CHILDREN = 3;
const TRAIN = 2000;
const WIDTH = 0.25;

/** Records the jobs without training: gives the archs a seed will sample, in advance. */
class PeekEvaluator implements Evaluator {
  readonly backend = 'peek';
  readonly jobs: ChildJob[] = [];
  async evaluate(job: ChildJob): Promise<ChildEvaluation> {
    this.jobs.push(job);
    return {
      accuracy: 0.5, attempts: 1,
      train: { trainSeconds: 0, evalSeconds: 0, imagesPerSecond: 0, params: 0, weightsPath: '', loss: [], diverged: false, threads: 1 },
      latency: await this.measureLatency(),
    };
  }
  async measureLatency(): Promise<LatencyMeasurement> {
    return { ms: 1, median: 1, min: 1, max: 1, spread: 0, repeats: 1, source: 'peek' };
  }
  async close(): Promise<void> {}
}

interface PlainResult { arch: string; imagesPerSecond: number; trainSeconds: number }

function plain(archFiles: string[], job: ChildJob, threads: number): PlainResult[] {
  const cfg = {
    workerDir: path.join(ROOT, 'server', 'python'), archs: archFiles, trainPath: job.data.trainPath, batch: job.recipe.batchSize,
    epochs: job.recipe.epochs, lr: job.recipe.lr, bnMomentum: job.recipe.bnMomentum, threads, seed: job.seed, warmupSteps: 5,
  };
  const r = spawnSync(PYTHON, [path.join(ROOT, 'bench', 'lib', 'plain_train.py'), JSON.stringify(cfg)], {
    encoding: 'utf8', env: { OMP_WAIT_POLICY: 'PASSIVE', ...process.env, PYTHONDONTWRITEBYTECODE: '1' }, maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`plain_train.py failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as PlainResult);
}

export async function run(): Promise<BenchResult> {
  const cacheDir = useBenchCache();
  const out = runsDir('train-throughput');
  const file = deriveQuickstart('throughput-quickstart', [[/train 4000/, `train ${TRAIN}`], [/width 0\.5/, `width ${WIDTH}`]]);
  const load0 = loadavg();
  const sampler = new LoadSampler();
  const local = await LocalEvaluator.start({ latency: { kind: 'local' } });
  const threads = 2; // LocalEvaluator's default on 2 cores: one worker, cores / workers threads
  const search: number[] = [];
  const reference: number[] = [];
  const ratios: number[] = [];
  const endToEnd: number[] = [];
  try {
    // Warm-up: one child through the search side (worker start-up, first-call costs).
    await runSearch({ file, out, budget: 1, strategy: 'random', seed: 999, cacheDir, evaluator: new RecordingEvaluator(local) });
    for (let r = 0; r < ROUNDS; r++) {
      const seed = 101 + r;
      const peek = new PeekEvaluator();
      await runSearch({ file, out, budget: CHILDREN, strategy: 'random', seed, cacheDir, evaluator: peek });
      const dir = path.join(out, `plain-${seed}`);
      fs.mkdirSync(dir, { recursive: true });
      const archFiles = peek.jobs.sort((a, b) => a.id - b.id).map((j) => {
        const f = path.join(dir, `arch-${j.id}.json`);
        fs.writeFileSync(f, JSON.stringify(j.proxy));
        return f;
      });
      let plainRes: PlainResult[] = [];
      let searchIps: number[] = [];
      const doPlain = () => { plainRes = plain(archFiles, peek.jobs[0], threads); };
      const doSearch = async () => {
        const rec = new RecordingEvaluator(local);
        const res = await runSearch({ file, out, budget: CHILDREN, strategy: 'random', seed, cacheDir, evaluator: rec });
        const byId = new Map(res.children.map((c) => [c.id, c]));
        searchIps = peek.jobs.map((j) => byId.get(j.id)!.imagesPerSecond);
        for (const j of rec.jobs) endToEnd.push((j.job.data.train * j.job.recipe.epochs) / (j.ms / 1000));
        // Same archs on both sides, or the ratio means nothing.
        for (const j of rec.jobs) {
          const p = peek.jobs.find((q) => q.id === j.job.id)!;
          if (JSON.stringify(p.proxy) !== JSON.stringify(j.job.proxy)) throw new Error(`round ${r}: child ${j.job.id} differs between peek and search`);
        }
      };
      if (r % 2 === 0) { await doSearch(); doPlain(); } else { doPlain(); await doSearch(); }
      for (let i = 0; i < CHILDREN; i++) {
        search.push(searchIps[i]);
        reference.push(plainRes[i].imagesPerSecond);
        ratios.push(searchIps[i] / plainRes[i].imagesPerSecond);
      }
      console.log(`  round ${r + 1}/${ROUNDS}: search ${searchIps.map((v) => v.toFixed(0)).join(', ')} img/s; plain ${plainRes.map((p) => p.imagesPerSecond.toFixed(0)).join(', ')} img/s`);
    }
  } finally {
    await local.close();
  }
  const load = sampler.stop();
  const s = summarize(search);
  const p = summarize(reference);
  const q = summarize(ratios);
  const e = summarize(endToEnd);
  const metrics: Metric[] = [
    { name: 'search_over_plain_median', value: round(q.median), unit: 'ratio', goal: '>= 0.9', met: q.median >= 0.9 },
    report('search_over_plain_min', q.min, 'ratio'),
    report('search_over_plain_p95', q.p95, 'ratio'),
    report('search_images_per_s_median', s.median, 'images/s'),
    report('search_images_per_s_min', s.min, 'images/s'),
    report('search_images_per_s_p95', s.p95, 'images/s'),
    report('plain_images_per_s_median', p.median, 'images/s'),
    report('plain_images_per_s_min', p.min, 'images/s'),
    report('plain_images_per_s_p95', p.p95, 'images/s'),
    report('child_end_to_end_images_per_s_median', e.median, 'images/s'),
  ];
  return {
    benchmark: 'train-throughput',
    metrics,
    machine: { ...pythonFacts(), threads, load_start: load0.join(' '), load1_during: `${load.min}-${load.max} (median ${load.median})` },
    notes: `${ROUNDS} rounds x ${CHILDREN} children (${ROUNDS * CHILDREN} pairs) after 1 warm-up child; each pair is the same proxy arch (random strategy, seeds 101-${100 + ROUNDS}, ` +
      `examples/search-quickstart.mnas with train ${TRAIN} and dataset width ${WIDTH} so a child trains in seconds here) trained 1 epoch, batch 64, Adam lr 0.01, ${threads} threads: ` +
      'search side = images/s the PyTorch worker reports through LocalEvaluator into the child record (runSearch); plain side = bench/lib/plain_train.py ' +
      '(same model from the same arch JSON, data decoded and normalized once, plain shuffle/forward/backward/step loop, 5 warm-up steps). ' +
      'Rounds alternate which side runs first. Ratio = search / plain per pair; min/median/p95 over pairs. ' +
      `child_end_to_end = train images / wall time of evaluate() (training + BN recalibration + test pass + latency timing), for context. 1-min load average ${load.min}-${load.max} during the run.`,
  };
}
