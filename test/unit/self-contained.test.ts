// The project stands alone: no tracked file points at a folder outside the repository (a
// developer's home, the machine it was written on, notes kept elsewhere). Facts live in docs/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Paths that only exist on some machine; system paths a product uses (/usr/bin/python3) are fine. */
const OUTSIDE = /(?:^|[\s"'`(=])(?:\/work\/|\/home\/|\/root\/|\/Users\/|[A-Za-z]:\\Users\\)|\bshared[ /]docs\b/i;

test('no tracked file names a path outside the repository', (t) => {
  let files: string[];
  try {
    files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  } catch (e) {
    t.skip(`not a git checkout, so the tracked files are unknown (${(e as Error).message.split('\n')[0]})`);
    return;
  }
  assert.ok(files.length > 100, `${files.length} tracked files`);
  const hits: string[] = [];
  for (const f of files) {
    const full = path.join(ROOT, f);
    if (!fs.existsSync(full) || fs.statSync(full).size > 2_000_000) continue;
    const buf = fs.readFileSync(full);
    if (buf.includes(0)) continue; // binary
    buf.toString('utf8').split('\n').forEach((line, i) => {
      if (OUTSIDE.test(line)) hits.push(`${f}:${i + 1}: ${line.trim().slice(0, 160)}`);
    });
  }
  assert.deepEqual(hits, [], 'put the facts into docs/ and cite that');
});
