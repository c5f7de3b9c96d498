// `import data to target`, live part: after the snapshot is loaded and its indexes and keys are built,
// apply the source-to-target change stream continuously (and, for fall-back, `import data to source` the
// target-to-source stream) until the command is stopped (SIGINT/SIGTERM:
// the channels finish their current transactions, the progress is recorded, the command exits 0 and
// the same command resumes). Exactly once is the apply engine's (its channels' last applied vsn is
// committed with the data on the target); this module registers the importer, records how far it
// applied (for `archive changes`) and the per-table counts (for the data-migration report), and prints
// the import metrics table every ~10 s.

import type { ChangeEvent, QueueStream } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import type { LoaderSessions } from '../engines/loader-sessions.js';
import { openQueueReader } from '../capture/queue/segment-reader.js';
import { countsTableKey, readAppliedChangeCounts, recordAppliedChangeCounts, type AppliedChangeCounts } from '../state/apply-counts-store.js';
import { getQueueStreamHead, listQueueImporters, recordQueueApplied, registerQueueImporter } from '../state/queue-store.js';
import { listSnapshotTables } from '../state/snapshot-store.js';
import type { MigrationStore } from '../state/store.js';
import { applyChanges } from './apply-engine.js';
import type { ApplyProgress, TableApplyCounts } from './apply-progress.js';
import { RateWindow, renderImportMetrics, type ImportMetrics } from './live-metrics.js';

/** The importer name `import data to target` registers on the source-to-target stream. */
export const TARGET_IMPORTER = 'import-data-to-target';
/** The importer name `import data to source` registers on the target-to-source (fall-back) stream. */
export const SOURCE_IMPORTER = 'import-data-to-source';

/** Default interval of the metrics table. */
export const METRICS_INTERVAL_MS = 10_000;

export interface LiveImportOptions {
  store: MigrationStore;
  /** data/queue/ of the export directory. */
  queueDir: string;
  /** Target sessions with session_replication_role = replica; at least `channels` + 1. */
  sessions: LoaderSessions;
  migrationId: string;
  channels: number;
  signal: AbortSignal;
  logger: Logger;
  /** Prints a line (or the table) on the command's output. */
  print(text: string): void;
  metricsIntervalMs?: number;
  /** How often the progress (applied vsn, per-table counts) is recorded in the store. */
  progressIntervalMs?: number;
  batchSize?: number;
  /** Ends the apply like `signal` but for the cutover (src/cutover/import-cutover.ts): the end marker is applied. */
  until?: AbortSignal;
  /** Called after the apply committed a marker (the cutover end marker): every event before it is applied. */
  onMarker?(event: ChangeEvent): void;
  /** The stream and importer name: `import data to target` (the default) or, fall-back, `import data to source`. */
  direction?: { stream: QueueStream; importer: string; command: string };
}

export interface LiveImportSummary {
  /** Every event up to this vsn is applied on the target. */
  appliedThroughVsn: number;
  /** The queue's durable head when the apply stopped. */
  headVsn: number;
  eventsApplied: number;
  transactions: number;
  elapsedMs: number;
}

const FORWARD = { stream: 'source-to-target', importer: TARGET_IMPORTER, command: 'import data to target' } as const;

/** Recorded counts plus what this run applied. */
function mergedCounts(base: ReadonlyMap<string, AppliedChangeCounts>, run: readonly TableApplyCounts[]): AppliedChangeCounts[] {
  return run.map((t) => {
    const key = countsTableKey(t.schema, t.name);
    const before = base.get(key);
    return {
      tableKey: key,
      schema: t.schema,
      name: t.name,
      inserts: (before?.inserts ?? 0) + t.inserts,
      updates: (before?.updates ?? 0) + t.updates,
      deletes: (before?.deletes ?? 0) + t.deletes,
      truncates: (before?.truncates ?? 0) + t.truncates,
    };
  });
}

/** Applies the change stream until `signal` aborts; throws what the apply throws (after recording the progress). */
export async function runLiveImport(options: LiveImportOptions): Promise<LiveImportSummary> {
  const { store, logger, signal } = options;
  const { stream, importer, command } = options.direction ?? FORWARD;
  registerQueueImporter(store, stream, importer);
  const base = readAppliedChangeCounts(store, stream, importer);
  const appliedBefore = listQueueImporters(store, stream).find((i) => i.importer === importer)?.appliedVsn ?? 0;
  const startedAt = Date.now();
  const rates = new RateWindow();
  rates.add(startedAt, 0);
  let latest: ApplyProgress | undefined;

  // One store transaction (one fsync, which blocks the apply's thread) for both, every second or so.
  const record = (progress: ApplyProgress): void =>
    store.transaction(() => {
      recordQueueApplied(store, stream, importer, progress.appliedThroughVsn);
      recordAppliedChangeCounts(store, stream, importer, mergedCounts(base, progress.tables));
    });
  const metrics = (): ImportMetrics => {
    const head = getQueueStreamHead(store, stream).lastVsn;
    const applied = Math.max(appliedBefore, latest?.appliedThroughVsn ?? 0);
    return {
      totalImported: applied,
      importedThisRun: latest?.eventsApplied ?? 0,
      rate3m: rates.rate(3 * 60_000),
      rate10m: rates.rate(10 * 60_000),
      elapsedMs: Date.now() - startedAt,
      remaining: Math.max(0, head - applied),
    };
  };
  const printMetrics = (): void => {
    try {
      const table = renderImportMetrics(metrics());
      options.print(table);
      logger.info(`import metrics\n${table}`);
    } catch (error) {
      logger.warn(`could not print the import metrics: ${String(error)}`);
    }
  };

  logger.info('change apply starts', { channels: options.channels, appliedBefore });
  options.print(`${command}: applying the change stream with ${options.channels} channels from vsn ${appliedBefore + 1}; stop with Ctrl-C (the same command resumes).`);
  const timer = setInterval(printMetrics, options.metricsIntervalMs ?? METRICS_INTERVAL_MS);
  let final: ApplyProgress;
  try {
    final = await applyChanges({
      sessions: options.sessions,
      openSource: (fromVsn) => openQueueReader({ store, queueDir: options.queueDir, stream, fromVsn }),
      migrationId: options.migrationId,
      stream,
      channels: options.channels,
      batchSize: options.batchSize,
      expectedTables: listSnapshotTables(store).map((table) => ({ schema: table.schema, name: table.name })),
      signal: options.until === undefined ? signal : AbortSignal.any([signal, options.until]),
      progressIntervalMs: options.progressIntervalMs ?? 1000,
      onProgress: (progress) => {
        latest = progress;
        rates.add(Date.now(), progress.eventsApplied);
        try {
          record(progress);
        } catch (error) {
          logger.warn(`could not record the apply progress in the store: ${String(error)}`);
        }
      },
      onMarker: (event) => {
        logger.info(`apply: marker at vsn ${event.vsn} applied`);
        options.onMarker?.(event);
      },
      logger,
    });
  } catch (error) {
    clearInterval(timer);
    try {
      if (latest !== undefined) record(latest);
    } catch (recordError) {
      logger.warn(`could not record the apply progress in the store: ${String(recordError)}`);
    }
    throw error;
  }
  clearInterval(timer);
  latest = final;
  rates.add(Date.now(), final.eventsApplied);
  record(final);
  printMetrics();
  const summary: LiveImportSummary = {
    appliedThroughVsn: final.appliedThroughVsn,
    headVsn: getQueueStreamHead(store, stream).lastVsn,
    eventsApplied: final.eventsApplied,
    transactions: final.transactions,
    elapsedMs: final.elapsedMs,
  };
  logger.info('change apply stopped', { ...summary });
  return summary;
}
