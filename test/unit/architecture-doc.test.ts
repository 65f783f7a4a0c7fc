// docs/architecture.md stays a true map of the code: every folder of server/src has its paragraph
// in the code map, and every path it names exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
const SRC = path.join(ROOT, 'server', 'src');
const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);

test('every folder of server/src has a paragraph in the code map', () => {
  const map = DOC.slice(DOC.indexOf('## Code map'), DOC.indexOf('## Invariants'));
  assert.ok(map.length > 0, 'docs/architecture.md has "## Code map" before "## Invariants"');
  const missing = folders.filter((f) => !map.includes(`**\`${f}/\`**`));
  assert.deepEqual(missing, [], `folders without a **\`NAME/\`** paragraph in the code map: ${missing.join(', ')}`);
  assert.ok(map.includes('**`client/`**'), 'the extension (client/) has its paragraph');
});

test('every path docs/architecture.md names exists', () => {
  const roots = ['server', 'client', 'test', 'bench', 'scripts', 'docs', 'examples', 'grammar', 'profiles', '.ci', ...folders];
  const named = [...DOC.matchAll(/`([^`\s]+)`/g)].map((m) => m[1].replace(/[),.:;]+$/, ''))
    .filter((p) => p.includes('/') && roots.includes(p.split('/')[0]) && !/[*{}<>]|\.\.\./.test(p));
  assert.ok(named.length >= 50, `expected the map's paths, found ${named.length}`);
  const gone = [...new Set(named)].filter((p) => !fs.existsSync(path.join(ROOT, p)) && !fs.existsSync(path.join(SRC, p)));
  assert.deepEqual(gone, [], `paths in docs/architecture.md that do not exist: ${gone.join(', ')}`);
});
