// What `end migration` asks of each database, as an interface: find and remove the objects one
// migration created there (replication slots, publications, its rows in the bookkeeping schema, and
// the schema itself once no other migration uses it). The PostgreSQL implementation is
// postgres/cleanup/migration-objects.ts; the pipeline (src/end) never sees a driver.

/** What a migration left on one database. */
export interface MigrationObjects {
  /** Logical replication slots of this migration in the connected database, with the pid streaming from each (null when idle). */
  slots: { name: string; activePid: number | null }[];
  publications: string[];
  /** Whether the bookkeeping schema exists, and whether rows of other migrations are in it. */
  bookkeeping: { present: boolean; otherMigrations: boolean };
}

/** What was removed from one database. */
export interface CleanupResult {
  droppedSlots: string[];
  droppedPublications: string[];
  /** 'dropped': the schema is gone; 'kept': other migrations' rows remain (only this migration's rows were deleted); 'absent': there was none. */
  bookkeeping: 'dropped' | 'kept' | 'absent';
}

/** One database's side of `end migration`. */
export interface MigrationCleanup {
  /** Describes the database, for messages (`source 127.0.0.1:5432/app`). */
  readonly label: string;
  /** Lists what the migration left, without changing anything. */
  inspect(): Promise<MigrationObjects>;
  /**
   * Drops the slots and publications and this migration's bookkeeping. A slot still streaming is
   * waited for up to `waitActiveMs`; with `terminateActive` its walsender is then terminated, without
   * it the call fails naming the process.
   */
  remove(options: { waitActiveMs: number; terminateActive: boolean }): Promise<CleanupResult>;
  close(): Promise<void>;
}
