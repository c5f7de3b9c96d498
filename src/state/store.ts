// The migration store: a small SQLite database in metainfo/ that holds what a migration knows about
// itself (its id, the status of each phase, and, as later migrations add them, per-table progress,
// queue segments and cutover state). Several godwit processes open it at once (exporter, importer,
// status commands); WAL lets readers run beside the one writer, synchronous=FULL makes each commit
// durable before it returns, and every write runs in a BEGIN IMMEDIATE transaction.

import Database from 'better-sqlite3';
import { StateError, describeError } from '../core/errors.js';
import { GODWIT_VERSION } from '../core/version.js';
import {
  PHASE_STATES,
  STORE_MIGRATIONS,
  assertMigrationList,
  type PhaseState,
  type StoreMigration,
} from './store-migrations.js';

export { PHASE_STATES, STORE_MIGRATIONS, type PhaseState, type StoreMigration } from './store-migrations.js';

/** How long a statement waits for another process's write lock before failing with SQLITE_BUSY. */
export const STORE_BUSY_TIMEOUT_MS = 10_000;

/** The migration's identity, created once when the store is first opened. */
export interface MigrationRecord {
  migrationId: string;
  createdAt: string;
  godwitVersion: string;
}

/** The recorded state of one workflow phase; a phase never touched reads as not-started. */
export interface PhaseStatus {
  phase: string;
  state: PhaseState;
  updatedAt: string | null;
  detail: string | null;
}

/** One row of the store's schema history. */
export interface AppliedStoreMigration {
  version: number;
  name: string;
  appliedAt: string;
  godwitVersion: string;
}

export interface OpenStoreOptions {
  /** The migrations to bring the store up to; tests append their own tables here. */
  migrations?: readonly StoreMigration[];
  godwitVersion?: string;
  busyTimeoutMs?: number;
  clock?: () => Date;
}

/** Opens (creating if needed) the store at `file` and applies pending migrations; the one way in. */
export function openStore(file: string, options: OpenStoreOptions = {}): MigrationStore {
  const migrations = options.migrations ?? STORE_MIGRATIONS;
  assertMigrationList(migrations);
  const version = options.godwitVersion ?? GODWIT_VERSION;
  const clock = options.clock ?? (() => new Date());
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (error) {
    throw new StateError(`Cannot open the migration store ${file}: ${describeError(error)}`, { cause: error });
  }
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? STORE_BUSY_TIMEOUT_MS}`);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') {
      throw new StateError(`The migration store ${file} could not switch to WAL journaling (got ${String(mode)}).`);
    }
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    applyMigrations(db, file, migrations, version, clock);
  } catch (error) {
    db.close();
    if (error instanceof StateError) throw error;
    throw new StateError(`Cannot use the migration store ${file}: ${describeError(error)}`, {
      cause: error,
      hint: 'The file is not a godwit migration store or is damaged; restore it or start with an empty --export-dir.',
    });
  }
  return new MigrationStore(db, file, clock);
}

function applyMigrations(
  db: Database.Database,
  file: string,
  migrations: readonly StoreMigration[],
  version: string,
  clock: () => Date,
): void {
  const known = migrations.length;
  // One migration per transaction; the version is re-read inside each, so two processes opening
  // the same new store at once apply every migration exactly once between them.
  const step = db.transaction((): boolean => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
      version        INTEGER PRIMARY KEY,
      name           TEXT NOT NULL,
      applied_at     TEXT NOT NULL,
      godwit_version TEXT NOT NULL
    ) STRICT`);
    const current = currentVersion(db);
    if (current > known) throw newerStoreError(db, file, current, known, version);
    if (current === known) return false;
    const next = migrations[current];
    if (next === undefined) throw new Error(`store migration ${current + 1} is missing`);
    const now = clock().toISOString();
    next.up(db, { godwitVersion: version, now });
    db.prepare('INSERT INTO schema_version (version, name, applied_at, godwit_version) VALUES (?, ?, ?, ?)').run(
      next.version,
      next.name,
      now,
      version,
    );
    return true;
  });
  while (step.immediate()) {
    // keep applying until the store is at the latest known version
  }
}

function currentVersion(db: Database.Database): number {
  const row = db.prepare('SELECT max(version) AS version FROM schema_version').get() as { version: number | null };
  return row.version ?? 0;
}

function newerStoreError(db: Database.Database, file: string, current: number, known: number, version: string): StateError {
  const newest = db
    .prepare('SELECT godwit_version FROM schema_version ORDER BY version DESC LIMIT 1')
    .get() as { godwit_version: string } | undefined;
  const writer = newest === undefined ? 'a newer godwit' : `godwit ${newest.godwit_version}`;
  return new StateError(
    `The migration store ${file} has schema version ${current}, but this godwit (${version}) knows versions up to ${known}: it was written by ${writer}.`,
    { hint: `Run this migration with ${writer} or later.` },
  );
}

/** Typed access to the store; one instance per open connection, closed by its owner. */
export class MigrationStore {
  /** The raw connection, for the store's own modules in src/state that add tables through migrations. */
  readonly db: Database.Database;
  readonly file: string;
  private readonly clock: () => Date;

  constructor(db: Database.Database, file: string, clock: () => Date) {
    this.db = db;
    this.file = file;
    this.clock = clock;
  }

  /** Runs `fn` in one BEGIN IMMEDIATE transaction (nested calls become savepoints); `fn` must be synchronous. */
  transaction<T>(fn: (db: Database.Database) => T): T {
    return this.db.transaction(() => fn(this.db)).immediate();
  }

  /** The current time as the store records it (injectable for tests). */
  now(): string {
    return this.clock().toISOString();
  }

  /** The schema version the store is at (the number of migrations applied). */
  schemaVersion(): number {
    return currentVersion(this.db);
  }

  /** The store's schema history, oldest first. */
  appliedMigrations(): AppliedStoreMigration[] {
    const rows = this.db
      .prepare('SELECT version, name, applied_at, godwit_version FROM schema_version ORDER BY version')
      .all() as { version: number; name: string; applied_at: string; godwit_version: string }[];
    return rows.map((row) => ({
      version: row.version,
      name: row.name,
      appliedAt: row.applied_at,
      godwitVersion: row.godwit_version,
    }));
  }

  /** The migration's identity record. */
  getMigrationRecord(): MigrationRecord {
    const row = this.db.prepare('SELECT migration_id, created_at, godwit_version FROM migration').get() as
      | { migration_id: string; created_at: string; godwit_version: string }
      | undefined;
    if (row === undefined) throw new StateError(`The migration store ${this.file} has no migration record.`);
    return { migrationId: row.migration_id, createdAt: row.created_at, godwitVersion: row.godwit_version };
  }

  /** The UUID naming this migration (used in slot, publication and metadata names). */
  getMigrationId(): string {
    return this.getMigrationRecord().migrationId;
  }

  /** The recorded status of `phase`, or not-started when it was never recorded. */
  getPhaseStatus(phase: string): PhaseStatus {
    const row = this.db.prepare('SELECT phase, state, updated_at, detail FROM phase_status WHERE phase = ?').get(phase) as
      | PhaseRow
      | undefined;
    if (row === undefined) return { phase, state: 'not-started', updatedAt: null, detail: null };
    return fromPhaseRow(row);
  }

  /**
   * Records that `phase` failed with `error`, best effort: when the store cannot be written (a full
   * disk, say), the original error is what the user must see, so this never throws.
   */
  recordPhaseFailure(phase: string, error: unknown): void {
    try {
      this.setPhaseStatus(phase, 'failed', describeError(error));
    } catch {
      // The caller rethrows the original error.
    }
  }

  /** Records that `phase` is now in `state` (with an optional human-readable detail). */
  setPhaseStatus(phase: string, state: PhaseState, detail?: string): PhaseStatus {
    if (!PHASE_STATES.includes(state)) throw new StateError(`Unknown phase state "${String(state)}".`);
    const updatedAt = this.now();
    this.transaction((db) =>
      db
        .prepare(
          `INSERT INTO phase_status (phase, state, updated_at, detail) VALUES (?, ?, ?, ?)
           ON CONFLICT (phase) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at, detail = excluded.detail`,
        )
        .run(phase, state, updatedAt, detail ?? null),
    );
    return { phase, state, updatedAt, detail: detail ?? null };
  }

  /** Every recorded phase status, by phase name. */
  listPhaseStatus(): PhaseStatus[] {
    const rows = this.db.prepare('SELECT phase, state, updated_at, detail FROM phase_status ORDER BY phase').all() as PhaseRow[];
    return rows.map(fromPhaseRow);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }
}

interface PhaseRow {
  phase: string;
  state: PhaseState;
  updated_at: string;
  detail: string | null;
}

function fromPhaseRow(row: PhaseRow): PhaseStatus {
  return { phase: row.phase, state: row.state, updatedAt: row.updated_at, detail: row.detail };
}
