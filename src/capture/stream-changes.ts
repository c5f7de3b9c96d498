// The streaming part of a live export, shared by both directions: `export data from source` streams
// the source's slot into the `source-to-target` queue, `export data from target` (fall-back) the
// target's `_fb` slot into the `target-to-source` queue. One replication connection at a time reads
// the slot through runCapture into the queue, reconnecting after resumable failures, while the
// cutover watch (src/cutover/export-cutover.ts) writes the end marker when a cutover is requested;
// the capture ends at that marker. Also here: dropping a capture's slot and publication (at cutover,
// and for --start-clean).

import type { QueueStream } from '../core/change-event.js';
import type { DatabaseSettings } from '../core/database-settings.js';
import { ConnectionError, describeError } from '../core/errors.js';
import { quoteIdent } from '../core/identifiers.js';
import type { Logger } from '../core/logger.js';
import { directionWords, type CutoverDirection } from '../cutover/cutover-states.js';
import { ExportCutover } from '../cutover/export-cutover.js';
import type { DatabaseConnection } from '../engines/postgres/connect.js';
import type { SourceSequence } from '../engines/source-catalog.js';
import { isTransient } from '../engines/postgres/connection-errors.js';
import { ReplicationConnection, ReplicationError, type ReplicationStream, type StreamOptions } from '../engines/postgres/replication/index.js';
import { addExportedChangeCounts } from '../state/exported-counts-store.js';
import { getQueueStreamHead } from '../state/queue-store.js';
import { listSnapshotTables } from '../state/snapshot-store.js';
import type { MigrationStore } from '../state/store.js';
import { ExportRates, type LiveExportMetrics } from './live-metrics.js';
import { openQueueWriter } from './queue/segment-writer.js';
import type { ExpectedColumns } from './relation-guard.js';
import { runCapture } from './run-capture.js';

/** A capture's replication slot and publication on the capturing database. */
export interface CaptureObjects {
  slotName: string;
  publicationName: string;
}

export interface StreamChangesOptions {
  store: MigrationStore;
  queueDir: string;
  stream: QueueStream;
  objects: CaptureObjects;
  /** Proven settings of the capturing database (password filled in). */
  settings: DatabaseSettings;
  applicationName: string;
  logger: Logger;
  signal: AbortSignal;
  /** The metrics table's figures, every metricsIntervalMs and once at the end. */
  onMetrics?(metrics: LiveExportMetrics): void;
  metricsIntervalMs?: number;
  /**
   * A replication session opened while the caller checked the database (a resuming export logs in
   * beside its readiness checks): the first attempt streams through it, later ones open their own.
   */
  firstConnection?: Promise<ReplicationConnection>;
  /**
   * The columns each table's Relation messages must show; by default those the snapshot read (the
   * source's). A table that differs stops the capture as a schema change.
   */
  expectedColumns?: ExpectedColumns;
  /**
   * The stream a restart started on firstConnection beside its checks (startEarly): the first attempt
   * reads it; if that start failed, the attempt starts again on a new session.
   */
  firstStream?: Promise<StartedStream>;
}

/** A replication session and the stream running on it. */
export interface StartedStream {
  connection: ReplicationConnection;
  stream: ReplicationStream;
}

/** How every capture starts its slot's stream (pgoutput protocol 1, the capture's publication). */
export function captureStreamOptions(objects: CaptureObjects): StreamOptions {
  return { slotName: objects.slotName, startLsn: 0n, publicationNames: [objects.publicationName], protocolVersion: 1 };
}

/**
 * Starts the slot's stream on a session still logging in, before the caller's checks are done: the
 * walsender's own start (logical decoding from the slot's restart position up to its confirmed one)
 * then overlaps them. Nothing is read from the stream, so nothing is written or acknowledged, until
 * streamChanges takes it; a caller that stops before closes the session (which ends the stream).
 */
export function startEarly(session: Promise<ReplicationConnection>, objects: CaptureObjects): Promise<StartedStream> {
  const started = session.then(async (connection) => ({ connection, stream: await connection.startReplication(captureStreamOptions(objects)) }));
  started.catch(() => undefined); // a failed early start is made again by streamChanges
  return started;
}

/**
 * Captures the slot's stream into the queue until the signal aborts or the cutover's end marker is in
 * the queue; reconnects after resumable failures. Both live exports run it, one per direction.
 */
export async function streamChanges(options: StreamChangesOptions, cutover: ExportCutover): Promise<{ metrics: LiveExportMetrics; markerReached: boolean }> {
  const { store, logger, signal, stream: queueStream, objects } = options;
  const expected = options.expectedColumns ?? expectedColumns(store);
  const writer = openQueueWriter({ store, queueDir: options.queueDir, stream: queueStream });
  const rates = new ExportRates(getQueueStreamHead(store, queueStream).lastVsn, Date.now());
  const figures = (): LiveExportMetrics => rates.sample(getQueueStreamHead(store, queueStream).lastVsn, Date.now());
  const timer = setInterval(() => options.onMetrics?.(figures()), options.metricsIntervalMs ?? 10_000);
  timer.unref();
  let failures = 0;
  let markerReached = false;
  /** True once this run streamed: a server that went away after that is waited for (resumable). */
  let streamed = false;
  cutover.watch();
  let opened = options.firstConnection;
  let early = options.firstStream;
  try {
    while (!signal.aborted) {
      let connection: ReplicationConnection | undefined;
      try {
        let stream: ReplicationStream | undefined;
        if (early !== undefined) {
          const started = early;
          early = undefined;
          opened = undefined;
          try {
            ({ connection, stream } = await started);
          } catch (error) {
            // Usually the slot was still held by a killed run's walsender, which the checks waited out.
            logger.debug(`the stream started beside the checks failed (${describeError(error)}); starting it again`);
            await ReplicationConnection.closeOpening(options.firstConnection);
          }
        }
        if (stream === undefined) {
          const next = opened ?? ReplicationConnection.open(options.settings, { applicationName: options.applicationName, logger });
          opened = undefined;
          connection = await next;
          stream = await connection.startReplication(captureStreamOptions(objects));
        }
        failures = 0;
        streamed = true;
        const result = await runCapture({
          stream,
          queue: writer,
          slotConfirmedLsn: stream.slotAtStart?.confirmedFlushLsn,
          signal,
          expectedColumns: expected,
          recordCounts: (tables) => addExportedChangeCounts(store, queueStream, tables),
          endMarker: cutover.endMarker,
          logger,
        });
        if (result.end === 'aborted') break;
        if (result.end === 'marker') {
          markerReached = true;
          break;
        }
        logger.warn('the replication stream ended; reconnecting');
      } catch (error) {
        // A server that restarts refuses connections, then says it is starting up (57P03) for as long
        // as its recovery takes: longer than one connect's few attempts on a busy machine. After this
        // run streamed, such failures are waited out like a broken stream; before, they are reported.
        const resumable = (error instanceof ReplicationError && error.resumable) || (streamed && error instanceof ConnectionError && isTransient(error.cause));
        if (!resumable || signal.aborted) {
          if (signal.aborted && resumable) break;
          throw error;
        }
        failures += 1;
        if (failures > 100) throw error;
        const wait = Math.min(5_000, 100 * 2 ** Math.min(failures, 6));
        const reason = error instanceof ReplicationError ? `replication ${error.reason}` : 'the server is not reachable';
        logger.info(`${reason} (${describeError(error)}); reconnecting in ${wait} ms`);
        await sleep(wait, signal);
      } finally {
        await connection?.close();
      }
    }
  } finally {
    // Aborted before the loop took the early session: it is closed here (once its start is over).
    await early?.catch(() => undefined);
    await ReplicationConnection.closeOpening(opened);
    clearInterval(timer);
    await cutover.stopWatching();
    await writer.close();
  }
  const last = figures();
  options.onMetrics?.(last);
  return { metrics: last, markerReached };
}

/** The columns each table's snapshot read: a Relation message that differs stops the capture (DDL). */
function expectedColumns(store: MigrationStore): ExpectedColumns {
  const byName = new Map(listSnapshotTables(store).map((t) => [JSON.stringify([t.schema, t.name]), t.columns]));
  return (table) => byName.get(JSON.stringify([table.schema, table.name]));
}

/** How to reach the capturing database for dropCaptureObjects. */
export interface CaptureDatabase {
  settings: DatabaseSettings;
  connect(): Promise<DatabaseConnection>;
  applicationName: string;
  logger: Logger;
}

/**
 * Drops a capture's slot (waiting for a killed run's walsender) and publication, if they exist: the
 * exporter's last step at a cutover, and --start-clean. `where` names the database in the log.
 */
export async function dropCaptureObjects(
  options: CaptureDatabase,
  names: CaptureObjects,
  where: string,
): Promise<{ slotDropped: boolean; publicationDropped: boolean }> {
  const connection = await options.connect();
  let slotExists: boolean;
  let publicationExists: boolean;
  try {
    const slot = await connection.client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [names.slotName]);
    slotExists = (slot.rowCount ?? 0) > 0;
    const publication = await connection.client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [names.publicationName]);
    publicationExists = (publication.rowCount ?? 0) > 0;
  } finally {
    await connection.client.end().catch(() => undefined);
  }
  let slotDropped = false;
  if (slotExists) {
    const replication = await ReplicationConnection.open(options.settings, { applicationName: options.applicationName, logger: options.logger });
    try {
      slotDropped = await replication.dropSlot(names.slotName, { wait: true });
    } finally {
      await replication.close();
    }
  }
  if (publicationExists) {
    const again = await options.connect();
    try {
      await again.client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(names.publicationName)}`);
    } finally {
      await again.client.end().catch(() => undefined);
    }
  }
  options.logger.info(
    `${where}: slot ${names.slotName} ${slotDropped ? 'dropped' : 'absent'}, publication ${names.publicationName} ${publicationExists ? 'dropped' : 'absent'}`,
  );
  return { slotDropped, publicationDropped: publicationExists };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** What captureCutover wires besides the database. */
export interface CaptureCutoverWiring {
  store: MigrationStore;
  queueDir: string;
  direction: CutoverDirection;
  stream: QueueStream;
  objects: CaptureObjects;
  /** Every sequence of the migrated schemas (the recorded catalog; the same names on both databases). */
  sequences: readonly SourceSequence[];
  /** The capturing database in messages ("source", "target"). */
  where: string;
}

/**
 * The capturing side of a cutover (src/cutover/export-cutover.ts) wired to a capturing database:
 * sessions from its connect, and the release that drops its slot and publication. Both directions'
 * exporters build theirs here.
 */
export function captureCutover(db: CaptureDatabase, wiring: CaptureCutoverWiring): ExportCutover {
  return new ExportCutover({
    store: wiring.store,
    queueDir: wiring.queueDir,
    direction: wiring.direction,
    stream: wiring.stream,
    migrationId: wiring.store.getMigrationId(),
    publicationName: wiring.objects.publicationName,
    sequences: wiring.sequences,
    openSession: async () => {
      const connection = await db.connect();
      return { session: connection.client, close: () => connection.client.end().catch(() => undefined) };
    },
    releaseCapture: async () => {
      await dropCaptureObjects(db, wiring.objects, `cutover ${directionWords(wiring.direction)}, ${wiring.where}`);
    },
    logger: db.logger,
  });
}
