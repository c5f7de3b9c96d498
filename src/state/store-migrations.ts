// The ordered list of changes to the migration store's own tables. Each entry runs once, in its own
// transaction, when a store older than it is opened. Later features add their tables (per-table
// progress, queue segment bookkeeping, cutover state) by appending an entry here: never edit or
// reorder an entry that has shipped, since stores in the field already recorded it.

import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';

/** What a migration may need besides the connection. */
export interface StoreMigrationContext {
  /** The godwit version applying the migration. */
  godwitVersion: string;
  /** ISO timestamp of the open that applies the migration. */
  now: string;
}

/** One step of the store's schema history; `version` numbers run 1, 2, 3, ... without gaps. */
export interface StoreMigration {
  version: number;
  name: string;
  up(db: Database.Database, context: StoreMigrationContext): void;
}

/** The lifecycle states a workflow phase goes through in the store. */
export const PHASE_STATES = ['not-started', 'running', 'done', 'failed'] as const;
export type PhaseState = (typeof PHASE_STATES)[number];

const phaseStateList = PHASE_STATES.map((state) => `'${state}'`).join(', ');

/** The migrations this godwit knows, oldest first; the last version is the store's current schema. */
export const STORE_MIGRATIONS: readonly StoreMigration[] = [
  {
    version: 1,
    name: 'migration record and phase status',
    up(db, context) {
      db.exec(`
        CREATE TABLE migration (
          singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
          migration_id   TEXT NOT NULL,
          created_at     TEXT NOT NULL,
          godwit_version TEXT NOT NULL
        ) STRICT;
        CREATE TABLE phase_status (
          phase      TEXT PRIMARY KEY,
          state      TEXT NOT NULL CHECK (state IN (${phaseStateList})),
          updated_at TEXT NOT NULL,
          detail     TEXT
        ) STRICT;
      `);
      db.prepare('INSERT INTO migration (singleton, migration_id, created_at, godwit_version) VALUES (1, ?, ?, ?)').run(
        randomUUID(),
        context.now,
        context.godwitVersion,
      );
    },
  },
  {
    version: 2,
    name: 'source catalog snapshot',
    up(db) {
      // Written by `export schema` (src/state/catalog-store.ts), read by the snapshot, stream and
      // cutover phases. Lists of names are JSON arrays; bigint sequence values are decimal text.
      db.exec(`
        CREATE TABLE source_catalog (
          singleton      INTEGER PRIMARY KEY CHECK (singleton = 1),
          read_at        TEXT NOT NULL,
          server_version TEXT NOT NULL,
          schemas        TEXT NOT NULL
        ) STRICT;
        CREATE TABLE source_tables (
          schema_name              TEXT NOT NULL,
          table_name               TEXT NOT NULL,
          kind                     TEXT NOT NULL CHECK (kind IN ('ordinary', 'partitioned', 'partition')),
          estimated_rows           REAL,
          size_bytes               INTEGER NOT NULL,
          primary_key              TEXT NOT NULL,
          replica_identity         TEXT NOT NULL CHECK (replica_identity IN ('default', 'index', 'full', 'nothing')),
          replica_identity_columns TEXT NOT NULL,
          unique_indexes           TEXT NOT NULL,
          partition_key            TEXT,
          PRIMARY KEY (schema_name, table_name)
        ) STRICT;
        CREATE TABLE source_columns (
          schema_name    TEXT NOT NULL,
          table_name     TEXT NOT NULL,
          column_name    TEXT NOT NULL,
          ordinal        INTEGER NOT NULL,
          data_type      TEXT NOT NULL,
          type_schema    TEXT NOT NULL,
          type_name      TEXT NOT NULL,
          not_null       INTEGER NOT NULL CHECK (not_null IN (0, 1)),
          default_expr   TEXT,
          generated_expr TEXT,
          identity       TEXT CHECK (identity IN ('always', 'by-default')),
          PRIMARY KEY (schema_name, table_name, column_name),
          FOREIGN KEY (schema_name, table_name) REFERENCES source_tables (schema_name, table_name) ON DELETE CASCADE
        ) STRICT;
        CREATE TABLE source_partitions (
          schema_name   TEXT NOT NULL,
          table_name    TEXT NOT NULL,
          parent_schema TEXT NOT NULL,
          parent_name   TEXT NOT NULL,
          root_schema   TEXT NOT NULL,
          root_name     TEXT NOT NULL,
          bound         TEXT NOT NULL,
          PRIMARY KEY (schema_name, table_name),
          FOREIGN KEY (schema_name, table_name) REFERENCES source_tables (schema_name, table_name) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX source_partitions_by_root ON source_partitions (root_schema, root_name);
        CREATE TABLE source_sequences (
          schema_name       TEXT NOT NULL,
          sequence_name     TEXT NOT NULL,
          data_type         TEXT NOT NULL,
          increment_by      TEXT NOT NULL,
          min_value         TEXT NOT NULL,
          max_value         TEXT NOT NULL,
          start_value       TEXT NOT NULL,
          cache_size        TEXT NOT NULL,
          cycle             INTEGER NOT NULL CHECK (cycle IN (0, 1)),
          last_value        TEXT,
          owner_schema      TEXT,
          owner_table       TEXT,
          owner_column      TEXT,
          owner_is_identity INTEGER CHECK (owner_is_identity IN (0, 1)),
          used_by_defaults  TEXT NOT NULL,
          PRIMARY KEY (schema_name, sequence_name)
        ) STRICT;
        CREATE TABLE source_user_types (
          schema_name TEXT NOT NULL,
          type_name   TEXT NOT NULL,
          kind        TEXT NOT NULL CHECK (kind IN ('enum', 'domain')),
          definition  TEXT NOT NULL,
          PRIMARY KEY (schema_name, type_name)
        ) STRICT;
      `);
    },
  },
  {
    version: 3,
    name: 'snapshot export and import bookkeeping',
    up(db) {
      // Written by `export data from source` (snapshot part) and `import data to target`
      // (src/state/snapshot-store.ts). A chunk is one data file: a whole table (or leaf partition) or one
      // ctid page range of it, in PostgreSQL's COPY text format. The target's godwit_metadata.imported_batches
      // is the truth for what is loaded (written in the same transaction as the rows); snapshot_import_batches
      // is this store's copy of it, for status and reports, refreshed from the target when the import starts.
      db.exec(`
        CREATE TABLE snapshot_runs (
          run_id      TEXT PRIMARY KEY,
          kind        TEXT NOT NULL CHECK (kind IN ('exported-snapshot', 'replication-slot')),
          started_at  TEXT NOT NULL,
          finished_at TEXT
        ) STRICT;
        CREATE TABLE snapshot_tables (
          table_key     TEXT PRIMARY KEY,
          schema_name   TEXT NOT NULL,
          table_name    TEXT NOT NULL,
          columns       TEXT NOT NULL,
          planned_at    TEXT NOT NULL
        ) STRICT;
        CREATE TABLE snapshot_chunks (
          chunk_id        TEXT PRIMARY KEY,
          table_key       TEXT NOT NULL REFERENCES snapshot_tables (table_key),
          source_schema   TEXT NOT NULL,
          source_relation TEXT NOT NULL,
          first_page      INTEGER,
          end_page        INTEGER,
          file            TEXT NOT NULL,
          state           TEXT NOT NULL CHECK (state IN ('planned', 'exported')),
          run_id          TEXT REFERENCES snapshot_runs (run_id),
          row_count       INTEGER,
          byte_count      INTEGER,
          sha256          TEXT,
          exported_at     TEXT
        ) STRICT;
        CREATE INDEX snapshot_chunks_by_table ON snapshot_chunks (table_key);
        CREATE TABLE snapshot_sequences (
          schema_name   TEXT NOT NULL,
          sequence_name TEXT NOT NULL,
          last_value    TEXT NOT NULL,
          is_called     INTEGER NOT NULL,
          read_at       TEXT NOT NULL,
          PRIMARY KEY (schema_name, sequence_name)
        ) STRICT;
        CREATE TABLE snapshot_import_batches (
          chunk_id    TEXT NOT NULL REFERENCES snapshot_chunks (chunk_id),
          batch_no    INTEGER NOT NULL,
          row_count   INTEGER NOT NULL,
          imported_at TEXT NOT NULL,
          PRIMARY KEY (chunk_id, batch_no)
        ) STRICT;
        CREATE TABLE snapshot_import_settings (
          singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
          batch_size INTEGER NOT NULL,
          batch_bytes INTEGER NOT NULL,
          started_at TEXT NOT NULL
        ) STRICT;
      `);
    },
  },
  {
    version: 4,
    name: 'change queue segments',
    up(db, context) {
      // Written by the change queue (src/capture/queue, through src/state/queue-store.ts). One row per
      // stream holds its durable head: the last vsn and the end LSN of the last transaction whose events
      // are fsynced in data/queue/ (the LSN the exporter may acknowledge). One row per segment file holds
      // its committed size (readers never read past it; a writer reopening after a crash truncates the
      // file back to it), events and vsn range, and whether `archive changes` moved or deleted it. An
      // importer records how far it applied each stream (its own database holds the truth, in the same
      // transaction as the data); a segment every registered importer applied may be archived.
      db.exec(`
        CREATE TABLE queue_streams (
          stream       TEXT PRIMARY KEY CHECK (stream IN ('source-to-target', 'target-to-source')),
          last_vsn     INTEGER NOT NULL CHECK (last_vsn >= 0),
          last_end_lsn TEXT,
          updated_at   TEXT NOT NULL
        ) STRICT;
        CREATE TABLE queue_segments (
          stream         TEXT NOT NULL REFERENCES queue_streams (stream),
          segment_no     INTEGER NOT NULL CHECK (segment_no >= 1),
          file_name      TEXT NOT NULL UNIQUE,
          committed_size INTEGER NOT NULL CHECK (committed_size >= 0),
          event_count    INTEGER NOT NULL CHECK (event_count >= 0),
          first_vsn      INTEGER,
          last_vsn       INTEGER,
          last_end_lsn   TEXT,
          created_at     TEXT NOT NULL,
          closed_at      TEXT,
          archive_state  TEXT NOT NULL DEFAULT 'present' CHECK (archive_state IN ('present', 'archived', 'deleted')),
          archived_at    TEXT,
          archive_path   TEXT,
          PRIMARY KEY (stream, segment_no),
          CHECK ((event_count = 0) = (first_vsn IS NULL) AND (first_vsn IS NULL) = (last_vsn IS NULL)),
          CHECK (first_vsn IS NULL OR last_vsn - first_vsn + 1 = event_count)
        ) STRICT;
        CREATE INDEX queue_segments_by_last_vsn ON queue_segments (stream, last_vsn);
        CREATE TABLE queue_importers (
          stream        TEXT NOT NULL REFERENCES queue_streams (stream),
          importer      TEXT NOT NULL,
          applied_vsn   INTEGER NOT NULL CHECK (applied_vsn >= 0),
          registered_at TEXT NOT NULL,
          updated_at    TEXT NOT NULL,
          PRIMARY KEY (stream, importer)
        ) STRICT;
      `);
      const insert = db.prepare('INSERT INTO queue_streams (stream, last_vsn, last_end_lsn, updated_at) VALUES (?, 0, NULL, ?)');
      for (const stream of ['source-to-target', 'target-to-source']) insert.run(stream, context.now);
    },
  },
  {
    version: 5,
    name: 'live exports',
    up(db) {
      // Written by `export data from source --export-type snapshot-and-changes` (src/state/live-export-store.ts),
      // read by `import data to target` to know that a change stream follows the snapshot. One row per
      // stream: the slot and publication godwit created on the capturing database, the slot's consistent
      // point (the snapshot is the database exactly there; the stream starts there), and the state:
      // 'creating' (row written before anything was created), 'snapshot' (slot created, snapshot being
      // read under the slot's exported snapshot), 'streaming' (the snapshot is complete; from then on only
      // the change stream runs, and a restart resumes it from the slot).
      db.exec(`
        CREATE TABLE live_exports (
          stream            TEXT PRIMARY KEY CHECK (stream IN ('source-to-target', 'target-to-source')),
          slot_name         TEXT NOT NULL,
          publication_name  TEXT NOT NULL,
          state             TEXT NOT NULL CHECK (state IN ('creating', 'snapshot', 'streaming')),
          consistent_point  TEXT,
          snapshot_name     TEXT,
          started_at        TEXT NOT NULL,
          snapshot_done_at  TEXT,
          updated_at        TEXT NOT NULL,
          CHECK ((state = 'creating') = (consistent_point IS NULL))
        ) STRICT;
      `);
    },
  },
  {
    version: 6,
    name: 'applied change counts',
    up(db) {
      // Per-table counts of the change events an importer applied, for the data-migration report
      // (src/state/apply-counts-store.ts). CREATE ... IF NOT EXISTS: stores written before this
      // migration existed created the table on first use.
      db.exec(`
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
      `);
    },
  },
  {
    version: 7,
    name: 'exported change counts',
    up(db) {
      // Per-table counts of the change events the exporter made durable in the queue, for the
      // data-migration report (src/state/exported-counts-store.ts). Written in the same transaction
      // that records the queue commit, so they are exact whatever is killed.
      db.exec(`
        CREATE TABLE exported_change_counts (
          stream      TEXT NOT NULL CHECK (stream IN ('source-to-target', 'target-to-source')),
          table_key   TEXT NOT NULL,
          schema_name TEXT NOT NULL,
          table_name  TEXT NOT NULL,
          inserts     INTEGER NOT NULL CHECK (inserts >= 0),
          updates     INTEGER NOT NULL CHECK (updates >= 0),
          deletes     INTEGER NOT NULL CHECK (deletes >= 0),
          updated_at  TEXT NOT NULL,
          PRIMARY KEY (stream, table_key)
        ) STRICT;
      `);
    },
  },
  {
    version: 8,
    name: 'cutover state machine',
    up(db) {
      // The cutover state machine's persistence (src/cutover/cutover-store.ts, states in
      // src/cutover/cutover-states.ts). cutover_state: the current state per direction, written in the same
      // transaction as the history row of the transition; the end marker's id (chosen at the request, so
      // writing the sentinel row is idempotent) and, once the queue holds it, its vsn; the reverse
      // stream's slot and publication once prepared. cutover_history: every transition with its time.
      // cutover_sequences: the capturing database's sequence values read after the end marker (the
      // application had stopped writing), which the importer sets on the database taking over.
      db.exec(`
        CREATE TABLE cutover_state (
          direction                TEXT PRIMARY KEY CHECK (direction IN ('to-target', 'to-source')),
          state                    TEXT NOT NULL CHECK (state IN ('INITIATED', 'MARKER_WRITTEN', 'MARKER_QUEUED', 'CAPTURE_RELEASED',
                                                                  'DRAINED', 'SEQUENCES_SET', 'REVERSE_PREPARED', 'COMPLETED')),
          prepare_for_fall_back    INTEGER NOT NULL CHECK (prepare_for_fall_back IN (0, 1)),
          marker_id                TEXT NOT NULL,
          marker_vsn               INTEGER,
          reverse_slot             TEXT,
          reverse_publication      TEXT,
          reverse_consistent_point TEXT,
          requested_at             TEXT NOT NULL,
          updated_at               TEXT NOT NULL
        ) STRICT;
        CREATE TABLE cutover_history (
          id         INTEGER PRIMARY KEY AUTOINCREMENT,
          direction  TEXT NOT NULL CHECK (direction IN ('to-target', 'to-source')),
          from_state TEXT NOT NULL,
          event      TEXT NOT NULL,
          to_state   TEXT NOT NULL,
          at         TEXT NOT NULL,
          detail     TEXT
        ) STRICT;
        CREATE TABLE cutover_sequences (
          direction     TEXT NOT NULL CHECK (direction IN ('to-target', 'to-source')),
          schema_name   TEXT NOT NULL,
          sequence_name TEXT NOT NULL,
          last_value    TEXT NOT NULL,
          is_called     INTEGER NOT NULL CHECK (is_called IN (0, 1)),
          read_at       TEXT NOT NULL,
          PRIMARY KEY (direction, schema_name, sequence_name)
        ) STRICT;
      `);
    },
  },
  {
    version: 9,
    name: 'fall-back columns',
    up(db) {
      // The migrated tables' columns on the target when the fall-back slot was created (JSON: schema,
      // name, columns in the target's order): what the fall-back stream's table descriptions must match.
      db.exec('ALTER TABLE cutover_state ADD COLUMN reverse_columns TEXT');
    },
  },
];

/** Checks that a migration list is usable (1..n, in order) so a bad edit fails loudly in tests. */
export function assertMigrationList(migrations: readonly StoreMigration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `store migration "${migration.name}" has version ${migration.version}, expected ${index + 1}: versions must run 1, 2, 3, ... in order`,
      );
    }
  });
}
