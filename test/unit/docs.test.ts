// docs/language.md stays true: every diagnostic code the sources can emit is in its
// Diagnostics table (and nothing else is), and every ```mnas example checks as documented.
//
// Fence convention: ```mnas = valid (no problem at all); ```mnas-error CODE = reports exactly
// CODE (with the severity the table gives it) and no other code. `file=NAME.mnas` in the fence
// header names the example's file, so that other examples can import it. Examples are checked
// with the CLI's `check` on real files, in a folder next to copies of examples/*.mnas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { check } from '../../server/src/cli/check';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'language.md'), 'utf8');
const SOURCE_DIRS = ['server/src/language', 'server/src/analysis', 'server/src/lsp'];
/** Codes with no example: `internal` reports a bug; `too-many-problems` only ever follows 100 others. */
const NO_EXAMPLE = new Set(['internal', 'too-many-problems']);

function tsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Codes in the sources: `error('code'`, `warning('code'` and `code: 'code'`. */
export function sourceCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  const patterns = [/\b(?:error|warning)\(\s*['"]([a-z][a-z0-9-]*)['"]/g, /\bcode:\s*['"]([a-z][a-z0-9-]*)['"]/g];
  for (const dir of SOURCE_DIRS) {
    for (const file of tsFiles(path.join(ROOT, dir))) {
      const text = fs.readFileSync(file, 'utf8');
      for (const re of patterns) for (const m of text.matchAll(re)) if (!codes.has(m[1])) codes.set(m[1], path.relative(ROOT, file));
    }
  }
  return codes;
}

/** The Diagnostics table: code -> severity. */
function documentedCodes(): Map<string, string> {
  const start = DOC.indexOf('\n## Diagnostics');
  assert.ok(start >= 0, 'docs/language.md has a "## Diagnostics" section');
  const section = DOC.slice(start + 1).split(/\n## /)[0];
  const out = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\|\s*`([a-z][a-z0-9-]*)`\s*\|\s*(error|warning|info)\s*\|/.exec(line);
    if (m) {
      assert.ok(!out.has(m[1]), `\`${m[1]}\` is listed twice in the Diagnostics table`);
      out.set(m[1], m[2]);
    }
  }
  return out;
}

interface Example { index: number; line: number; valid: boolean; code?: string; file?: string; text: string }

function examples(): Example[] {
  const out: Example[] = [];
  const re = /^```(mnas(?:-[a-z]+)?)([^\n]*)\n([\s\S]*?)^```\s*$/gm;
  for (const m of DOC.matchAll(re)) {
    const line = DOC.slice(0, m.index).split('\n').length;
    const words = m[2].trim().split(/\s+/).filter(Boolean);
    const file = words.find((w) => w.startsWith('file='))?.slice('file='.length);
    const rest = words.filter((w) => !w.startsWith('file='));
    if (m[1] === 'mnas') {
      assert.equal(rest.length, 0, `line ${line}: a valid example takes no code (got ${rest.join(' ')})`);
      out.push({ index: out.length, line, valid: true, file, text: m[3] });
    } else {
      assert.equal(m[1], 'mnas-error', `line ${line}: unknown fence \`${m[1]}\` (use mnas or mnas-error CODE)`);
      assert.equal(rest.length, 1, `line ${line}: \`mnas-error\` takes exactly one code`);
      out.push({ index: out.length, line, valid: false, code: rest[0], file, text: m[3] });
    }
  }
  return out;
}

test('every diagnostic code in the sources is documented, and only those', () => {
  const src = sourceCodes();
  const doc = documentedCodes();
  // Guards against a silently broken scan: these come from the parser, validation and search.
  for (const known of ['syntax', 'lex', 'top-level', 'missing-input', 'bad-choice', 'unknown-setting', 'import-has-errors']) {
    assert.ok(src.has(known), `the source scan should find \`${known}\``);
  }
  const undocumented = [...src.keys()].filter((c) => !doc.has(c));
  assert.deepEqual(undocumented, [], `codes emitted by the sources but missing from the Diagnostics table of docs/language.md: ${undocumented.map((c) => `${c} (${src.get(c)})`).join(', ')}`);
  const stale = [...doc.keys()].filter((c) => !src.has(c));
  assert.deepEqual(stale, [], `codes in the Diagnostics table that no source emits: ${stale.join(', ')}`);
});

test('every documented code has an example, except those that report a bug', () => {
  const withExample = new Set(examples().filter((e) => !e.valid).map((e) => e.code));
  const missing = [...documentedCodes().keys()].filter((c) => !NO_EXAMPLE.has(c) && !withExample.has(c));
  assert.deepEqual(missing, [], `codes without a \`mnas-error CODE\` example in docs/language.md: ${missing.join(', ')}`);
});

test('every example in docs/language.md checks as documented', (t) => {
  const all = examples();
  assert.ok(all.length >= 40, `expected the reference's examples, found ${all.length}`);
  const severities = documentedCodes();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mnas-docs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const f of fs.readdirSync(path.join(ROOT, 'examples'))) {
    if (f.endsWith('.mnas')) fs.copyFileSync(path.join(ROOT, 'examples', f), path.join(dir, f));
  }
  const names = new Set<string>();
  const files = all.map((e) => {
    const name = e.file ?? `example-${e.index + 1}.mnas`;
    assert.ok(!names.has(name) && !fs.existsSync(path.join(dir, name)), `line ${e.line}: file name ${name} is taken`);
    names.add(name);
    const file = path.join(dir, name);
    fs.writeFileSync(file, e.text);
    return file;
  });
  const failures: string[] = [];
  all.forEach((e, i) => {
    const r = check([files[i]]);
    const got = r.problems.map((p) => `${p.severity}[${p.code}] ${p.line}:${p.column} ${p.message}`);
    if (e.valid) {
      if (r.problems.length > 0) failures.push(`line ${e.line}: expected no problem, got\n    ${got.join('\n    ')}`);
      return;
    }
    const codes = [...new Set(r.problems.map((p) => p.code))];
    if (codes.length !== 1 || codes[0] !== e.code) {
      failures.push(`line ${e.line}: expected only \`${e.code}\`, got\n    ${got.join('\n    ') || '(nothing)'}`);
      return;
    }
    const want = severities.get(e.code!);
    const wrong = r.problems.filter((p) => p.severity !== want);
    if (wrong.length) failures.push(`line ${e.line}: \`${e.code}\` is documented as ${want}, reported as ${wrong[0].severity}`);
  });
  assert.deepEqual(failures, [], failures.join('\n'));
});
