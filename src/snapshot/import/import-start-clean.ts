// `import data to target --start-clean`: forgets what earlier runs loaded (the store's copy, the fixed
// batch size and this migration's rows in the target's godwit_metadata.imported_batches) and, with
// --truncate-tables, empties the target tables; the caller asks for confirmation first, naming them.

import { quoteIdent } from '../../core/identifiers.js';
import type { Logger } from '../../core/logger.js';
import type { SqlSession } from '../../engines/sql-session.js';
import type { MigrationStore } from '../../state/store.js';
import { listSnapshotTables, type SnapshotTable } from '../../state/snapshot-store.js';
import { resetSnapshotImport } from '../../state/snapshot-store.js';
import { clearImportedBatches } from './imported-batches.js';

/** The tables --truncate-tables would empty: the snapshot's tables, as far as a plan exists. */
export function tablesToTruncate(store: MigrationStore): SnapshotTable[] {
  return listSnapshotTables(store);
}

/** Resets the import; truncates `truncate` (root tables: partitions go with them) when given. */
export async function startCleanImport(
  store: MigrationStore,
  session: SqlSession,
  migrationId: string,
  truncate: readonly SnapshotTable[],
  logger: Logger,
): Promise<void> {
  if (truncate.length > 0) {
    const names = truncate.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`);
    await session.query(`TRUNCATE TABLE ${names.join(', ')}`);
    logger.warn(`start-clean: truncated ${names.join(', ')} on the target`);
  }
  const cleared = await session
    .query("SELECT to_regclass('godwit_metadata.imported_batches') IS NOT NULL AS present")
    .then(async ({ rows }) => (rows[0]?.present === true ? clearImportedBatches(session, migrationId) : 0));
  resetSnapshotImport(store);
  logger.warn(`start-clean: forgot ${cleared} loaded batch record(s) of migration ${migrationId} on the target and the import state in the store`);
}
