// Mutations of real .mnas text for the fuzz suites: delete, duplicate or replace a slice, or insert a word.
import fc from 'fast-check';

export type EditKind = 'delete' | 'insert' | 'dup' | 'replace' | 'type';
export interface Edit { at: number; len: number; kind: EditKind; word: string }

/**
 * One edit: `at` is taken modulo the text's length + 1. `insert` puts the word between spaces,
 * `type` glues it to its neighbours (a keystroke inside a word).
 */
export function applyEdit(t: string, e: Edit): string {
  const at = e.at % (t.length + 1);
  const end = Math.min(t.length, at + e.len);
  if (e.kind === 'delete') return t.slice(0, at) + t.slice(end);
  if (e.kind === 'insert') return `${t.slice(0, at)} ${e.word} ${t.slice(at)}`;
  if (e.kind === 'type') return t.slice(0, at) + e.word + t.slice(at);
  if (e.kind === 'dup') return t.slice(0, end) + t.slice(at, end) + t.slice(end);
  return t.slice(0, at) + e.word + t.slice(end);
}

export function edit(vocabulary: string[], o: { maxSlice: number; kinds?: EditKind[] }): fc.Arbitrary<Edit> {
  return fc.record({
    at: fc.nat(), len: fc.nat({ max: o.maxSlice }), kind: fc.constantFrom(...(o.kinds ?? ['delete', 'insert', 'dup', 'replace'] as EditKind[])),
    word: fc.constantFrom(...vocabulary),
  });
}

export function mutatedText(bases: string[], vocabulary: string[], o: { maxSlice: number; maxEdits: number }): fc.Arbitrary<string> {
  return fc.record({
    base: fc.integer({ min: 0, max: bases.length - 1 }),
    edits: fc.array(edit(vocabulary, o), { minLength: 1, maxLength: o.maxEdits }),
  }).map(({ base, edits }) => edits.reduce(applyEdit, bases[base]));
}
