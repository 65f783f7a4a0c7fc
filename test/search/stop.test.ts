// Ctrl-C mid-batch on a real search (the CLI as a process group with its PyTorch workers, as a
// terminal delivers it): the search stops within seconds instead of training the rest of the
// batch, journals every child whose training had finished, says what --resume will redo, and
// the resume trains only the children that were not trained.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { readJournal } from '../../server/src/util/journal';

const FIXTURE = path.resolve('test/fixtures/stop-search.mnas');
const CLI = path.resolve('dist/cli.cjs');

before(() => { execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }); });

type Event = Record<string, unknown> & { event: string };

/** The CLI with NDJSON events; `onEvent` may return true to send SIGINT to its process group (Ctrl-C). */
function run(args: string[], env: NodeJS.ProcessEnv, onEvent?: (e: Event) => boolean) {
  const child = spawn(process.execPath, [CLI, 'search', ...args, '--events', 'ndjson'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Event[] = [];
  let stderr = '';
  let interruptedAt = 0;
  child.stderr.on('data', (d) => { stderr += d; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line) as Event;
    events.push(e);
    if (!interruptedAt && onEvent?.(e)) {
      interruptedAt = Date.now();
      process.kill(-child.pid!, 'SIGINT');
    }
  });
  return new Promise<{ code: number | null; events: Event[]; stderr: string; stopSeconds: number }>((resolve) => {
    child.on('exit', (code) => {
      const stopSeconds = interruptedAt ? (Date.now() - interruptedAt) / 1000 : NaN;
      setTimeout(() => resolve({ code, events, stderr, stopSeconds }), 50);
    });
  });
}

const ids = (events: Event[], kind: string) => new Set(events.filter((e) => e.event === kind).map((e) => e.id as number));

test('Ctrl-C mid-batch: stops within seconds, keeps every trained child, resume trains only the rest', { timeout: 600_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-stop-'));
  const env = { ...process.env, MNAS_CACHE: path.join(out, 'cache') };
  try {
    // Two trainers, one batch of four: when the first child's training ends, its trainer takes a
    // third one. Ctrl-C once that third child reports progress: it is in training for sure.
    let inTraining = -1;
    const seen = { trained: new Set<number>(), training: new Set<number>() };
    const first = await run([FIXTURE, '--out', out, '--workers', '2', '--seed', '3'], env, (e) => {
      if (e.event === 'trained') seen.trained.add(e.id as number);
      if (e.event !== 'progress') return false;
      seen.training.add(e.id as number);
      if (seen.trained.size === 0 || seen.trained.has(e.id as number) || seen.training.size < 3) return false;
      inTraining = e.id as number;
      return true;
    });
    assert.equal(first.code, 130, first.stderr);
    assert.ok(inTraining >= 0, 'Ctrl-C came while a child was training');
    const run1 = String(first.events.find((e) => e.event === 'start')!.run);
    const trained = ids(first.events, 'trained');
    console.log(`# stopped ${first.stopSeconds.toFixed(1)} s after Ctrl-C; trained before the stop: ${[...trained].join(', ')}; child ${inTraining} was training (load ${os.loadavg()[0].toFixed(1)})`);
    // A child trains for several seconds here; waiting for the batch took minutes before.
    assert.ok(first.stopSeconds < 10, `stopped ${first.stopSeconds} s after Ctrl-C`);

    // The journal holds every child whose training finished (timed or not), and nothing else.
    const entries = readJournal<Event & { type: string; id: number }>(path.join(run1, 'journal.jsonl')).entries;
    const kept = new Set(entries.filter((e) => e.type === 'child' || e.type === 'trained').map((e) => e.id));
    assert.deepEqual([...kept].sort(), [...trained].sort(), 'every trained child is journaled');
    assert.ok(!kept.has(inTraining), 'the child in training is not');
    assert.ok(!entries.some((e) => e.type === 'failed'), 'a stopped child is not a failure');
    const done = first.events.find((e) => e.event === 'done') as Event & { resume: { train: number[]; time: number[]; note: string } };
    assert.equal(done.status, 'stopped');
    assert.ok(done.resume.train.includes(inTraining));
    const timed = ids(first.events, 'child');
    assert.deepEqual([...done.resume.time].sort(), [...trained].filter((id) => !timed.has(id)).sort());
    assert.match(done.resume.note, /^--resume trains .*child/);

    // Resume: only the children not trained before are trained; every child once.
    const second = await run(['--resume', run1], env);
    assert.equal(second.code, 0, second.stderr);
    const retrained = ids(second.events, 'trained');
    for (const id of trained) assert.ok(!retrained.has(id), `child ${id} was trained before the stop and is not trained again`);
    assert.ok(retrained.has(inTraining), 'the child stopped mid-training is trained');
    const final = readJournal<{ type: string; id: number }>(path.join(run1, 'journal.jsonl')).entries.filter((e) => e.type === 'child').map((e) => e.id);
    assert.deepEqual([...final].sort(), [0, 1, 2, 3], 'every child exactly once');
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
