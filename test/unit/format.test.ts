import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { format, formatText } from '../../server/src/language/format';
import { parse } from '../../server/src/language/parser';

const EXAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples');
const examples = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.mnas')).map((f) => ({ name: f, text: fs.readFileSync(path.join(EXAMPLES, f), 'utf8') }));

describe('formatText', () => {
  test('the examples are already in canonical layout', () => {
    for (const e of examples) assert.equal(formatText(e.text), e.text, e.name);
  });

  test('indents by depth, spaces tokens, tightens brackets, lifts `{`, keeps comments and one blank line', () => {
    const input = [
      '# hash comment',
      'model   M',
      '{',
      'input 32x32x3   // trailing',
      '      block b1 {conv k3 f8}',
      '',
      '',
      '',
      '  block b2',
      '  {',
      '  /* a block',
      '     comment */',
      '     mbconv e6 k3 s2 f16 x2',
      '  }',
      '}',
      'space S from M {',
      'block * { k [ 3 ,5 ] f * [0.75,1.0]',
      'x + [ -1, 0 ] }',
      '}',
      'search Q { space S',
      'target 5ms',
      'budget',
      '{ children 4 }',
      '}',
    ].join('\n');
    assert.equal(formatText(input), [
      '# hash comment',
      'model M {',
      '  input 32x32x3 // trailing',
      '  block b1 { conv k3 f8 }',
      '',
      '  block b2 {',
      '    /* a block',
      '     comment */',
      '    mbconv e6 k3 s2 f16 x2',
      '  }',
      '}',
      'space S from M {',
      '  block * { k [3, 5] f * [0.75, 1.0]',
      '    x + [-1, 0] }',
      '}',
      'search Q { space S',
      '  target 5ms',
      '  budget { children 4 }',
      '}',
      '',
    ].join('\n'));
  });

  test('a `{` after a line comment stays on its own line (moving it would comment it out)', () => {
    const input = 'model M // note\n{\n  input 32x32x3\n  block b1 { conv f8 }\n}\n';
    assert.equal(formatText(input), input);
  });

  test('property: idempotent, whatever line breaks and blank lines the author used', () => {
    for (const e of examples) {
      const toks = [...parse(e.text).tokens, ...parse(e.text).comments].sort((a, b) => a.startOffset - b.startOffset);
      const gaps = toks.slice(1).map((t, i) => ({ prev: toks[i], cur: t }));
      const breaks = fc.array(fc.constantFrom(' ', ' ', ' ', '\n', '\n\n\n', '\n    '), { minLength: gaps.length, maxLength: gaps.length });
      fc.assert(fc.property(breaks, (ws) => {
        let out = e.text.slice(0, toks[0].startOffset);
        gaps.forEach((g, i) => {
          // A line comment must keep its line break.
          const w = g.prev.image.startsWith('//') || g.prev.image.startsWith('#') ? '\n' : ws[i];
          out += g.prev.image + w;
        });
        out += toks[toks.length - 1].image + '\n';
        const once = formatText(out);
        assert.equal(formatText(once), once);
      }), { numRuns: 30 });
    }
  });

  test('files with syntax or lex errors are returned unchanged', () => {
    for (const bad of ['model   M {\n  block b1 { conv k3 f8\n', 'model M { input 32x32x3 block b1 { conv f8 } } @', 'stray   tokens']) {
      const r = format(bad);
      assert.equal(r.ok, false);
      assert.equal(r.text, bad);
    }
  });

  test('CRLF line endings are kept', () => {
    assert.equal(formatText('model M {\r\ninput 32x32x3\r\nblock b1 { conv f8 }\r\n}\r\n'), 'model M {\r\n  input 32x32x3\r\n  block b1 { conv f8 }\r\n}\r\n');
  });

  test('empty and comment-only files', () => {
    assert.equal(formatText(''), '');
    assert.equal(formatText('\n\n  // just a note   \n\n'), '// just a note\n');
  });

  test('property: any horizontal spacing between tokens formats back to the example', () => {
    const PUNCT = /^[{}[\],*+]$/;
    for (const e of examples) {
      const toks = [...parse(e.text).tokens, ...parse(e.text).comments].sort((a, b) => a.startOffset - b.startOffset);
      // Gaps between neighbours on one line; zero width only next to punctuation.
      const gaps = toks.slice(1).map((t, i) => ({ prev: toks[i], cur: t })).filter((g) => g.prev.endLine === g.cur.startLine);
      const spacing = fc.array(fc.constantFrom('', ' ', '  ', '\t', ' \t '), { minLength: gaps.length, maxLength: gaps.length });
      fc.assert(fc.property(spacing, (ws) => {
        let out = '';
        let at = 0;
        gaps.forEach((g, i) => {
          const w = ws[i] === '' && !PUNCT.test(g.prev.image) && !PUNCT.test(g.cur.image) ? ' ' : ws[i];
          out += e.text.slice(at, g.prev.startOffset + g.prev.image.length) + w;
          at = g.cur.startOffset;
        });
        out += e.text.slice(at);
        // Leading indentation is noise too, but not column 1: there a declaration keyword
        // (a search's `space` key) starts a new declaration for the parser's recovery.
        out = out.replace(/^ +/gm, ' ');
        assert.equal(formatText(out), e.text);
      }), { numRuns: 40 });
    }
  });
});

test('a byte-order mark is kept by the formatter', () => {
  const r = format('\uFEFFmodel M {\n input 8x8x1\n block b1 { conv f8 } }\n');
  assert.ok(r.ok);
  assert.equal(r.text, '\uFEFFmodel M {\n  input 8x8x1\n  block b1 { conv f8 } }\n');
});
