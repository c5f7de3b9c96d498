// containsAny (src/apply/special-characters.ts): short values go through the character class, long
// ones through indexOf; both must find each character wherever it is, in one-byte and two-byte strings.
import { describe, expect, it } from 'vitest';
import { characterSet, containsAny, COPY_SPECIAL } from '../../src/apply/special-characters.js';

const filler = (length: number, unit: string): string => unit.repeat(length);

describe('containsAny', () => {
  for (const length of [1, 5, 23, 24, 25, 1500]) {
    for (const unit of ['a', 'é', '€']) {
      it(`finds each COPY special character at the start, middle and end of ${length} × ${unit}`, () => {
        expect(containsAny(filler(length, unit), COPY_SPECIAL)).toBe(false);
        for (const special of ['\\', '\t', '\n', '\r']) {
          const base = filler(length, unit);
          for (const at of [0, Math.floor(length / 2), length - 1]) {
            const text = base.slice(0, at) + special + base.slice(at + 1);
            expect(containsAny(text, COPY_SPECIAL), JSON.stringify({ at, special })).toBe(true);
          }
        }
      });
    }
  }

  it('ignores characters outside the set, and builds a set of quotes', () => {
    const quotes = characterSet(['\\', '"', "'"]);
    expect(containsAny('tab\there', quotes)).toBe(false);
    expect(containsAny(`${'x'.repeat(100)}"`, quotes)).toBe(true);
    expect(containsAny(`it's`, quotes)).toBe(true);
    expect(containsAny(`${'x'.repeat(100)} \\N ${'y'.repeat(100)}`, COPY_SPECIAL)).toBe(true);
    expect(containsAny(`${'x'.repeat(100)} N ${'y'.repeat(100)}`, COPY_SPECIAL)).toBe(false);
    expect(containsAny('', COPY_SPECIAL)).toBe(false);
  });
});
