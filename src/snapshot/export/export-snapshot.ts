// `export data from source` (snapshot part): plans the chunks once, takes one consistent snapshot,
// reads sequence values in it, and streams every planned chunk with --parallel-jobs readers that join
// the snapshot, largest chunks first. Each chunk is recorded only once its file is durable, so a run
// killed at any moment resumes with the same command: the plan is kept, stray .partial files go, and
// the chunks not yet recorded are read under a new snapshot.

import { randomUUID } from 'node:crypto';
import { StateError } from '../../core/errors.js';
import type { QualifiedName } from '../../core/identifiers.js';
import type { Logger } from '../../core/logger.js';
import type { SourceCatalog } from '../../engines/source-catalog.js';
import {
  finishSnapshotRun,
  hasSnapshotPlan,
  listSnapshotChunks,
  listSnapshotTables,
  markChunkExported,
  recordSequenceValues,
  recordSnapshotPlan,
  recordSnapshotRun,
  snapshotExportFinished,
  type SnapshotChunk,
} from '../../state/snapshot-store.js';
import type { MigrationStore } from '../../state/store.js';
import { DEFAULT_CHUNK_PAGES, chunkCopySql, chunkPages, planChunks, readRelationSizes, type RelationSize } from './chunk-plan.js';
import { removeChunkFile, removePartialFiles, writeChunkFile } from './chunk-writer.js';
import { silentProgress, type ExportProgressListener } from './export-progress.js';
import { readSequenceValues } from './sequence-values.js';
import type { SnapshotEngine, SnapshotReader, SnapshotSource } from '../../engines/snapshot-engine.js';
import { selectTables, type SelectedTable } from './table-selection.js';
import { snapshotFileFormat } from '../snapshot-file-format.js';
import { DEFAULT_SEGMENT_LIMITS } from '../chunk-index.js';

/** Everything the snapshot export works with. */
export interface SnapshotExportOptions {
  store: MigrationStore;
  /** `data/` of the export directory. */
  dataDir: string;
  /** Directories under dataDir that are not the snapshot's (the change queue). */
  foreignDirs?: readonly string[];
  catalog: SourceCatalog;
  engine: SnapshotEngine;
  include: readonly QualifiedName[];
  exclude: readonly QualifiedName[];
  parallelJobs: number;
  /** Every table in COPY text, even where binary would do (`--snapshot-format text`); applies when the plan is made. */
  textOnly?: boolean;
  /** Relations larger than this many pages are split into ranges of this size (default DEFAULT_CHUNK_PAGES). */
  chunkPages?: number;
  logger: Logger;
  progress?: ExportProgressListener;
  signal?: AbortSignal;
  /** Test hook: awaited before each chunk is read (slows an export down to crash or change it mid-way). */
  beforeChunk?: (chunk: SnapshotChunk) => Promise<void>;
}

/** What a run did. */
export interface SnapshotExportSummary {
  tables: number;
  chunks: number;
  /** Chunks exported by this run (the others were exported by earlier runs). */
  chunksThisRun: number;
  /** Rows in every exported chunk of the plan. */
  rows: number;
  bytes: number;
  /** Bytes written by this run, and its duration, for throughput. */
  bytesThisRun: number;
  seconds: number;
  /** Null when nothing was left to export. */
  runId: string | null;
  resumed: boolean;
}

/** Runs (or resumes) the snapshot export; throws typed errors, never exits. */
export async function exportSnapshot(options: SnapshotExportOptions): Promise<SnapshotExportSummary> {
  const { store, logger } = options;
  const progress = options.progress ?? silentProgress;
  const started = Date.now();
  const selected = selectTables(options.catalog, options.include, options.exclude);
  const resumed = hasSnapshotPlan(store);
  if (resumed) assertSamePlan(store, selected);
  if (resumed && snapshotExportFinished(store)) {
    logger.info('every planned chunk is already exported; nothing to do');
    return summarize(store, 0, 0, started, null, true);
  }

  const removed = await removePartialFiles(options.dataDir, options.foreignDirs ?? []);
  if (removed.length > 0) logger.info(`removed ${removed.length} unfinished chunk file(s) of an interrupted run`, { files: removed });

  const source = await options.engine.openSource();
  let ok = false;
  try {
    const runId = randomUUID();
    recordSnapshotRun(store, runId, source.kind);
    logger.info(`snapshot ${source.snapshotId} taken (${source.kind}), run ${runId}`);
    if (resumed) {
      logger.warn(
        'resuming an interrupted export: the chunks still to export are read under a new snapshot, so the export now spans ' +
          'two (or more) snapshots. This is safe for snapshot-only, an offline copy for which the application must be stopped ' +
          '(the source does not change); snapshot-and-changes never resumes this way.',
      );
    }
    const sizes = await readRelationSizes(source.session, selected.flatMap((t) => t.relations));
    if (!resumed) {
      const plan = planChunks(selected, sizes, {
        chunkPages: options.chunkPages ?? DEFAULT_CHUNK_PAGES,
        serverVersionNum: options.engine.serverVersionNum,
        formatOf: (table) => (options.textOnly === true ? 'text' : options.engine.copyFormat(table.sourceColumns)),
      });
      recordSnapshotPlan(store, plan.tables, plan.chunks);
      logger.info(`planned ${plan.tables.length} table(s) in ${plan.chunks.length} chunk(s)`);
    }
    recordSequenceValues(store, await readSequenceValues(source.session, options.catalog.sequences));

    const pending = listSnapshotChunks(store, 'planned').sort((a, b) => chunkPages(b, sizes) - chunkPages(a, sizes));
    // A file in place but not recorded: the previous run died between rename and record. Rewrite it.
    for (const chunk of pending) await removeChunkFile(options.dataDir, chunk.file);
    progress.started(progressPlan(store, sizes));
    const bytes = await runReaders(options, source, pending, runId, progress, blankPaddedFields(options.engine, selected));
    finishSnapshotRun(store, runId);
    ok = true;
    return summarize(store, pending.length, bytes, started, runId, resumed);
  } finally {
    progress.finished(ok);
    await source.close();
  }
}

/** Per table key, per column name: may its values travel without trailing spaces (the engine says which). */
function blankPaddedFields(engine: SnapshotEngine, selected: readonly SelectedTable[]): Map<string, Map<string, boolean>> {
  return new Map(
    selected.map((t) => {
      const padded = engine.blankPadded(t.sourceColumns);
      return [t.tableKey, new Map(t.sourceColumns.map((c, i) => [c.name, padded[i] === true]))];
    }),
  );
}

/** Reads `pending` chunks with up to parallelJobs readers; the first failure stops every reader. */
async function runReaders(
  options: SnapshotExportOptions,
  source: SnapshotSource,
  pending: SnapshotChunk[],
  runId: string,
  progress: ExportProgressListener,
  blankPadded: ReadonlyMap<string, ReadonlyMap<string, boolean>>,
): Promise<number> {
  const columns = new Map(listSnapshotTables(options.store).map((t) => [t.tableKey, t.columns]));
  const paddedFields = new Map([...columns].map(([tableKey, names]) => [tableKey, names.map((name) => blankPadded.get(tableKey)?.get(name) === true)]));
  const segmentLimits = DEFAULT_SEGMENT_LIMITS;
  const queue = [...pending];
  const readers: SnapshotReader[] = [];
  let failure: unknown;
  let bytes = 0;
  const stopAll = (): void => {
    for (const reader of readers) reader.destroy();
  };
  const onAbort = (): void => {
    failure ??= options.signal?.reason ?? new Error('aborted');
    stopAll();
  };
  options.signal?.addEventListener('abort', onAbort);
  const worker = async (): Promise<void> => {
    let reader: SnapshotReader | undefined;
    try {
      const active = await options.engine.openReader(source.snapshotId);
      reader = active;
      readers.push(active);
      if (failure !== undefined) return;
      for (let chunk = queue.shift(); chunk !== undefined && failure === undefined; chunk = queue.shift()) {
        await options.beforeChunk?.(chunk);
        if (failure !== undefined) return;
        const sql = chunkCopySql(chunk, columns.get(chunk.tableKey) ?? []);
        const tableKey = chunk.tableKey;
        let written;
        try {
          const format = snapshotFileFormat(chunk.file);
          const padded = paddedFields.get(tableKey);
          written = await writeChunkFile(options.dataDir, chunk.file, format, () => active.copyOut(sql, format, segmentLimits, padded), (b, rows) => progress.data(tableKey, b, rows));
        } catch (error) {
          throw options.engine.describeFailure(error, `exporting ${chunk.tableKey} (chunk ${chunk.file} of ${chunk.sourceSchema}.${chunk.sourceRelation})`);
        }
        markChunkExported(options.store, chunk.chunkId, runId, written.rowCount, written.byteCount, written.sha256);
        bytes += written.byteCount;
        progress.chunkDone(chunk.tableKey);
        options.logger.debug(`exported ${chunk.file}: ${written.rowCount} rows, ${written.byteCount} bytes`);
      }
    } catch (error) {
      if (failure === undefined) {
        failure = error;
        stopAll();
      }
    } finally {
      await reader?.close();
    }
  };
  const jobs = Math.max(1, Math.min(options.parallelJobs, pending.length));
  try {
    await Promise.all(Array.from({ length: jobs }, () => worker()));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) throw failure;
  return bytes;
}

function assertSamePlan(store: MigrationStore, selected: readonly SelectedTable[]): void {
  const planned = listSnapshotTables(store).map((t) => t.tableKey).sort();
  const wanted = selected.map((t) => t.tableKey).sort();
  if (planned.length !== wanted.length || planned.some((key, i) => key !== wanted[i])) {
    throw new StateError('An earlier run of `export data from source` planned a different set of tables; it resumes only with the same tables.', {
      hint: `Planned: ${planned.join(', ')}. Run the same command again (same --table-list / --exclude-table-list), or add --start-clean to start over.`,
    });
  }
}

function progressPlan(store: MigrationStore, sizes: ReadonlyMap<string, RelationSize>) {
  const chunks = listSnapshotChunks(store);
  return listSnapshotTables(store).map((table) => {
    const own = chunks.filter((c) => c.tableKey === table.tableKey);
    const done = own.filter((c) => c.state === 'exported');
    return {
      tableKey: table.tableKey,
      display: `${table.schema}.${table.name}`,
      chunks: own.length,
      chunksDone: done.length,
      rowsDone: done.reduce((n, c) => n + (c.rowCount ?? 0), 0),
      bytesToRead: own.filter((c) => c.state === 'planned').reduce((n, c) => n + chunkPages(c, sizes) * 8192, 0),
    };
  });
}

function summarize(store: MigrationStore, chunksThisRun: number, bytesThisRun: number, started: number, runId: string | null, resumed: boolean): SnapshotExportSummary {
  const chunks = listSnapshotChunks(store);
  return {
    tables: listSnapshotTables(store).length,
    chunks: chunks.length,
    chunksThisRun,
    rows: chunks.reduce((n, c) => n + (c.rowCount ?? 0), 0),
    bytes: chunks.reduce((n, c) => n + (c.byteCount ?? 0), 0),
    bytesThisRun,
    seconds: (Date.now() - started) / 1000,
    runId,
    resumed,
  };
}
