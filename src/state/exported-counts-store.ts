// Per-table counts of the change events the exporter made durable in the change queue (store
// migration 7), for the data-migration report's "exported inserts / updates / deletes". They are
// added inside the store transaction that records each queue commit (segment-writer's `alsoRecord`),
// so they count exactly the events the queue holds: a killed export never counts a change twice or
// loses one, and the transactions a restart skips were counted by the run that wrote them.

import type Database from 'better-sqlite3';
import type { QueueStream } from '../core/change-event.js';
import { quoteIdent } from '../core/identifiers.js';
import type { MigrationStore } from './store.js';

/** One table's exported change counts, keyed like the snapshot tables (`"schema"."name"`). */
export interface ExportedChangeCounts {
  tableKey: string;
  schema: string;
  name: string;
  inserts: number;
  updates: number;
  deletes: number;
}

const UPSERT_SQL = `INSERT INTO exported_change_counts (stream, table_key, schema_name, table_name, inserts, updates, deletes, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (stream, table_key) DO UPDATE SET inserts = inserts + excluded.inserts, updates = updates + excluded.updates,
       deletes = deletes + excluded.deletes, updated_at = excluded.updated_at`;

const upserts = new WeakMap<MigrationStore['db'], Database.Statement>();

/** Adds counts of newly committed events; call inside the queue commit's store transaction. */
export function addExportedChangeCounts(
  store: MigrationStore,
  stream: QueueStream,
  counts: readonly { table: { schema: string; name: string }; inserts: number; updates: number; deletes: number }[],
): void {
  if (counts.length === 0) return;
  // Prepared once per store connection: this runs in every queue commit.
  let upsert = upserts.get(store.db);
  if (upsert === undefined) {
    upsert = store.db.prepare(UPSERT_SQL);
    upserts.set(store.db, upsert);
  }
  const now = store.now();
  for (const c of counts) {
    upsert.run(stream, `${quoteIdent(c.table.schema)}.${quoteIdent(c.table.name)}`, c.table.schema, c.table.name, c.inserts, c.updates, c.deletes, now);
  }
}

/** The exported change counts of a stream, by table key. */
export function readExportedChangeCounts(store: MigrationStore, stream: QueueStream): Map<string, ExportedChangeCounts> {
  const rows = store.db
    .prepare('SELECT table_key, schema_name, table_name, inserts, updates, deletes FROM exported_change_counts WHERE stream = ? ORDER BY table_key')
    .all(stream) as { table_key: string; schema_name: string; table_name: string; inserts: number; updates: number; deletes: number }[];
  return new Map(
    rows.map((r) => [r.table_key, { tableKey: r.table_key, schema: r.schema_name, name: r.table_name, inserts: r.inserts, updates: r.updates, deletes: r.deletes }]),
  );
}
