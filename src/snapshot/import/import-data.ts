// `import data to target`, snapshot part, end to end: fixes the batch size at the first start, makes
// sure the target's bookkeeping exists, reads what is already loaded, loads the rest, then builds the
// indexes and keys import schema left for after the load and, for a snapshot-only migration, sets the
// sequences. Every step can be interrupted and run again.

import { quoteIdent, type QualifiedName } from '../../core/identifiers.js';
import { hasSourceCatalog, readSourceCatalog } from '../../state/catalog-store.js';
import type { SourceColumn } from '../../engines/source-catalog.js';
import type { Logger } from '../../core/logger.js';
import { ensureBookkeepingSchema } from '../../engines/bookkeeping-schema.js';
import type { ExportDir } from '../../state/export-dir.js';
import type { MigrationStore } from '../../state/store.js';
import { importBatchSettings, importedRowsByTable, listSequenceValues } from '../../state/snapshot-store.js';
import { planImport } from '../../schema/import/plan-import.js';
import { readSchemaFiles } from '../../schema/import/read-schema-files.js';
import type { BatchLimits } from './batch-plan.js';
import type { ImportProgress } from './import-progress.js';
import { snapshotRunKind } from '../../state/snapshot-store.js';
import { readImportedBatches, syncStoreCopy } from './imported-batches.js';
import { withSession, type LoaderSessions } from '../../engines/loader-sessions.js';
import { loadSnapshot, type LoadSummary } from './load-snapshot.js';
import { buildPostSnapshot, type PostSnapshotSummary } from './post-snapshot.js';
import { analyzeTables } from './analyze-tables.js';
import { setSequences } from './set-sequences.js';

export { IMPORT_DATA_PHASE } from './import-phase.js';

/**
 * How often the import looks for chunk files the exporter finished: a cheap SQLite read, and every
 * second of delay here is a second the loaders sit idle while the export runs side by side.
 */
export const DEFAULT_POLL_INTERVAL_MS = 100;

/** Defaults: rows per batch come from --batch-size; bytes per batch are capped here. */
export const DEFAULT_BATCH_BYTES = 64 << 20;

export interface ImportDataOptions {
  batch: BatchLimits;
  parallelJobs: number;
  include: readonly QualifiedName[];
  exclude: readonly QualifiedName[];
  pollIntervalMs?: number;
  logger: Logger;
  progress: ImportProgress;
  signal: AbortSignal;
}

export interface ImportDataSummary {
  load: LoadSummary;
  limits: BatchLimits;
  postSnapshot: PostSnapshotSummary | undefined;
  /** Undefined when the schema files are absent (nothing to build). */
  postSnapshotStatements: number | undefined;
  /** Tables whose statistics were gathered (ANALYZE) after the load. */
  analyzed: number;
  sequencesSet: number;
  sequencesSkippedReason: string | undefined;
}

/** Runs the snapshot import; throws typed errors, the store phase records the outcome. */
export async function importSnapshotData(dir: ExportDir, store: MigrationStore, sessions: LoaderSessions, options: ImportDataOptions): Promise<ImportDataSummary> {
  const { logger, progress, signal } = options;
  const migrationId = store.getMigrationId();
  const limits = importBatchSettings(store, options.batch);
  if (limits.batchSize !== options.batch.batchSize) {
    logger.warn(`keeping the batch size of the first start (${limits.batchSize} rows) so batch numbers stay the same; --batch-size ${options.batch.batchSize} applies after --start-clean`);
  }
  const alreadyLoaded = await withSession(sessions, async (session) => {
    await ensureBookkeepingSchema(session);
    return readImportedBatches(session, migrationId);
  });
  syncStoreCopy(store, alreadyLoaded);
  logger.info('snapshot import starts', { migrationId, batchSize: limits.batchSize, batchBytes: limits.batchBytes, alreadyLoadedBatches: alreadyLoaded.size });

  // Read when first needed (the import may start before `export schema` records the catalog).
  let columnsByTable = new Map<string, SourceColumn[]>();
  const sourceColumns = (tableKey: string): SourceColumn[] | undefined => {
    if (!columnsByTable.has(tableKey) && hasSourceCatalog(store)) {
      columnsByTable = new Map(readSourceCatalog(store).tables.map((t) => [`${quoteIdent(t.schema)}.${quoteIdent(t.name)}`, t.columns]));
    }
    return columnsByTable.get(tableKey);
  };
  // The schema files (and the SQL parser that reads them) are needed once the load is over: read them meanwhile.
  const schemaFiles = readSchemaFiles(dir.schemaDir);
  schemaFiles.catch(() => undefined);
  const load = await loadSnapshot(store, sessions, {
    migrationId,
    sourceColumns,
    dataDir: dir.dataDir,
    limits,
    parallelJobs: options.parallelJobs,
    include: options.include,
    exclude: options.exclude,
    alreadyLoaded: new Set(alreadyLoaded.keys()),
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    logger,
    progress,
    signal,
  });
  // Refresh again: batches loaded by this run are in the store already; this catches any another copy committed.
  syncStoreCopy(store, await withSession(sessions, (session) => readImportedBatches(session, migrationId)));
  logger.info('snapshot load finished', { ...load, tables: load.tables.length });

  let postSnapshot: PostSnapshotSummary | undefined;
  let postSnapshotStatements: number | undefined;
  const onDisk = await schemaFiles.catch((error: unknown) => {
    logger.warn(`no exported schema to build indexes and keys from: ${String(error)}`);
    return undefined;
  });
  if (onDisk !== undefined) {
    const plan = planImport(onDisk.manifest, onDisk.files, { include: [], exclude: [] });
    postSnapshotStatements = plan.postSnapshot.length;
    progress.phase(`building ${plan.postSnapshot.length} indexes and keys`);
    const started = Date.now();
    postSnapshot = await buildPostSnapshot(sessions, plan.sessionSettings, plan.postSnapshot, importedRowsByTable(store), logger, signal, (done, total) =>
      progress.phase(`building indexes and keys: ${done} of ${total} tables done`),
    );
    logger.info(`indexes and keys built in ${Date.now() - started} ms`, { ...postSnapshot });
  }

  progress.phase(`analyzing ${load.tables.length} tables`);
  const analyzeStarted = Date.now();
  const weights = importedRowsByTable(store);
  const largestFirst = load.tables.map((t) => t.tableKey).sort((a, b) => (weights.get(b) ?? 0) - (weights.get(a) ?? 0));
  const analyzed = await analyzeTables(sessions, largestFirst, logger, signal);
  logger.info(`analyzed ${analyzed} of ${largestFirst.length} tables in ${Date.now() - analyzeStarted} ms`);

  let sequencesSet = 0;
  let sequencesSkippedReason: string | undefined;
  const kind = snapshotRunKind(store);
  if (kind === 'exported-snapshot') {
    progress.phase('setting sequences');
    const values = listSequenceValues(store);
    sequencesSet = await withSession(sessions, (session) => setSequences(session, values));
  } else {
    sequencesSkippedReason = 'a live migration sets sequences at cutover';
  }
  return { load, limits, postSnapshot, postSnapshotStatements, analyzed, sequencesSet, sequencesSkippedReason };
}
