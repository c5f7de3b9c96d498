// The launcher's bundle (scripts/bundle.mjs, bin/godwit.js): pure ASCII, so the launcher reads it as
// Latin-1 (fast) and V8 keeps it as a one-byte string (non-ASCII characters are escaped, not dropped:
// the tables' box characters, drawn in every command's output, come from such escapes).

import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const bundle = new URL('../../dist/bundle/godwit.cjs', import.meta.url);

describe('the bundle', () => {
  it('is pure ASCII', () => {
    expect(isAscii(readFileSync(bundle))).toBe(true);
  });
});
