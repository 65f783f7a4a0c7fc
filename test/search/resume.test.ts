// kill -9 of a real search process (and its workers) mid-run, then --resume: no completed
// child lost, none counted twice, the controller continues from its checkpoint.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { readJournal } from '../../server/src/util/journal';
import { execFileSync } from 'node:child_process';

// With a relative target (as the quickstart has), the run times the reference model in the TFLite
// runtime before the controller loads tfjs: the order in which two copies of tfjs-core meet.
const FIXTURE_TEXT = fs.readFileSync(path.resolve('test/fixtures/tiny-search.mnas'), 'utf8').replace('target 1ms', 'target 0.9x T');
const CLI = path.resolve('dist/cli.cjs');

// The CLI bundle is what users run; build it fresh from the sources under test.
before(() => { execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' }); });

/** Runs the CLI with NDJSON events; `onEvent` may return true to kill the process group. */
function run(args: string[], env: NodeJS.ProcessEnv, onEvent?: (e: Record<string, unknown>) => boolean) {
  const child = spawn(process.execPath, [CLI, 'search', ...args, '--events', 'ndjson'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    const e = JSON.parse(line) as Record<string, unknown>;
    events.push(e);
    if (onEvent?.(e)) process.kill(-child.pid!, 'SIGKILL');
  });
  return new Promise<{ code: number | null; signal: string | null; events: typeof events; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => setTimeout(() => resolve({ code, signal, events, stderr }), 50));
  });
}

test('kill -9 mid-run, then --resume', { timeout: 900_000 }, async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-resume-'));
  const FIXTURE = path.join(out, 'tiny-search.mnas');
  fs.writeFileSync(FIXTURE, FIXTURE_TEXT);
  const env = { ...process.env, MNAS_CACHE: path.join(out, 'cache') };
  let childEvents = 0;
  const first = await run([FIXTURE, '--out', out, '--budget', '8'], env, (e) => e.event === 'child' && ++childEvents === 3);
  assert.equal(first.signal, 'SIGKILL', first.stderr);
  const runDir = String(first.events.find((e) => e.event === 'start')!.run);
  const before = readJournal(path.join(runDir, 'journal.jsonl')).entries.filter((e) => e.type === 'child');
  assert.ok(before.length >= 3, `3 children were journaled before the kill (got ${before.length})`);

  const second = await run(['--resume', runDir], env);
  assert.equal(second.code, 0, second.stderr);
  const start = second.events.find((e) => e.event === 'start')!;
  assert.equal(start.resumed, true);
  assert.equal(start.done, before.length);
  const entries = readJournal(path.join(runDir, 'journal.jsonl')).entries;
  const ids = entries.filter((e) => e.type === 'child').map((e) => e.id as number);
  assert.deepEqual([...ids].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7], 'every child exactly once');
  // Children journaled before the kill are kept as they were.
  for (const b of before) assert.deepEqual(entries.find((e) => e.type === 'child' && e.id === b.id), b);
  const steps = entries.filter((e) => e.type === 'update').map((e) => e.step as number);
  assert.deepEqual(steps, [1, 2, 3, 4], 'one controller update per batch, none twice');
  const ckpt = JSON.parse(fs.readFileSync(path.join(runDir, 'controller.json'), 'utf8'));
  assert.equal(ckpt.controller.step, 4);
  const done = second.events.find((e) => e.event === 'done')!;
  assert.equal(done.children, 8);
  // The bundle's tfjs-core and the TFLite runtime's own copy both load: no notice about it (the
  // second copy re-registers the Node platform, the cpu backend and its ~340 kernels).
  assert.doesNotMatch(first.stderr + second.stderr, /Platform node has already been set|already registered/);
});
