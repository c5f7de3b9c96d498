// Whether a value holds any of a few characters that COPY text or an array literal must escape: asked
// of every applied value, most of which hold none.
//
// A regular expression over a character class (/[\\\t\n\r]/.test) reads a string one character at a
// time: 0.65-1.0 us for a value of 1.5 kB, and a sixth of the importer's time when it applied 100,000
// such rows. String.prototype.indexOf of one character is a memchr-like scan in V8 (0.07-0.12 us for
// all four characters of the same value). For short values, the common case, the expression is the
// cheaper (15 ns for values of 1-12 characters, against 40-47 ns for four indexOf calls).

/** Values this long and longer are scanned with indexOf, once per character sought. */
const SCAN_BY_INDEX_OF = 24;

/** Characters sought together, in both forms. */
export interface CharacterSet {
  readonly characters: readonly string[];
  /** A character class of them (no flags: test() keeps no state). */
  readonly pattern: RegExp;
}

/** The set of `characters` (each one UTF-16 unit). */
export function characterSet(characters: readonly string[]): CharacterSet {
  const escaped = characters.map((character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return { characters, pattern: new RegExp(`[${escaped.join('')}]`) };
}

/** Characters COPY's text format gives a meaning to: backslash, tab, newline, carriage return. */
export const COPY_SPECIAL = characterSet(['\\', '\t', '\n', '\r']);

/** True when `text` holds one of the set's characters. */
export function containsAny(text: string, set: CharacterSet): boolean {
  if (text.length < SCAN_BY_INDEX_OF) return set.pattern.test(text);
  const characters = set.characters;
  for (let i = 0; i < characters.length; i++) if (text.indexOf(characters[i] as string) >= 0) return true;
  return false;
}
