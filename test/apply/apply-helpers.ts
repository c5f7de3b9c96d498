// Helpers for the apply tests: a target database with loader sessions, events written to a real queue,
// and the apply run over it; small builders for change inputs.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { applyChanges, type ApplyChangesOptions } from '../../src/apply/apply-engine.js';
import type { ApplyProgress } from '../../src/apply/apply-progress.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeInput, ColumnValue, TableName } from '../../src/core/change-event.js';
import { postgresLoaderSessions } from '../../src/engines/postgres/snapshot/loader-sessions.js';
import type { LoaderSessions } from '../../src/engines/loader-sessions.js';
import type { MigrationStore } from '../../src/state/store.js';
// No import of the harness index here: it needs vitest, and the crash child runs outside vitest.
import type { HarnessServer } from '../harness/provided.js';

import { queuePlace, type QueuePlace } from '../queue/queue-helpers.js';

export { queuePlace, type QueuePlace };

/** Fresh queues for the tests of one file (each test its own migration); close() closes and removes them all. */
export function testQueues(prefix: string): { fresh(): { place: QueuePlace; store: MigrationStore }; close(): void } {
  const places: QueuePlace[] = [];
  const stores: MigrationStore[] = [];
  return {
    fresh() {
      const place = queuePlace(prefix);
      const store = place.openStore();
      places.push(place);
      stores.push(store);
      return { place, store };
    },
    close() {
      for (const store of stores) store.close();
      for (const place of places) place.cleanup();
    },
  };
}

/** Loader sessions (session_replication_role = replica) on `database` of `server`. */
export function targetSessions(server: HarnessServer, database: string, size = 6): LoaderSessions {
  const pool = new pg.Pool({ host: server.host, port: server.port, user: server.user, password: server.password, database, max: size });
  pool.on('error', () => undefined);
  return postgresLoaderSessions(pool, size, { user: server.user, database });
}

/** Appends transactions to the source-to-target queue, each committed; returns the last vsn. */
export async function writeTransactions(store: MigrationStore, queueDir: string, transactions: readonly (readonly ChangeInput[])[]): Promise<number> {
  const writer = openQueueWriter({ store, queueDir, stream: 'source-to-target' });
  let lsn = writer.durablePoint.lastVsn;
  for (const transaction of transactions) {
    if (transaction.length === 0) continue;
    for (const change of transaction) writer.append(change);
    lsn += 1;
    writer.endTransaction(`0/${lsn.toString(16).toUpperCase()}`);
  }
  const point = await writer.commit();
  await writer.close();
  return point.lastVsn;
}

/** Runs the apply over the queue until `stopAtVsn` is applied. */
export async function applyQueue(
  store: MigrationStore,
  queueDir: string,
  sessions: LoaderSessions,
  migrationId: string,
  stopAtVsn: number,
  extra: Partial<ApplyChangesOptions> = {},
): Promise<ApplyProgress> {
  return applyChanges({
    sessions,
    migrationId,
    stream: 'source-to-target',
    openSource: (fromVsn) => openQueueReader({ store, queueDir, stream: 'source-to-target', fromVsn, pollIntervalMs: 10 }),
    stopAtVsn,
    channels: 3,
    batchSize: 200,
    ...extra,
  });
}

export const newMigrationId = (): string => randomUUID();

let lsnCounter = 0;
function base(table: TableName, keyColumns: readonly string[]): Pick<ChangeInput, 'commitLsn' | 'xid' | 'commitTimeMs' | 'table' | 'keyColumns'> {
  lsnCounter += 1;
  return { commitLsn: `0/${lsnCounter.toString(16)}`, xid: 1000 + lsnCounter, commitTimeMs: null, table, keyColumns };
}

/** An INSERT of `values` (aligned with `columns`). */
export function ins(table: TableName, keyColumns: readonly string[], columns: readonly string[], values: readonly ColumnValue[]): ChangeInput {
  return { ...base(table, keyColumns), op: 'insert', columns, newValues: values, oldKey: null };
}

/** An UPDATE; `oldKey` only when the key changes. */
export function upd(table: TableName, keyColumns: readonly string[], columns: readonly string[], values: readonly ColumnValue[], oldKey: readonly ColumnValue[] | null = null): ChangeInput {
  return { ...base(table, keyColumns), op: 'update', columns, newValues: values, oldKey };
}

/** A DELETE of the row with `key`. */
export function del(table: TableName, keyColumns: readonly string[], key: readonly ColumnValue[]): ChangeInput {
  return { ...base(table, keyColumns), op: 'delete', columns: [], newValues: null, oldKey: key };
}
