// The batches already loaded, as the target's godwit_metadata.imported_batches records them (the
// truth: written in the same transaction as the rows), and the store's copy of them for status and
// reports, brought in line with the target when the import starts.

import type { SqlSession } from '../../engines/sql-session.js';
import { BOOKKEEPING_SCHEMA } from '../../engines/bookkeeping-schema.js';
import type { MigrationStore } from '../../state/store.js';
import { replaceImportedBatches } from '../../state/snapshot-store.js';
import { parseBatchId } from './batch-plan.js';

/** Batch ids (chunk#n) committed on the target for this migration, with their row counts. */
export async function readImportedBatches(session: SqlSession, migrationId: string): Promise<Map<string, number>> {
  const { rows } = await session.query<{ batch_id: string; row_count: string }>(
    `SELECT batch_id, row_count FROM ${BOOKKEEPING_SCHEMA}.imported_batches WHERE migration_id = $1`,
    [migrationId],
  );
  return new Map(rows.map((r) => [r.batch_id, Number(r.row_count)]));
}

/** Makes the store's copy of the batches equal to the target's record (the target is the truth). */
export function syncStoreCopy(store: MigrationStore, onTarget: ReadonlyMap<string, number>): void {
  const batches: { chunkId: string; batchNo: number; rowCount: number }[] = [];
  for (const [id, rowCount] of onTarget) {
    const parsed = parseBatchId(id);
    if (parsed !== undefined) batches.push({ ...parsed, rowCount });
  }
  replaceImportedBatches(store, batches);
}

/** Deletes this migration's batch records on the target (--start-clean); returns how many there were. */
export async function clearImportedBatches(session: SqlSession, migrationId: string): Promise<number> {
  const { rows } = await session.query<{ n: string }>(
    `WITH gone AS (DELETE FROM ${BOOKKEEPING_SCHEMA}.imported_batches WHERE migration_id = $1 RETURNING 1) SELECT count(*) AS n FROM gone`,
    [migrationId],
  );
  return Number(rows[0]?.n ?? 0);
}
