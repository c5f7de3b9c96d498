// Per-table counts of the change events an importer applied (inserts, updates, deletes, truncates),
// for the data-migration report. The target's bookkeeping (the channels' last applied vsn) is the
// truth for what is applied; these counts are a report figure recorded by the importer every second
// or so and when it stops, so a SIGKILL may lose the counts of the last second (never count twice:
// events replayed after a restart are not counted by the apply engine).
//
// The table is meant to become store migration 6 (migration 5 is being added by the live export
// work at the same time, and migrations must run 1..n without gaps): until then it is created here on
// first use with the same statement (CREATE TABLE IF NOT EXISTS), so that appending
// `{ version: 6, name: 'applied change counts', up: (db) => db.exec(APPLIED_CHANGE_COUNTS_SQL) }`
// later changes nothing for stores that already have it.

import type { QueueStream } from '../core/change-event.js';
import { quoteIdent } from '../core/identifiers.js';
import type { MigrationStore } from './store.js';

/** The table's definition (idempotent). */
export const APPLIED_CHANGE_COUNTS_SQL = `
  CREATE TABLE IF NOT EXISTS applied_change_counts (
    stream      TEXT NOT NULL CHECK (stream IN ('source-to-target', 'target-to-source')),
    importer    TEXT NOT NULL,
    table_key   TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    table_name  TEXT NOT NULL,
    inserts     INTEGER NOT NULL CHECK (inserts >= 0),
    updates     INTEGER NOT NULL CHECK (updates >= 0),
    deletes     INTEGER NOT NULL CHECK (deletes >= 0),
    truncates   INTEGER NOT NULL CHECK (truncates >= 0),
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (stream, importer, table_key)
  ) STRICT;
`;

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

const ensured = new WeakSet<object>();

function ensureTable(store: MigrationStore): void {
  if (ensured.has(store.db)) return;
  store.db.exec(APPLIED_CHANGE_COUNTS_SQL);
  ensured.add(store.db);
}

/** The report's key of a table. */
export function countsTableKey(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/** The counts recorded for `importer` of `stream`, by table key. */
export function readAppliedChangeCounts(store: MigrationStore, stream: QueueStream, importer?: string): Map<string, AppliedChangeCounts> {
  // Readers (reports) do not create the table: a store no importer wrote to has no counts.
  if (!ensured.has(store.db) && store.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'applied_change_counts'").get() === undefined) {
    return new Map();
  }
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
  ensureTable(store);
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
  ensureTable(store);
  store.db.prepare('DELETE FROM applied_change_counts WHERE stream = ? AND importer = ?').run(stream, importer);
}
