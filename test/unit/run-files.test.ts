// Files a run's journal names are read only from inside that run folder: relative paths resolve
// against the folder given (a copied run uses its own files), absolute paths, `..` steps and
// symbolic links out are refused; names from the journal never become paths outside it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { childFileName, childFiles, fileInRun, runRelative, writeSummaries, type ChildRecord } from '../../server/src/search/runFolder';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-run-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function runFolder(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, 'children', '3'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'children', '3', 'weights.pt'), 'w');
  return dir;
}

const child = (over: Partial<ChildRecord> = {}) => ({ type: 'child', id: 3, name: 'Tiny_c0003', ...over }) as ChildRecord;

test('runRelative: the journal form of a path inside the run folder, undefined outside', () => {
  const dir = path.join(tmp, 'r');
  assert.equal(runRelative(dir, path.join(dir, 'children', '7', 'weights.pt')), 'children/7/weights.pt');
  assert.equal(runRelative(dir, path.join(tmp, 'elsewhere', 'weights.pt')), undefined);
  assert.equal(runRelative(dir, dir), undefined);
  assert.equal(runRelative(dir, path.join(dir, '..', 'r2', 'w.pt')), undefined);
  assert.equal(runRelative(dir, '/var/cache/mnas-worker/w.pt'), undefined);
  assert.equal(runRelative(dir, path.join(dir, '..weights.pt')), '..weights.pt', 'a name starting with two dots is inside');
});

test('fileInRun: relative paths resolve in the folder given; absolute, .. and symlinks out are refused with the line and the fix', () => {
  const dir = runFolder('a');
  const real = fs.realpathSync(dir);
  assert.equal(fileInRun(dir, 'children/3/weights.pt', 'journal.jsonl:2', 'children/3/weights.pt'), path.join(real, 'children', '3', 'weights.pt'));
  assert.equal(fileInRun(dir, 'children/9/weights.pt', 'j:1', 'x'), path.join(real, 'children', '9', 'weights.pt'), 'missing files are returned for the caller to report');
  const refused = (rel: string, why: RegExp) => assert.throws(() => fileInRun(dir, rel, 'journal.jsonl:2', 'children/3/weights.pt'),
    (e: Error) => why.test(e.message) && e.message.startsWith('journal.jsonl:2: ') && /put "children\/3\/weights\.pt" there/.test(e.message), rel);
  refused(path.join(runFolder('b'), 'children', '3', 'weights.pt'), /is an absolute path/);
  refused('/etc/passwd', /is an absolute path/);
  refused('D:\\runs\\x\\weights.pt', /is an absolute path/);
  refused('../b/children/3/weights.pt', /climbs out with "\.\."/);
  refused('children/3/../../../b/children/3/weights.pt', /climbs out/);
  refused('children\\..\\..\\b\\w.pt', /climbs out/);
  refused('', /is not a path/);
  refused(42 as unknown as string, /is not a path/);
  // A symlink inside the folder that leads out of it (the file or a folder on the way).
  const outside = path.join(tmp, 'outside.pt');
  fs.writeFileSync(outside, 'x');
  fs.symlinkSync(outside, path.join(dir, 'children', '3', 'link.pt'));
  refused('children/3/link.pt', /leads outside the run folder through a symbolic link/);
  fs.symlinkSync(tmp, path.join(dir, 'children', 'up'));
  refused('children/up/outside.pt', /symbolic link/);
  // A symlink that stays inside is followed.
  fs.symlinkSync(path.join(dir, 'children', '3', 'weights.pt'), path.join(dir, 'children', '3', 'same.pt'));
  assert.equal(fileInRun(dir, 'children/3/same.pt', 'j:1', 'x'), path.join(real, 'children', '3', 'weights.pt'));
  // The run folder itself may be reached through a symlink.
  fs.symlinkSync(dir, path.join(tmp, 'a-link'));
  assert.equal(fileInRun(path.join(tmp, 'a-link'), 'children/3/weights.pt', 'j:1', 'x'), path.join(real, 'children', '3', 'weights.pt'));
});

test('childFiles: a copied run uses its own files; a cached child uses the child it was trained as; bad ids are refused', () => {
  const dir = runFolder('c');
  const copy = path.join(tmp, 'c-copy');
  fs.cpSync(dir, copy, { recursive: true });
  const f = childFiles(copy, child({ weights: 'children/3/weights.pt' }), 'j:2');
  assert.equal(f.weights, path.join(fs.realpathSync(copy), 'children', '3', 'weights.pt'));
  assert.equal(f.arch, path.join(fs.realpathSync(copy), 'children', '3', 'arch.json'));
  assert.equal(childFiles(copy, child({ id: 5, cachedFrom: 3 }), 'j:2').weights, f.weights, 'no weights field: the default place');
  assert.throws(() => childFiles(copy, child({ weights: path.join(dir, 'children', '3', 'weights.pt') }), 'j:2'), /absolute path/);
  assert.throws(() => childFiles(copy, child({ id: '../../x' as unknown as number }), 'j:2'), /ids are whole numbers/);
  assert.throws(() => childFiles(copy, child({ cachedFrom: -1 }), 'j:2'), /ids are whole numbers/);
});

test('childFileName: a journal name becomes a file name only when it is an identifier', () => {
  assert.equal(childFileName({ id: 3, name: 'Tiny_c0003' }), 'Tiny_c0003');
  for (const name of ['../../../.bashrc', '/etc/x', 'a/b', '', '.hidden', 'a b', 'x'.repeat(200), 7 as unknown as string]) {
    assert.equal(childFileName({ id: 3, name }), 'child3', JSON.stringify(name));
  }
});

test('writeSummaries: a hostile child name in the journal writes best/*.mnas inside best/', () => {
  const dir = runFolder('d');
  const spec = {
    name: 'x', input: { h: 8, w: 8, c: 1 }, width: 1, depth: 1, act: 'relu', stem: null,
    blocks: [{ name: 'b', op: 'conv', e: 1, k: 3, s: 1, f: 4, x: 1, se: 0, skip: 'none', act: 'relu' }], head: null,
  };
  const c = { ...child({ name: 'x/../../../escaped' }), step: 0, accuracy: 0.5, latencyMs: 1, reward: 0.5, params: 1, multAdds: 1, spec } as unknown as ChildRecord;
  writeSummaries(dir, [c], []);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'best')), ['1-child3.mnas']);
  assert.equal(fs.existsSync(path.join(tmp, 'escaped.mnas')), false);
});
