// What `mnas search` does with its options on new and resumed runs: the budget, a file given
// with --resume, a resume after the .mnas file changed, a start that fails. Real runs of the
// tiny search (PyTorch, MNIST digits) and the CLI bundle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runSearch } from '../../server/src/search/engine';
import { childLogPrefix, runTag, type SearchEvent } from '../../server/src/search/events';
import { localEvaluator } from '../../server/src/search/evaluator';

const CLI = path.resolve('dist/cli.cjs');
let out: string;
let file: string;
let run: string;
let cacheDir: string;
const evaluator = () => localEvaluator({ workers: 1 });
const runFolders = (dir: string) => fs.readdirSync(dir).filter((f) => fs.existsSync(path.join(dir, f, 'run.json')) || /^Tiny-/.test(f));
const warningsOf = (events: SearchEvent[]) => events.flatMap((e) => (e.event === 'warning' ? [e.message] : []));

before(async () => {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-options-'));
  cacheDir = path.join(out, 'cache');
  file = path.join(out, 'tiny.mnas');
  fs.copyFileSync('test/fixtures/tiny-search.mnas', file);
  const r = await runSearch({ file, out: path.join(out, 'runs'), cacheDir, evaluator: evaluator() });
  assert.equal(r.children.length, 4);
  run = r.dir;
});
after(() => fs.rmSync(out, { recursive: true, force: true }));

const cli = (args: string[]) => spawnSync(process.execPath, [CLI, 'search', ...args], { encoding: 'utf8', env: { ...process.env, MNAS_CACHE: path.join(out, 'cli-cache') }, timeout: 120_000 });

test('--budget 0 is an error, not an empty search', async () => {
  const dir = path.join(out, 'zero');
  const r = cli([file, '--budget', '0', '--out', dir]);
  assert.equal(r.status, 2, r.stdout);
  assert.match(r.stderr, /--budget takes a whole number of at least 1, got '0'/);
  await assert.rejects(runSearch({ file, out: dir, budget: 0, cacheDir, evaluator: evaluator() }), /--budget 0: a search needs at least 1 child/);
  assert.ok(!fs.existsSync(dir) || runFolders(dir).length === 0, 'no run folder');
});

test('--resume --budget below what the run has: a clear error, run.json untouched; equal to it: nothing to do, said so', async () => {
  await assert.rejects(runSearch({ resume: run, budget: 2, cacheDir, evaluator: evaluator() }),
    /--budget 2: this run already has 4 children \(of 4\)\. --budget counts the run's children in all: give more than 4/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8')).children, 4, 'not recorded as 4/2');
  const events: SearchEvent[] = [];
  const r = await runSearch({ resume: run, budget: 4, cacheDir, evaluator: evaluator(), onEvent: (e) => events.push(e) });
  assert.equal(r.status, 'done');
  assert.equal(r.children.length, 4);
  assert.match(warningsOf(events).join('\n'), /this run already has its 4 children: nothing to do/);
});

test('--resume with a FILE: the run\'s own file is accepted, another one is refused naming both', async () => {
  const other = path.join(out, 'other.mnas');
  fs.copyFileSync('test/fixtures/tiny-search.mnas', other);
  const r = cli([other, '--resume', run]);
  assert.equal(r.status, 2, r.stdout);
  assert.ok(r.stderr.includes(`--resume ${run} continues that run with the settings it started with, from ${file}`), r.stderr);
  assert.match(r.stderr, /not both/);
  const same = await runSearch({ file, resume: run, cacheDir, evaluator: evaluator() });
  assert.equal(same.status, 'done');
});

test('resume after the .mnas file changed: says what differs, and that the stored settings apply', async () => {
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.replace('target 1ms', 'target 2ms').replace('children 4', 'children 6'));
  try {
    const events: SearchEvent[] = [];
    const r = await runSearch({ resume: run, cacheDir, evaluator: evaluator(), onEvent: (e) => events.push(e) });
    assert.equal(r.status, 'done');
    const said = warningsOf(events).join('\n');
    assert.ok(said.includes(`${file} changed since this run started (target.ms: 1 -> 2; budget.children: 4 -> 6): the run goes on with the settings it started with (run.json)`), said);
    assert.match(said, /--budget N changes how many children this one trains in all/);
    const info = JSON.parse(fs.readFileSync(path.join(run, 'run.json'), 'utf8'));
    assert.equal(info.config.target.ms, 1, 'the stored settings apply');
    assert.equal(r.children.length, 4);
  } finally {
    fs.writeFileSync(file, text);
  }
});

test('a start that fails (its dataset cannot be prepared) leaves no run folder behind', async () => {
  const broken = path.join(out, 'broken.mnas');
  fs.writeFileSync(broken, fs.readFileSync(file, 'utf8').replace('dataset mnist { train 300  test 100 }', 'dataset folder "no-such-images/" { train 300  test 100 }'));
  const dir = path.join(out, 'broken-runs');
  await assert.rejects(runSearch({ file: broken, out: dir, cacheDir, evaluator: evaluator() }), /the dataset cannot be prepared/);
  assert.deepEqual(runFolders(dir), [], 'the empty, unresumable folder is gone');
});

test('the CLI\'s child lines carry the run\'s tag, so a log of several runs says whose child each is', () => {
  const copy = path.join(out, 'copies', 'Tiny-rl-20990101-000000-2');
  fs.cpSync(run, copy, { recursive: true });
  const r = cli(['--resume', copy, '--budget', '5']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(runTag(copy, 'Tiny'), 'rl-20990101-000000-2');
  assert.match(r.stdout, /^ {2}\[rl-20990101-000000-2 5\/5\] child 4: acc \d+\.\d\d%/m, r.stdout);
  assert.doesNotMatch(r.stdout, /^ {2}\[\d+\/\d+\]/m, 'no line without the tag');
  assert.equal(runTag('/x/runs/renamed/', 'Tiny'), 'renamed', 'a renamed folder is its own tag');
  assert.equal(childLogPrefix('C:\\runs\\Tiny-random-20990101-000000', 'Tiny', 3, 20), '[random-20990101-000000 3/20]');
});
