// `godwit demo` as the README's first command runs it: two embedded servers, the sample shop with an
// application writing throughout, every workflow step through the real CLI, both cutovers. It must
// exit 0, report both comparisons identical, and leave nothing behind.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runGodwit } from '../helpers/run-godwit.js';

describe('godwit demo', () => {
  it('runs the whole workflow with fall-back and finds both databases identical at each cutover', async () => {
    const result = await runGodwit(['demo', '--stream-seconds', '2'], { timeoutMs: 240_000 });
    expect(result.code, result.stdout.slice(-4000) + result.stderr).toBe(0);
    expect(result.stdout).toContain('after the cutover to target: every table identical');
    expect(result.stdout).toContain('after the cutover to source: every table identical');
    expect(result.stdout).not.toContain('DIFFERENT');
    for (const step of ['export schema', 'import schema', 'initiate cutover to target', 'export data from target and import data to source', 'initiate cutover to source', 'end migration']) {
      expect(result.stdout).toContain(step);
    }
    const files = /files in (\S+)/.exec(result.stdout)?.[1];
    expect(files).toBeDefined();
    expect(existsSync(files as string)).toBe(false);
  }, 300_000);
});
