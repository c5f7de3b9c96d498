// Per-table counts of the change events an importer applied (inserts, updates, deletes, truncates),
// for the data-migration report. The target's bookkeeping (the channels' last applied vsn) is the
// truth for what is applied; these counts are a report figure recorded by the importer every second
// or so and when it stops, so a SIGKILL may lose the counts of the last second (never count twice:
// events replayed after a restart are not counted by the apply engine).
//
// The table is store migration 6.

import type { QueueStream } from '../core/change-event.js';
import { quoteIdent } from '../core/identifiers.js';
import type { MigrationStore } from './store.js';

/** One table's applied change counts; `tableKey` is `"schema"."name"` like the snapshot tables. */
export interface AppliedChangeCounts {
  tableKey: string;
  schema: string;
  name: string;
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
}

/** The report's key of a table. */
export function countsTableKey(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** The counts recorded for `importer` of `stream`, by table key. */
export function readAppliedChangeCounts(store: MigrationStore, stream: QueueStream, importer?: string): Map<string, AppliedChangeCounts> {
  const rows = store.db
    .prepare(
      `SELECT table_key, schema_name, table_name, sum(inserts) AS inserts, sum(updates) AS updates, sum(deletes) AS deletes, sum(truncates) AS truncates
         FROM applied_change_counts WHERE stream = ? AND (? IS NULL OR importer = ?) GROUP BY table_key, schema_name, table_name`,
    )
    .all(stream, importer ?? null, importer ?? null) as {
    table_key: string;
    schema_name: string;
    table_name: string;
    inserts: number;
    updates: number;
    deletes: number;
    truncates: number;
  }[];
  return new Map(
    rows.map((row) => [
      row.table_key,
      { tableKey: row.table_key, schema: row.schema_name, name: row.table_name, inserts: row.inserts, updates: row.updates, deletes: row.deletes, truncates: row.truncates },
    ]),
  );
}

/** Replaces the recorded counts of the given tables (absolute values, never lower than recorded). */
export function recordAppliedChangeCounts(store: MigrationStore, stream: QueueStream, importer: string, counts: readonly AppliedChangeCounts[]): void {
  if (counts.length === 0) return;
  const now = store.now();
  store.transaction((db) => {
    const upsert = db.prepare(
      `INSERT INTO applied_change_counts (stream, importer, table_key, schema_name, table_name, inserts, updates, deletes, truncates, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (stream, importer, table_key) DO UPDATE SET
         inserts = max(inserts, excluded.inserts), updates = max(updates, excluded.updates),
         deletes = max(deletes, excluded.deletes), truncates = max(truncates, excluded.truncates), updated_at = excluded.updated_at`,
    );
    for (const c of counts) upsert.run(stream, importer, c.tableKey, c.schema, c.name, c.inserts, c.updates, c.deletes, c.truncates, now);
  });
}

/** Forgets the counts of `importer` (with the target's apply bookkeeping, on a start over). */
export function clearAppliedChangeCounts(store: MigrationStore, stream: QueueStream, importer: string): void {
  store.db.prepare('DELETE FROM applied_change_counts WHERE stream = ? AND importer = ?').run(stream, importer);
}
