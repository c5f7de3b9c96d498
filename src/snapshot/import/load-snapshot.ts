// The load part of `import data to target`: follows the store for chunk files as the exporter
// finishes them (the import may start before or while the export runs), splits each into batches,
// and loads the batches with `parallelJobs` loaders, largest first, each exactly once. Finishes when
// the export run is finished and every chunk of the selected tables is loaded.

import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GodwitError, StateError, UsageError, describeError } from '../../core/errors.js';
import type { QualifiedName } from '../../core/identifiers.js';
import type { Logger } from '../../core/logger.js';
import type { MigrationStore } from '../../state/store.js';
import {
  hasSnapshotPlan,
  listSnapshotChunks,
  listSnapshotTables,
  recordImportedBatch,
  snapshotExportFinished,
  type SnapshotChunk,
  type SnapshotTable,
} from '../../state/snapshot-store.js';
import { batchId, planBatches, type BatchLimits } from './batch-plan.js';
import { snapshotFileFormat } from '../snapshot-file-format.js';
import type { ImportProgress } from './import-progress.js';
import { loadBatch, type BatchJob } from './load-batch.js';
import { withSessionRetrying, type LoaderSessions } from '../../engines/loader-sessions.js';
import type { SourceColumn } from '../../engines/source-catalog.js';
import { assertBinaryColumnsMatch } from './binary-column-check.js';
import { chunksMissingBatches, confirmDurableBatches } from './durable-batches.js';

/** What the load needs besides the store and the sessions. */
export interface LoadSnapshotOptions {
  migrationId: string;
  dataDir: string;
  limits: BatchLimits;
  parallelJobs: number;
  include: readonly QualifiedName[];
  exclude: readonly QualifiedName[];
  /** The source's columns of a table as `export schema` recorded them (binary files are checked against the target's). */
  sourceColumns: (tableKey: string) => readonly SourceColumn[] | undefined;
  /** Batch ids already committed on the target (read at start). */
  alreadyLoaded: ReadonlySet<string>;
  pollIntervalMs: number;
  logger: Logger;
  progress: ImportProgress;
  signal: AbortSignal;
}

/** Counts for the summary line. */
export interface LoadSummary {
  tables: SnapshotTable[];
  loadedBatches: number;
  loadedRows: number;
  skippedBatches: number;
  chunks: number;
}

function matches(table: SnapshotTable, names: readonly QualifiedName[]): boolean {
  return names.some((n) => n.name === table.name && (n.schema === undefined || n.schema === table.schema));
}

/** The snapshot tables this import loads (--table-list / --exclude-table-list on top of the export's choice). */
export function selectTables(tables: readonly SnapshotTable[], include: readonly QualifiedName[], exclude: readonly QualifiedName[]): SnapshotTable[] {
  return tables.filter((t) => (include.length === 0 || matches(t, include)) && !matches(t, exclude));
}

/** Waits `ms` unless interrupted; an interruption says what was being waited for. */
async function pause(ms: number, signal: AbortSignal, waitingFor: string): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    const reason = signal.reason instanceof Error ? signal.reason.message : 'interrupted.';
    throw new UsageError(`${reason.replace(/\.$/, '')} while waiting for ${waitingFor}; nothing is lost, run the same command again to go on.`);
  }
}

/** Loads every exported chunk of the selected tables; returns when the export is finished and all is loaded. */
export async function loadSnapshot(store: MigrationStore, sessions: LoaderSessions, options: LoadSnapshotOptions): Promise<LoadSummary> {
  const { logger, progress, signal } = options;
  // Wait for a plan: the exporter records it before writing any file.
  let saidWaiting = false;
  while (!hasSnapshotPlan(store)) {
    if (!saidWaiting) {
      const line = 'waiting for `export data from source` to plan the snapshot (no tables are planned in this export directory yet)';
      logger.info(line);
      progress.phase(line);
      saidWaiting = true;
    }
    await pause(options.pollIntervalMs, signal, '`export data from source` to plan the snapshot');
  }
  const tables = selectTables(listSnapshotTables(store), options.include, options.exclude);
  const byKey = new Map(tables.map((t) => [t.tableKey, t]));
  if (options.include.length > 0 && tables.length === 0) {
    throw new UsageError('--table-list selects none of the tables the export planned.', {
      hint: `Planned tables: ${listSnapshotTables(store).map((t) => t.tableKey).join(', ')}.`,
    });
  }

  const queue: BatchJob[] = [];
  const planned = new Set<string>();
  const summary: LoadSummary = { tables, loadedBatches: 0, loadedRows: 0, skippedBatches: 0, chunks: 0 };
  let failure: unknown;
  let exportDone = false;
  const waiters: (() => void)[] = [];
  const notify = (): void => {
    for (const wake of waiters.splice(0)) wake();
  };

  const checkedBinary = new Set<string>();
  /** Chunk id -> its chunk, table and number of batches, for the durability check at the end. */
  const plannedChunks = new Map<string, { chunk: SnapshotChunk; table: SnapshotTable; batches: number }>();
  /** Plans a chunk's batches not in `loaded`; `again` for a chunk planned before (nothing counted twice). */
  const planChunk = async (chunk: SnapshotChunk, table: SnapshotTable, loaded: ReadonlySet<string>, again = false): Promise<void> => {
    const path = join(options.dataDir, chunk.file);
    if (snapshotFileFormat(chunk.file) === 'binary' && !checkedBinary.has(table.tableKey)) {
      const recorded = options.sourceColumns(table.tableKey);
      if (recorded === undefined) {
        throw new StateError(`The snapshot of ${table.tableKey} is in COPY binary format, but the store holds no source catalog entry for it to check the target's column types against.`, {
          hint: 'Run `godwit export schema` again (it records the source catalog), then the same command.',
        });
      }
      await withSessionRetrying(
        sessions,
        (session) => assertBinaryColumnsMatch(session, { tableKey: table.tableKey, columns: table.columns, displayName: `${table.schema}.${table.name}` }, recorded),
        (error, delayMs) => logger.warn(`checking the target columns of ${table.tableKey}: ${describeError(error)}; retrying in ${delayMs} ms`),
      );
      checkedBinary.add(table.tableKey);
    }
    const batches = await planBatches({ path, displayName: `data/${chunk.file}`, rowCount: chunk.rowCount, byteCount: chunk.byteCount, sha256: chunk.sha256 }, options.limits);
    plannedChunks.set(chunk.chunkId, { chunk, table, batches: batches.length });
    let doneRows = 0;
    let doneBytes = 0;
    const jobs: BatchJob[] = [];
    for (const batch of batches) {
      if (loaded.has(batchId(chunk.chunkId, batch.batchNo))) {
        if (again) continue;
        doneRows += batch.rowCount;
        doneBytes += batch.end - batch.start;
        summary.skippedBatches++;
        continue;
      }
      jobs.push({
        migrationId: options.migrationId,
        tableKey: table.tableKey,
        schema: table.schema,
        table: table.name,
        columns: table.columns,
        chunkId: chunk.chunkId,
        path,
        displayName: `data/${chunk.file}`,
        format: snapshotFileFormat(chunk.file),
        batch,
      });
    }
    if (doneRows > 0 || doneBytes > 0) progress.alreadyLoaded(table.tableKey, doneRows, doneBytes);
    // In the order the exporter finished them (it reads the largest first).
    queue.push(...jobs);
    if (!again) summary.chunks++;
    notify();
  };

  const reportTotals = (chunks: readonly SnapshotChunk[], finished: boolean): void => {
    const totals = new Map<string, { rows: number; bytes: number }>();
    for (const chunk of chunks) {
      if (!byKey.has(chunk.tableKey)) continue;
      const t = totals.get(chunk.tableKey) ?? { rows: 0, bytes: 0 };
      t.rows += chunk.rowCount ?? 0;
      t.bytes += chunk.byteCount ?? 0;
      totals.set(chunk.tableKey, t);
    }
    for (const table of tables) progress.tableTotals(table.tableKey, { ...(totals.get(table.tableKey) ?? { rows: 0, bytes: 0 }), exportFinished: finished });
  };

  // The planner: picks up newly exported chunks until the export run is finished.
  const planner = async (): Promise<void> => {
    let saidWaitingForFiles = false;
    while (failure === undefined) {
      const finished = snapshotExportFinished(store);
      const exported = listSnapshotChunks(store, 'exported');
      reportTotals(exported, finished);
      let found = false;
      for (const chunk of exported) {
        const table = byKey.get(chunk.tableKey);
        if (table === undefined || planned.has(chunk.chunkId)) continue;
        signal.throwIfAborted();
        planned.add(chunk.chunkId);
        await planChunk(chunk, table, options.alreadyLoaded);
        found = true;
      }
      if (finished) return;
      if (!found) {
        if (!saidWaitingForFiles && queue.length === 0) {
          const line = 'waiting for `export data from source` to finish more snapshot files';
          logger.info(line);
          progress.phase(line);
          saidWaitingForFiles = true;
        }
        await pause(options.pollIntervalMs, signal, '`export data from source` to finish the snapshot files');
      }
    }
  };

  const loader = async (): Promise<void> => {
    while (failure === undefined) {
      if (signal.aborted) return;
      const job = queue.shift();
      if (job === undefined) {
        if (exportDone) return;
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, options.pollIntervalMs).unref();
        });
        continue;
      }
      const outcome = await loadBatch(sessions, job, logger);
      const bytes = job.batch.end - job.batch.start;
      recordLater(job.chunkId, job.batch.batchNo, job.batch.rowCount);
      if (outcome === 'loaded') {
        summary.loadedBatches++;
        summary.loadedRows += job.batch.rowCount;
        progress.batchLoaded(job.tableKey, job.batch.rowCount, bytes);
      } else {
        summary.skippedBatches++;
        progress.alreadyLoaded(job.tableKey, job.batch.rowCount, bytes);
      }
      logger.debug(`batch ${batchId(job.chunkId, job.batch.batchNo)} of ${job.tableKey}: ${outcome}`, { rows: job.batch.rowCount, bytes });
    }
  };

  // The store's copy of the loaded batches is for status and reports (the target's bookkeeping is the
  // truth, and the copy is re-synced from it at every start), so it is written in groups: one durable
  // SQLite commit per batch cost half a second of the main thread per 150 batches.
  const pendingRecords: { chunkId: string; batchNo: number; rowCount: number }[] = [];
  let lastFlush = Date.now();
  const flushRecords = (): void => {
    if (pendingRecords.length === 0) return;
    const records = pendingRecords.splice(0);
    store.transaction(() => {
      for (const r of records) recordImportedBatch(store, r.chunkId, r.batchNo, r.rowCount);
    });
    lastFlush = Date.now();
  };
  function recordLater(chunkId: string, batchNo: number, rowCount: number): void {
    pendingRecords.push({ chunkId, batchNo, rowCount });
    if (pendingRecords.length >= 64 || Date.now() - lastFlush >= 1_000) flushRecords();
  }

  const fail = (error: unknown): void => {
    failure ??= error;
    notify();
  };
  const startLoaders = (): Promise<void>[] => Array.from({ length: Math.max(1, options.parallelJobs) }, () => loader().catch(fail));
  const loaders = startLoaders();
  await planner().then(
    () => {
      exportDone = true;
      notify();
    },
    fail,
  );
  exportDone = true;
  try {
    await Promise.all(loaders);
    // Batches whose asynchronous commit a target crash undid are found and loaded again.
    for (let round = 1; failure === undefined && !signal.aborted; round++) {
      const recorded = await confirmDurableBatches(sessions, options.migrationId);
      const planned = new Map([...plannedChunks].map(([id, p]) => [id, p.batches]));
      const missing = chunksMissingBatches(planned, recorded);
      if (missing.length === 0) break;
      if (round > 5) throw new StateError(`The target keeps losing committed batches of ${missing.length} chunk(s) (is it crashing?); run the same command again once it is stable.`);
      logger.warn(`the target lost batches of ${missing.length} chunk(s) that it had acknowledged (it restarted before flushing them); loading them again`, { chunks: missing.slice(0, 10) });
      const loaded = new Set(recorded.keys());
      for (const chunkId of missing) {
        const p = plannedChunks.get(chunkId);
        if (p !== undefined) await planChunk(p.chunk, p.table, loaded, true);
      }
      await Promise.all(startLoaders());
    }
  } finally {
    flushRecords();
  }
  if (failure !== undefined) throw failure;
  if (signal.aborted) {
    throw signal.reason instanceof GodwitError ? signal.reason : new UsageError('interrupted; run the same command again to go on.');
  }
  return summary;
}
