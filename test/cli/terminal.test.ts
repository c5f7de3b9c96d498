// The terminal prompts: hidden password entry on a real pseudo-terminal, and never a wait on a
// standard input that is not a terminal.
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Terminal } from '../../src/cli/terminal.js';
import { UsageError } from '../../src/core/errors.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/prompt-secret.mjs', import.meta.url));

/** Runs the fixture under `script` (util-linux), which gives it a pty; types `input` into it. */
function underPty(mode: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qefc', `${process.execPath} ${FIXTURE} ${mode}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (/password: |\[y\/N\] /.test(out) && input !== '') {
        child.stdin.write(input);
        input = '';
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

describe('terminal prompts', () => {
  it.runIf(process.platform === 'linux')('reads a password on a terminal without echoing it', async () => {
    const out = await underPty('secret', 'pa ss"word\r');
    expect(out).toContain('source database password: ');
    expect(out).toContain('READ-LENGTH=10 READ-OK=true');
    expect(out).not.toContain('pa ss"word');
  });

  it.runIf(process.platform === 'linux')('asks for confirmation on a terminal', async () => {
    const out = await underPty('confirm', 'y\r');
    expect(out).toContain('Really? [y/N] ');
    expect(out).toContain('ANSWER=true');
  });

  it('refuses to wait for a confirmation when standard input is not a terminal', async () => {
    const stdin = new PassThrough();
    const terminal = new Terminal({ stdout: new PassThrough(), stderr: new PassThrough(), stdin });
    await expect(terminal.confirm('Drop everything?', false)).rejects.toThrow(UsageError);
    await expect(terminal.confirm('Drop everything?', false)).rejects.toThrow(
      'Drop everything? Standard input is not a terminal, so godwit cannot ask.',
    );
    await expect(terminal.confirm('Drop everything?', true)).resolves.toBe(true);
    await expect(terminal.promptSecret('password: ')).rejects.toThrow('Standard input is not a terminal');
  });
});
