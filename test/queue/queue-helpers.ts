// Helpers for the change queue tests: a fresh store and queue directory, deterministic events, and a
// TypeScript child process (run with vite-node, so no build is needed) that can be SIGKILLed.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNCHANGED, type ChangeEvent, type ChangeInput, type ColumnValue } from '../../src/core/change-event.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { startTsChild as startTsChildAt, type TsChild } from '../helpers/ts-child.js';

export type { TsChild } from '../helpers/ts-child.js';

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
/** Starts `vite-node test/queue/<file> -- args`. */
export function startTsChild(file: string, args: string[]): TsChild {
  return startTsChildAt(join('queue', file), { args });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
