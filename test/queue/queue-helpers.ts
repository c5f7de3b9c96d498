// Helpers for the change queue tests: a fresh store and queue directory, deterministic events, and a
// TypeScript child process (run with vite-node, so no build is needed) that can be SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNCHANGED, type ChangeEvent, type ChangeInput, type ColumnValue } from '../../src/core/change-event.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** A temporary export-directory-like place: the store file and data/queue/. */
export interface QueuePlace {
  root: string;
  storeFile: string;
  queueDir: string;
  /** Opens another connection to the store (the caller closes it). */
  openStore(): MigrationStore;
  cleanup(): void;
}

/** A fresh temporary store and queue directory. */
export function queuePlace(prefix: string): QueuePlace {
  const root = mkdtempSync(join(tmpdir(), `godwit-queue-${prefix}-`));
  const queueDir = join(root, 'data', 'queue');
  mkdirSync(queueDir, { recursive: true });
  const storeFile = join(root, 'godwit.db');
  return {
    root,
    storeFile,
    queueDir,
    openStore: () => openStore(storeFile),
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * The change numbered `vsn` in the deterministic test stream: its content is a function of the vsn so
 * a reader can check every event it gets, whatever crashed in between.
 */
export function changeFor(vsn: number): ChangeInput {
  const kind = vsn % 4;
  const filler: ColumnValue = vsn % 5 === 0 ? null : `v${vsn}-${'é'.repeat(vsn % 37)}`;
  const toasted: ColumnValue = vsn % 3 === 0 ? UNCHANGED : `t${vsn}`;
  return {
    commitLsn: `0/${(vsn * 16).toString(16).toUpperCase()}`,
    xid: 1000 + Math.floor(vsn / 10),
    commitTimeMs: 1_700_000_000_000 + vsn,
    table: { schema: 'app', name: `t${vsn % 7}` },
    op: kind === 0 ? 'insert' : kind === 1 ? 'update' : kind === 2 ? 'delete' : 'insert',
    keyColumns: ['id'],
    columns: kind === 2 ? [] : ['id', 'filler', 'toasted'],
    newValues: kind === 2 ? null : [String(vsn), filler, toasted],
    oldKey: kind === 1 || kind === 2 ? [String(vsn - 1)] : null,
  };
}

/** What a reader must return for `changeFor(vsn)`. */
export function expectedEvent(vsn: number, stream: ChangeEvent['stream'] = 'source-to-target'): ChangeEvent {
  return { ...changeFor(vsn), vsn, stream } as ChangeEvent;
}

/** A running TypeScript child whose stdout lines can be awaited. */
export interface TsChild {
  process: ChildProcess;
  lines: string[];
  stderr(): string;
  waitForLine(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `vite-node test/queue/<file> -- args` (vite-node runs the TypeScript in the same process). */
export function startTsChild(file: string, args: string[]): TsChild {
  const child = spawn(process.execPath, [join(repoRoot, 'node_modules', 'vite-node', 'vite-node.mjs'), join(repoRoot, 'test', 'queue', file), '--', ...args], {
    cwd: repoRoot,
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
    waitForLine(predicate, timeoutMs = 30_000) {
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
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
