// `mnas train` on a real run: the top child and the skeleton trained fully, results beside
// them (full.json, weights-full.pt), the comparison in `mnas report`; and kill -9 of the CLI
// mid-training, then --resume continues from the last finished epoch. The kill hits only the
// CLI process: its PyTorch worker must stop too (its next progress line meets a closed pipe),
// or an orphan would go on writing the checkpoint the resumed run writes.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { FullRecord } from '../../server/src/final/store';

const FIXTURE = path.resolve('test/fixtures/tiny-search.mnas');
const CLI = path.resolve('dist/cli.cjs');

before(() => { execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }); });

type Ev = Record<string, unknown>;
function cli(args: string[], env: NodeJS.ProcessEnv, onEvent?: (e: Ev) => boolean) {
  const child = spawn(process.execPath, [CLI, ...args, '--events', 'ndjson'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Ev[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line) as Ev;
    events.push(e);
    if (onEvent?.(e)) process.kill(child.pid!, 'SIGKILL');
  });
  return {
    pid: child.pid!,
    done: new Promise<{ code: number | null; signal: string | null; events: Ev[]; stderr: string }>((resolve) => {
      child.on('exit', (code, signal) => setTimeout(() => resolve({ code, signal, events, stderr }), 50));
    }),
  };
}

const groupAlive = (pgid: number) => { try { process.kill(-pgid, 0); return true; } catch { return false; } };

test('mnas train RUN: kill -9 mid-training, --resume continues; full.json beside the child; report compares with the skeleton', { timeout: 900_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-train-'));
  const env = { ...process.env, MNAS_CACHE: path.join(out, 'cache') };
  const search = await cli(['search', FIXTURE, '--out', out], env).done;
  assert.equal(search.code, 0, search.stderr);
  const run = String(search.events.find((e) => e.event === 'start')!.run);
  const args = ['train', run, '--top', '1', '--epochs', '4', '--train', '1000', '--test', '300', '--batch', '64'];

  let epochs = 0;
  const first = cli(args, env, (e) => e.event === 'epoch' && e.key !== 'baseline' && ++epochs === 2);
  const killed = await first.done;
  assert.equal(killed.signal, 'SIGKILL', killed.stderr);
  // The worker notices its parent is gone within a batch and exits: nothing is left in the group.
  const t0 = Date.now();
  while (groupAlive(first.pid) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 200));
  assert.equal(groupAlive(first.pid), false, 'no process of the killed CLI survives (the PyTorch worker stopped too)');
  const start = killed.events.find((e) => e.event === 'start') as { jobs: { key: string; dir: string }[] };
  const childJob = start.jobs.find((j) => j.key.startsWith('child '))!;
  assert.ok(fs.existsSync(path.join(childJob.dir, 'checkpoint-full.pt')), 'a checkpoint was written');
  assert.ok(!fs.existsSync(path.join(childJob.dir, 'full.json')), 'no result yet');

  // Without --resume the unfinished training is not silently restarted.
  const refused = await cli(args, env).done;
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /unfinished full training .*--resume/);

  const second = await cli([...args, '--resume'], env).done;
  assert.equal(second.code, 0, second.stderr);
  const resumed = second.events.find((e) => e.event === 'resumed' && e.key === childJob.key);
  // Killed right after epoch 2 was reported: an orphaned worker would have gone on to epoch 4.
  assert.equal(resumed?.epoch, 2, 'resumed after the last epoch finished before the kill');
  const childEpochs = second.events.filter((e) => e.event === 'epoch' && e.key === childJob.key).map((e) => e.epoch);
  assert.deepEqual(childEpochs, Array.from({ length: 4 - Number(resumed!.epoch) }, (_, i) => Number(resumed!.epoch) + 1 + i), 'only the remaining epochs ran');

  const rec = JSON.parse(fs.readFileSync(path.join(childJob.dir, 'full.json'), 'utf8')) as FullRecord;
  assert.equal(rec.epochs.length, 4);
  assert.equal(rec.target.kind, 'child');
  assert.ok(rec.accuracy > 0.3, `full accuracy ${rec.accuracy}`);
  assert.ok(rec.proxyAccuracy !== null && rec.latencyMs !== null && rec.latencyMs > 0);
  // Re-timed with the skeleton in the same session; the search's own figure is kept beside it.
  const searched = fs.readFileSync(path.join(run, 'journal.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; id: number; latencyMs: number })
    .find((e) => e.type === 'child' && e.id === (rec.target as { id: number }).id)!;
  assert.equal(rec.searchLatencyMs, searched.latencyMs);
  assert.ok(fs.existsSync(path.join(childJob.dir, 'weights-full.pt')));
  const base = JSON.parse(fs.readFileSync(path.join(run, 'baseline', 'full.json'), 'utf8')) as FullRecord;
  assert.equal(base.target.kind, 'baseline');
  assert.equal(base.name, 'T');
  assert.ok(base.latencyMs! > 0 && base.proxyAccuracy !== null, 'the skeleton is timed and has a proxy accuracy');

  const report = execFileSync(process.execPath, [CLI, 'report', run], { env, encoding: 'utf8' });
  assert.match(report, /full training \(4 epochs/);
  assert.match(report, /T \(skeleton\)/);
  assert.match(report, /proxy acc\s+full acc/);
  assert.match(report, /best child under 1 ms: .* vs skeleton T /);
  const json = JSON.parse(execFileSync(process.execPath, [CLI, 'report', run, '--json'], { env, encoding: 'utf8' })) as { final: { rows: unknown[]; comparison: unknown } };
  assert.equal(json.final.rows.length, 2);
  assert.ok(json.final.comparison);
  fs.rmSync(out, { recursive: true, force: true });
});
