// The snapshot's bookkeeping in the migration store (store migration 3): which tables are copied with
// which columns, the chunk files the exporter wrote (each fsynced before it is recorded), the sequence
// values read at export, and the batches the importer loaded. The exporter writes; the importer reads
// the exported chunks (it may run at the same time, picking up each chunk once recorded).

import type { MigrationStore } from './store.js';

/** One table of the snapshot, named by its root (a partitioned table's leaves load through it). */
export interface SnapshotTable {
  /** `"schema"."name"` of the root table: the key every chunk and batch refers to. */
  tableKey: string;
  schema: string;
  name: string;
  /** Columns copied, in file order (generated columns are never copied). */
  columns: string[];
}

/** One data file: a whole relation, or one page range of it. */
export interface SnapshotChunk {
  chunkId: string;
  tableKey: string;
  /** The relation read: the table itself or one leaf partition. */
  sourceSchema: string;
  sourceRelation: string;
  /** ctid page range [firstPage, endPage); both null for the whole relation. */
  firstPage: number | null;
  endPage: number | null;
  /** Relative to `data/`. */
  file: string;
  state: 'planned' | 'exported';
  runId: string | null;
  rowCount: number | null;
  byteCount: number | null;
  sha256: string | null;
  exportedAt: string | null;
}

/** A sequence value read at export, set on the target when the snapshot import ends. */
export interface SnapshotSequenceValue {
  schema: string;
  name: string;
  lastValue: string;
  isCalled: boolean;
  readAt: string;
}

/** Records a new export run (one snapshot); returns nothing, the id is the caller's. */
export function recordSnapshotRun(store: MigrationStore, runId: string, kind: 'exported-snapshot' | 'replication-slot'): void {
  store.db.prepare('INSERT INTO snapshot_runs (run_id, kind, started_at) VALUES (?, ?, ?)').run(runId, kind, store.now());
}

/** Marks a run complete: every planned chunk is exported. */
export function finishSnapshotRun(store: MigrationStore, runId: string): void {
  store.db.prepare('UPDATE snapshot_runs SET finished_at = ? WHERE run_id = ?').run(store.now(), runId);
}

/** True when some run exported every planned chunk. */
export function snapshotExportFinished(store: MigrationStore): boolean {
  const row = store.db.prepare('SELECT count(*) AS n FROM snapshot_runs WHERE finished_at IS NOT NULL').get() as { n: number };
  const planned = store.db.prepare("SELECT count(*) AS n FROM snapshot_chunks WHERE state = 'planned'").get() as { n: number };
  return row.n > 0 && planned.n === 0;
}

/** Records the plan (tables and their chunks) in one transaction; only once, a resumed export keeps it. */
export function recordSnapshotPlan(store: MigrationStore, tables: readonly SnapshotTable[], chunks: readonly Omit<SnapshotChunk, 'state' | 'runId' | 'rowCount' | 'byteCount' | 'sha256' | 'exportedAt'>[]): void {
  store.transaction((db) => {
    const insertTable = db.prepare('INSERT INTO snapshot_tables (table_key, schema_name, table_name, columns, planned_at) VALUES (?, ?, ?, ?, ?)');
    const insertChunk = db.prepare(
      `INSERT INTO snapshot_chunks (chunk_id, table_key, source_schema, source_relation, first_page, end_page, file, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'planned')`,
    );
    const now = store.now();
    for (const table of tables) insertTable.run(table.tableKey, table.schema, table.name, JSON.stringify(table.columns), now);
    for (const chunk of chunks) {
      insertChunk.run(chunk.chunkId, chunk.tableKey, chunk.sourceSchema, chunk.sourceRelation, chunk.firstPage, chunk.endPage, chunk.file);
    }
  });
}

/** True once a plan is recorded (a resumed export must not plan again). */
export function hasSnapshotPlan(store: MigrationStore): boolean {
  return (store.db.prepare('SELECT count(*) AS n FROM snapshot_tables').get() as { n: number }).n > 0;
}

/** The planned tables. */
export function listSnapshotTables(store: MigrationStore): SnapshotTable[] {
  const rows = store.db.prepare('SELECT table_key, schema_name, table_name, columns FROM snapshot_tables ORDER BY table_key').all() as {
    table_key: string;
    schema_name: string;
    table_name: string;
    columns: string;
  }[];
  return rows.map((r) => ({ tableKey: r.table_key, schema: r.schema_name, name: r.table_name, columns: JSON.parse(r.columns) as string[] }));
}

interface ChunkRow {
  chunk_id: string;
  table_key: string;
  source_schema: string;
  source_relation: string;
  first_page: number | null;
  end_page: number | null;
  file: string;
  state: 'planned' | 'exported';
  run_id: string | null;
  row_count: number | null;
  byte_count: number | null;
  sha256: string | null;
  exported_at: string | null;
}

function toChunk(r: ChunkRow): SnapshotChunk {
  return {
    chunkId: r.chunk_id,
    tableKey: r.table_key,
    sourceSchema: r.source_schema,
    sourceRelation: r.source_relation,
    firstPage: r.first_page,
    endPage: r.end_page,
    file: r.file,
    state: r.state,
    runId: r.run_id,
    rowCount: r.row_count,
    byteCount: r.byte_count,
    sha256: r.sha256,
    exportedAt: r.exported_at,
  };
}

/** Chunks, optionally only those in one state, in a stable order. */
export function listSnapshotChunks(store: MigrationStore, state?: 'planned' | 'exported'): SnapshotChunk[] {
  const rows = (
    state === undefined
      ? store.db.prepare('SELECT * FROM snapshot_chunks ORDER BY chunk_id').all()
      : store.db.prepare('SELECT * FROM snapshot_chunks WHERE state = ? ORDER BY chunk_id').all(state)
  ) as ChunkRow[];
  return rows.map(toChunk);
}

/** Records a chunk file as exported; call only after the file is fsynced and renamed into place. */
export function markChunkExported(store: MigrationStore, chunkId: string, runId: string, rowCount: number, byteCount: number, sha256: string): void {
  store.db
    .prepare(
      `UPDATE snapshot_chunks SET state = 'exported', run_id = ?, row_count = ?, byte_count = ?, sha256 = ?, exported_at = ?
       WHERE chunk_id = ?`,
    )
    .run(runId, rowCount, byteCount, sha256, store.now(), chunkId);
}

/** Replaces the recorded sequence values (read at export). */
export function recordSequenceValues(store: MigrationStore, values: readonly SnapshotSequenceValue[]): void {
  store.transaction((db) => {
    db.prepare('DELETE FROM snapshot_sequences').run();
    const insert = db.prepare('INSERT INTO snapshot_sequences (schema_name, sequence_name, last_value, is_called, read_at) VALUES (?, ?, ?, ?, ?)');
    for (const v of values) insert.run(v.schema, v.name, v.lastValue, v.isCalled ? 1 : 0, v.readAt);
  });
}

/** The sequence values read at export. */
export function listSequenceValues(store: MigrationStore): SnapshotSequenceValue[] {
  const rows = store.db.prepare('SELECT * FROM snapshot_sequences ORDER BY schema_name, sequence_name').all() as {
    schema_name: string;
    sequence_name: string;
    last_value: string;
    is_called: number;
    read_at: string;
  }[];
  return rows.map((r) => ({ schema: r.schema_name, name: r.sequence_name, lastValue: r.last_value, isCalled: r.is_called === 1, readAt: r.read_at }));
}

/** Records a batch the importer committed on the target (a copy of godwit_metadata.imported_batches). */
export function recordImportedBatch(store: MigrationStore, chunkId: string, batchNo: number, rowCount: number): void {
  store.db
    .prepare('INSERT OR IGNORE INTO snapshot_import_batches (chunk_id, batch_no, row_count, imported_at) VALUES (?, ?, ?, ?)')
    .run(chunkId, batchNo, rowCount, store.now());
}

/** Imported rows per table, for status and reports. */
export function importedRowsByTable(store: MigrationStore): Map<string, number> {
  const rows = store.db
    .prepare(
      `SELECT c.table_key, coalesce(sum(b.row_count), 0) AS n FROM snapshot_chunks c
       LEFT JOIN snapshot_import_batches b ON b.chunk_id = c.chunk_id GROUP BY c.table_key`,
    )
    .all() as { table_key: string; n: number }[];
  return new Map(rows.map((r) => [r.table_key, r.n]));
}

/** Exported rows per table, for status and reports. */
export function exportedRowsByTable(store: MigrationStore): Map<string, number> {
  const rows = store.db
    .prepare(`SELECT table_key, coalesce(sum(row_count), 0) AS n FROM snapshot_chunks WHERE state = 'exported' GROUP BY table_key`)
    .all() as { table_key: string; n: number }[];
  return new Map(rows.map((r) => [r.table_key, r.n]));
}

/** The batch size the import started with; a restart keeps it so batch numbers stay the same. */
export function importBatchSettings(store: MigrationStore, requested: { batchSize: number; batchBytes: number }): { batchSize: number; batchBytes: number } {
  return store.transaction((db) => {
    const row = db.prepare('SELECT batch_size, batch_bytes FROM snapshot_import_settings WHERE singleton = 1').get() as
      | { batch_size: number; batch_bytes: number }
      | undefined;
    if (row !== undefined) return { batchSize: row.batch_size, batchBytes: row.batch_bytes };
    db.prepare('INSERT INTO snapshot_import_settings (singleton, batch_size, batch_bytes, started_at) VALUES (1, ?, ?, ?)').run(
      requested.batchSize,
      requested.batchBytes,
      store.now(),
    );
    return requested;
  });
}

/**
 * Makes the store's copy of the imported batches equal to `batches` (read from the target, the truth):
 * drops rows the target does not have (a batch lost with the target's own crash, or a target reset by
 * hand) and adds those it has, for chunks the store knows.
 */
export function replaceImportedBatches(store: MigrationStore, batches: readonly { chunkId: string; batchNo: number; rowCount: number }[]): void {
  store.transaction((db) => {
    db.prepare('DELETE FROM snapshot_import_batches').run();
    const chunks = new Set((db.prepare('SELECT chunk_id FROM snapshot_chunks').all() as { chunk_id: string }[]).map((r) => r.chunk_id));
    for (const batch of batches) {
      if (chunks.has(batch.chunkId)) recordImportedBatch(store, batch.chunkId, batch.batchNo, batch.rowCount);
    }
  });
}

/** Forgets everything the import did (--start-clean): the store's batch copy and the fixed batch size. */
export function resetSnapshotImport(store: MigrationStore): void {
  store.transaction((db) => {
    db.prepare('DELETE FROM snapshot_import_batches').run();
    db.prepare('DELETE FROM snapshot_import_settings').run();
  });
}

/** How the finished export was taken: sequences are set at the end only of a snapshot-only migration. */
export function snapshotRunKind(store: MigrationStore): 'exported-snapshot' | 'replication-slot' | undefined {
  const row = store.db.prepare('SELECT kind FROM snapshot_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1').get() as
    | { kind: 'exported-snapshot' | 'replication-slot' }
    | undefined;
  return row?.kind;
}
