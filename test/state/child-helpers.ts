// Helpers for the state tests that run real child processes (fixtures import godwit from dist/).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The fixtures import from dist/: fail with a clear message when it was not built. */
export function assertBuilt(): void {
  if (!existsSync(join(repoRoot, 'dist', 'state', 'lock.js'))) {
    throw new Error('dist/ is not built: run `npm run build` before these tests (npm test does it).');
  }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `godwit-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A running fixture whose stdout lines can be awaited. */
export interface Child {
  process: ChildProcess;
  pid: number;
  lines: string[];
  stderr: () => string;
  /** Resolves with the first line (past or future) matching `predicate`. */
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the process has exited (with its signal, if killed). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node test/fixtures/<fixture> ...args`. */
export function startFixture(fixture: string, args: string[], options: SpawnOptions = {}): Child {
  const child = spawn(process.execPath, [join(repoRoot, 'test', 'fixtures', fixture), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...options,
  });
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffered = '';
  let errors = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
      newline = buffered.indexOf('\n');
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    errors += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  if (child.pid === undefined) throw new Error(`could not start ${fixture}`);
  return {
    process: child,
    pid: child.pid,
    lines,
    stderr: () => errors,
    exited,
    waitForLine(predicate, timeoutMs = 20_000) {
      const found = lines.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${fixture}: no matching line after ${timeoutMs} ms; stdout: ${lines.join(' | ')}; stderr: ${errors}`));
        }, timeoutMs);
        const done = (line: string): void => {
          clearTimeout(timer);
          resolve(line);
        };
        waiters.push({ predicate, resolve: done });
        void exited.then(() => {
          setTimeout(() => {
            if (waiters.some((waiter) => waiter.resolve === done)) {
              clearTimeout(timer);
              reject(new Error(`${fixture} exited before a matching line; stdout: ${lines.join(' | ')}; stderr: ${errors}`));
            }
          }, 50);
        });
      });
    },
  };
}

/** Parses a fixture's JSON line. */
export function event(line: string): Record<string, unknown> {
  return JSON.parse(line) as Record<string, unknown>;
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
