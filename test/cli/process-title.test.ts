// Passwords given as flags must not show in `ps`: /proc/<pid>/cmdline of a real process is checked.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { maskedArgv } from '../../src/cli/process-title.js';

describe('password flags are hidden from the process list', () => {
  it('masks separate and inline values', () => {
    expect(maskedArgv(['x', '--source-db-password', 's3cret', '--target-db-password=t0p', '--source-db-user', 'u'])).toEqual([
      'x', '--source-db-password', '********', '--target-db-password=********', '--source-db-user', 'u',
    ]);
  });

  it.runIf(process.platform === 'linux')('rewrites /proc/self/cmdline of a real process', () => {
    const module = fileURLToPath(new URL('../../dist/cli/process-title.js', import.meta.url));
    const script = `
      const { hidePasswordsFromProcessList } = await import(${JSON.stringify(module)});
      hidePasswordsFromProcessList(process.argv.slice(1));
      const { readFileSync } = await import('node:fs');
      process.stdout.write(readFileSync('/proc/self/cmdline', 'utf8').replaceAll('\\0', ' '));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script, 'export', '--source-db-password', 'correct-horse-battery']);
    expect(out.toString()).toContain('--source-db-password ********');
    expect(out.toString()).not.toContain('correct-horse-battery');
  });
});
