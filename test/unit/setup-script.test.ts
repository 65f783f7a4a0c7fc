// scripts/setup.sh, the one-command set-up (`npm run setup`, `npm run quickstart`): which apt
// command it runs, with sudo when not root, what it says where there is no apt. --fresh plans as on
// a machine without the packages and --dry-run prints instead of running, so no package is removed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'setup.sh');
const BASE = 'python3-torch python3-numpy dataset-fashion-mnist adb';
const DEV = 'python3-sklearn mypy redis-server openssl iproute2';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-setup-'));
fs.chmodSync(tmp, 0o755);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(args: string[], opts: { path?: string; nobody?: boolean } = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: opts.path ?? process.env.PATH };
  delete env.MNAS_PYTHON;
  const cmd = opts.nobody ? [SETPRIV, ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', SCRIPT, ...args]] as const
    : ['bash', [SCRIPT, ...args]] as const;
  const r = spawnSync(cmd[0], [...cmd[1]], { env, encoding: 'utf8', cwd: tmp });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** A folder of links to the few real tools the script needs, plus `extra`: a PATH without apt-get or sudo. */
function bin(name: string, extra: Record<string, string> = {}): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const tool of ['bash', 'dirname', 'id', 'sed', 'dpkg', 'env']) {
    const real = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (real) fs.symlinkSync(real, path.join(dir, tool));
  }
  for (const [tool, target] of Object.entries(extra)) fs.symlinkSync(target, path.join(dir, tool));
  fs.chmodSync(dir, 0o755);
  return dir;
}

const asRoot = process.getuid?.() === 0;
const SETPRIV = spawnSync('bash', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim();

test('a fresh machine: one apt command for what mnas needs; --dev adds what the test suites need (CI)', (t) => {
  if (!fs.existsSync('/usr/bin/apt-get')) { t.skip('no apt-get on this machine: the apt branch cannot run here'); return; }
  const sudo = asRoot ? '' : 'sudo ';
  const plain = run(['--dry-run', '--fresh']);
  assert.equal(plain.code, 0, plain.out);
  assert.match(plain.out, new RegExp(`^setup: would run: ${sudo}apt-get update && ${sudo}apt-get install -y ${BASE}$`, 'm'));
  const dev = run(['--dry-run', '--fresh', '--dev']);
  assert.match(dev.out, new RegExp(`^setup: would run: ${sudo}apt-get update && ${sudo}apt-get install -y ${BASE} ${DEV}$`, 'm'));
  assert.doesNotMatch(dev.out, /^setup: ready/m, 'a dry run runs nothing');
});

test('this machine: only what is missing is installed (nothing when all is present)', () => {
  const r = run(['--dry-run']);
  assert.equal(r.code, 0, r.out);
  const line = r.out.split('\n').find((l) => l.includes('apt-get install'));
  const missing = line ? line.replace(/.*install -y /, '').split(' ') : [];
  for (const p of missing) assert.ok(BASE.split(' ').includes(p), p);
  if (!line) assert.match(r.out, /system packages: all present/);
});

test('not root: apt runs through sudo; without sudo it prints the command for root and stops', (t) => {
  if (!asRoot || !SETPRIV || !fs.existsSync('/usr/bin/apt-get')) { t.skip('needs root and setpriv (to run as nobody), and apt-get'); return; }
  // sudo's presence is all the dry run looks at; it is never run.
  const withSudo = bin('with-sudo', { 'apt-get': '/usr/bin/apt-get', sudo: '/usr/bin/true' });
  const r = run(['--dry-run', '--fresh'], { nobody: true, path: withSudo });
  assert.match(r.out, new RegExp(`^setup: would run: sudo apt-get update && sudo apt-get install -y ${BASE}$`, 'm'), r.out);
  const noSudo = bin('no-sudo', { 'apt-get': '/usr/bin/apt-get' });
  const s = run(['--fresh'], { nobody: true, path: noSudo });
  assert.equal(s.code, 1, s.out);
  assert.match(s.out, /installing them needs root and there is no sudo\. As root run:\nsetup: {3}apt-get update && apt-get install -y python3-torch/);
});

test('no apt: says what to install by hand, and stops when PyTorch is missing', () => {
  const r = run(['--fresh'], { path: bin('no-apt') });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /no apt-get on this machine: install these yourself:/);
  assert.match(r.out, /- PyTorch \(CPU\) for Python 3 \(pip install torch\)/);
  assert.match(r.out, /point MNAS_PYTHON at the Python that imports torch/);
  assert.doesNotMatch(r.out, /npm ci/);
});

test('an unknown option is refused, naming the known ones', () => {
  const r = run(['--yes']);
  assert.equal(r.code, 2);
  assert.match(r.out, /unknown option --yes \(known: --dev, --fresh, --dry-run\)/);
});

test('CI and the README use the script: .ci/run installs through it, the README\'s first command runs it', () => {
  assert.match(fs.readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'), /bash scripts\/setup\.sh --dev/);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts.setup, 'bash scripts/setup.sh');
  assert.match(pkg.scripts.quickstart, /^bash scripts\/setup\.sh && node bin\/mnas\.cjs search examples\/search-quickstart\.mnas/);
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const first = /```sh\n([^\n]*)/.exec(readme.slice(readme.indexOf('## Quick start')));
  assert.match(first?.[1] ?? '', /^npm run quickstart\b/);
});
