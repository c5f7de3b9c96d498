// The batches already loaded, as the target's godwit_metadata.imported_batches records them (the
// truth: written in the same transaction as the rows), and the store's copy of them for status and
// reports, brought in line with the target when the import starts.

import type { SqlSession } from '../../engines/sql-session.js';
import { BOOKKEEPING_SCHEMA } from '../../engines/bookkeeping-schema.js';
import type { MigrationStore } from '../../state/store.js';
import { recordImportedBatch } from '../../state/snapshot-store.js';
import { parseBatchId } from './batch-plan.js';

/** Batch ids (chunk#n) committed on the target for this migration, with their row counts. */
export async function readImportedBatches(session: SqlSession, migrationId: string): Promise<Map<string, number>> {
  const { rows } = await session.query<{ batch_id: string; row_count: string }>(
    `SELECT batch_id, row_count FROM ${BOOKKEEPING_SCHEMA}.imported_batches WHERE migration_id = $1`,
    [migrationId],
  );
  return new Map(rows.map((r) => [r.batch_id, Number(r.row_count)]));
}

/**
 * Makes the store's copy equal to the target's record: drops rows the target does not have (a batch
 * lost with the target's own crash, or a target reset by hand) and adds those it has, for chunks the
 * store knows. Raw SQL on the store until snapshot-store.ts offers a reset (asked of the lead).
 */
export function syncStoreCopy(store: MigrationStore, onTarget: ReadonlyMap<string, number>): void {
  store.transaction((db) => {
    const known = db.prepare('SELECT chunk_id, batch_no FROM snapshot_import_batches').all() as { chunk_id: string; batch_no: number }[];
    const remove = db.prepare('DELETE FROM snapshot_import_batches WHERE chunk_id = ? AND batch_no = ?');
    for (const row of known) if (!onTarget.has(`${row.chunk_id}#${row.batch_no}`)) remove.run(row.chunk_id, row.batch_no);
    const chunks = new Set((db.prepare('SELECT chunk_id FROM snapshot_chunks').all() as { chunk_id: string }[]).map((r) => r.chunk_id));
    for (const [id, rowCount] of onTarget) {
      const parsed = parseBatchId(id);
      if (parsed !== undefined && chunks.has(parsed.chunkId)) recordImportedBatch(store, parsed.chunkId, parsed.batchNo, rowCount);
    }
  });
}

/** Forgets everything the import did (--start-clean): the store's batch copy and the fixed batch size. */
export function resetStoreImport(store: MigrationStore): void {
  store.transaction((db) => {
    db.prepare('DELETE FROM snapshot_import_batches').run();
    db.prepare('DELETE FROM snapshot_import_settings').run();
  });
}

/** Deletes this migration's batch records on the target (--start-clean); returns how many there were. */
export async function clearImportedBatches(session: SqlSession, migrationId: string): Promise<number> {
  const { rows } = await session.query<{ n: string }>(
    `WITH gone AS (DELETE FROM ${BOOKKEEPING_SCHEMA}.imported_batches WHERE migration_id = $1 RETURNING 1) SELECT count(*) AS n FROM gone`,
    [migrationId],
  );
  return Number(rows[0]?.n ?? 0);
}

/** How the export was taken, from the store: sequences are set at the end only of a snapshot-only migration. */
export function snapshotRunKind(store: MigrationStore): 'exported-snapshot' | 'replication-slot' | undefined {
  const row = store.db.prepare('SELECT kind FROM snapshot_runs WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1').get() as
    | { kind: 'exported-snapshot' | 'replication-slot' }
    | undefined;
  return row?.kind;
}
