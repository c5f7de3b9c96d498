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
