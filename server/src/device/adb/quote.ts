// Quoting for the device shell (mksh/toybox sh on a phone; POSIX sh rules). Every argument we put
// on a device command line goes through shQuote: inside single quotes nothing is special, and a
// single quote itself is written as '\'' (close, escaped quote, reopen).

/** One shell word that the device shell reads back as exactly `s`. */
export function shQuote(s: string): string {
  if (s.includes('\0')) throw new Error('a device shell argument cannot contain a NUL byte');
  if (s !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A command line from words, each quoted. */
export function shJoin(words: readonly string[]): string {
  return words.map(shQuote).join(' ');
}
