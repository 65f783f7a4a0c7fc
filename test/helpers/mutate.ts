// Mutations of real .mnas text for the fuzz suites: delete, duplicate or replace a slice, or insert a word.
import fc from 'fast-check';

export function mutatedText(bases: string[], vocabulary: string[], o: { maxSlice: number; maxEdits: number }): fc.Arbitrary<string> {
  return fc.record({
    base: fc.integer({ min: 0, max: bases.length - 1 }),
    edits: fc.array(fc.record({
      at: fc.nat(), len: fc.nat({ max: o.maxSlice }), kind: fc.constantFrom('delete', 'insert', 'dup', 'replace'),
      word: fc.constantFrom(...vocabulary),
    }), { minLength: 1, maxLength: o.maxEdits }),
  }).map(({ base, edits }) => {
    let t = bases[base];
    for (const e of edits) {
      const at = e.at % (t.length + 1);
      const end = Math.min(t.length, at + e.len);
      if (e.kind === 'delete') t = t.slice(0, at) + t.slice(end);
      else if (e.kind === 'insert') t = `${t.slice(0, at)} ${e.word} ${t.slice(at)}`;
      else if (e.kind === 'dup') t = t.slice(0, end) + t.slice(at, end) + t.slice(end);
      else t = t.slice(0, at) + e.word + t.slice(end);
    }
    return t;
  });
}
