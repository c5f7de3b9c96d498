// A TypeScript file run as a child process with vite-node (no build needed), whose stdout lines a
// test can wait for: the crash tests of the queue, the capture and the apply start their writers this
// way and SIGKILL them.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface TsChild {
  process: ChildProcess;
  lines: string[];
  stderr(): string;
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `vite-node test/<path> -- args` (vite-node runs the TypeScript in the same process), with extra environment variables. */
export function startTsChild(path: string, options: { args?: readonly string[]; env?: Record<string, string>; lineTimeoutMs?: number } = {}): TsChild {
  const file = path;
  const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vite-node', 'vite-node.mjs'), join(repoRoot, 'test', path), '--', ...(options.args ?? [])], {
    cwd: repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let pending = '';
  let errors = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n')) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    errors += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    lines,
    stderr: () => errors,
    exited,
    waitForLine(predicate, timeoutMs = options.lineTimeoutMs ?? 30_000) {
      const found = lines.find(predicate);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${file}: no matching line after ${timeoutMs} ms; stderr: ${errors}`)), timeoutMs);
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
        void exited.then(({ code, signal }) => {
          clearTimeout(timer);
          reject(new Error(`${file} exited (${code ?? signal}) before a matching line; stderr: ${errors}`));
        });
      });
    },
  };
}

/** Resolves after `ms`. */
