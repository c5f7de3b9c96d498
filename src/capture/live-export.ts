// `export data from source --export-type snapshot-and-changes`: the live export (issue 5, part 1).
//
// 1. Readiness: the source is checked before anything is created; a blocker ends the run with the fixes
//    (NotReadyError) and nothing on the source or in the store changed.
// 2. The store records that the live export starts, with its slot and publication names (live_exports,
//    state 'creating'), then the publication (FOR TABLE the selected tables, publish_via_partition_root)
//    and the slot with an exported snapshot are created; the slot's consistent point is recorded
//    (state 'snapshot').
// 3. The snapshot is read under the slot's exported snapshot (invariant 1: the snapshot is the database
//    exactly at the consistent point, where the slot's stream starts); once complete the store says
//    'streaming'.
// 4. The change stream runs through runCapture into data/queue until the signal aborts, reconnecting
//    after a resumable ReplicationError (a walsender serves one START_REPLICATION per session) with the
//    same queue writer.
// 5. Cutover to target (src/cutover/export-cutover.ts): while streaming, a recorded request makes the
//    export write the end marker (a row of godwit_metadata.stream_markers, which the publication
//    includes); the capture ends right after the marker is durable and acknowledged, the source's
//    sequence values are recorded and the slot and publication dropped; runLiveExport returns `cutover`.
// A restart after the snapshot completed skips to 4 (readiness in resume mode). A restart while the
// snapshot was being read cannot continue: the slot's snapshot ended with the process that held it, and
// reading the rest under another snapshot would miss or double changes. It refuses and names
// --start-clean, which drops the slot and publication (dropLiveExportObjects) and the exported files.

import type { QualifiedName } from '../core/identifiers.js';
import { quoteIdent } from '../core/identifiers.js';
import type { DatabaseSettings } from '../core/database-settings.js';
import { StateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { formatLsn } from '../core/lsn.js';
import { assertCaptureReady, withoutFinding, type ReadinessReport } from '../engines/capture-readiness.js';
import type { DatabaseConnection } from '../engines/postgres/connect.js';
import { postgresCaptureReadiness } from '../engines/postgres/readiness/index.js';
import { ReplicationConnection } from '../engines/postgres/replication/index.js';
import { waitForSlotRelease } from '../engines/postgres/replication/slot-state.js';
import { openSlotSnapshotSource, slotSnapshotEngine } from '../engines/postgres/snapshot/slot-snapshot-source.js';
import type { SnapshotEngine } from '../engines/snapshot-engine.js';
import type { SourceCatalog } from '../engines/source-catalog.js';
import { exportSnapshot, type SnapshotExportOptions, type SnapshotExportSummary } from '../snapshot/export/export-snapshot.js';
import { selectTables } from '../snapshot/export/table-selection.js';
import {
  getLiveExport,
  recordLiveExportSlot,
  recordLiveExportStarted,
  recordLiveExportStreaming,
  type LiveExport,
} from '../state/live-export-store.js';
import { getQueueStreamHead } from '../state/queue-store.js';
import { hasSnapshotPlan } from '../state/snapshot-store.js';
import type { MigrationStore } from '../state/store.js';
import { ensureBookkeepingSchema } from '../engines/bookkeeping-schema.js';
import type { ExportCutover } from '../cutover/export-cutover.js';
import type { CutoverRecord } from '../cutover/cutover-store.js';
import { MARKER_TABLE_SQL } from '../cutover/end-marker.js';
import { ExportRates, type LiveExportMetrics } from './live-metrics.js';
import { captureCutover, dropCaptureObjects, startEarly, streamChanges, type CaptureObjects } from './stream-changes.js';

const STREAM = 'source-to-target' as const;

/** How long a resuming export waits for its slot to be released by a stopped exporter's session before refusing it as in use. */
const SLOT_RELEASE_WAIT_MS = 20_000;

/** The slot and publication of a migration: `godwit_` and the first 12 hex digits of its id (valid, lower case, short). */
export function liveExportNames(migrationId: string): { slotName: string; publicationName: string } {
  const hex = migrationId.replaceAll('-', '').toLowerCase().slice(0, 12);
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new Error(`migration id ${migrationId} is not a UUID`);
  return { slotName: `godwit_${hex}`, publicationName: `godwit_${hex}` };
}

export interface LiveExportOptions {
  store: MigrationStore;
  dataDir: string;
  queueDir: string;
  catalog: SourceCatalog;
  include: readonly QualifiedName[];
  exclude: readonly QualifiedName[];
  parallelJobs: number;
  textOnly: boolean;
  chunkPages: number;
  /** Proven settings of the source (password filled in). */
  settings: DatabaseSettings;
  /** Opens an ordinary connection to the source (the caller's connect). */
  connect(): Promise<DatabaseConnection>;
  /**
   * An ordinary connection the caller opened already (it proved the settings): the readiness checks
   * run on it instead of a new one, and the export closes it.
   */
  connection?: DatabaseConnection;
  /**
   * A replication session the caller started opening for a restart (beside its own first connection):
   * a resuming export streams through it; otherwise it is closed.
   */
  replication?: Promise<ReplicationConnection>;
  /** The snapshot engine of the offline copy: its readers join the slot's snapshot. */
  baseEngine: SnapshotEngine;
  applicationName: string;
  logger: Logger;
  signal: AbortSignal;
  snapshotProgress?: SnapshotExportOptions['progress'];
  beforeChunk?: SnapshotExportOptions['beforeChunk'];
  /** The readiness report (warnings and notes are worth showing even when ready). */
  onReadiness?(report: ReadinessReport): void;
  /** The snapshot part finished in this run. */
  onSnapshotDone?(summary: SnapshotExportSummary): void;
  /** Streaming starts (after the snapshot, or at once on a restart). */
  onStreaming?(live: LiveExport, resumed: boolean): void;
  /** The metrics table's figures, every metricsIntervalMs and once at the end. */
  onMetrics?(metrics: LiveExportMetrics): void;
  metricsIntervalMs?: number;
}

export interface LiveExportResult {
  /** True when this run read the snapshot; false when it resumed streaming. */
  snapshotThisRun: boolean;
  metrics: LiveExportMetrics;
  /** Set when the export ended for a cutover: its part is done (the slot and publication are released). */
  cutover?: CutoverRecord;
}

/** Runs the live export until the signal aborts (then resolves) or a stop or failure (then throws). */
export async function runLiveExport(options: LiveExportOptions): Promise<LiveExportResult> {
  let given = options.connection;
  let replication = options.replication;
  replication?.catch(() => undefined); // a failure to open surfaces where it is used
  const sessions: GivenSessions = {
    checkConnection: async () => {
      const connection = given ?? (await options.connect());
      given = undefined;
      return connection;
    },
    replication: () => {
      const session = replication;
      replication = undefined;
      return session;
    },
  };
  try {
    return await liveExport(options, sessions);
  } finally {
    // What a run that ended early did not take is the caller's, closed here.
    await given?.client.end().catch(() => undefined);
    await ReplicationConnection.closeOpening(replication);
  }
}

/** The caller's sessions, each taken once (runLiveExport closes what is not taken). */
interface GivenSessions {
  /** The ordinary connection of the readiness checks (the caller's, or a new one). */
  checkConnection(): Promise<DatabaseConnection>;
  /** The caller's replication session, if it opened one. */
  replication(): Promise<ReplicationConnection> | undefined;
}

async function liveExport(options: LiveExportOptions, given: GivenSessions): Promise<LiveExportResult> {
  const { store, logger } = options;
  const names = liveExportNames(store.getMigrationId());
  const recorded = getLiveExport(store, STREAM);
  if (recorded !== undefined && recorded.state !== 'streaming') {
    throw new StateError(
      'An earlier run of this snapshot-and-changes export was interrupted before its snapshot was complete. ' +
        'A snapshot-and-changes export cannot resume a snapshot: the snapshot exported by the replication slot ended with that run, ' +
        'and reading the rest under another snapshot would miss or double changes.',
      {
        hint:
          `Run the same command with --start-clean: it drops godwit's replication slot "${recorded.slotName}" and publication ` +
          `"${recorded.publicationName}" on the source and the exported files, then exports again.`,
      },
    );
  }
  if (recorded === undefined && hasSnapshotPlan(store)) {
    throw new StateError('This export directory holds a snapshot-only export: a live export needs its own snapshot, taken with its replication slot.', {
      hint: 'Run the same command with --start-clean to discard the snapshot-only export and start the live export.',
    });
  }
  const selected = selectTables(options.catalog, options.include, options.exclude);
  const resume = recorded !== undefined;
  const cutover = exportCutover(options, names);
  // A cutover past its marker needs no stream (the slot may be gone already): finish the export's part.
  if (resume && (await cutover.beforeStreaming()) === 'released') {
    const head = getQueueStreamHead(store, STREAM).lastVsn;
    return { snapshotThisRun: false, metrics: new ExportRates(head, Date.now()).sample(head, Date.now()), cutover: cutover.record() };
  }

  // 1. Readiness, then (first run) the record and the publication, on one ordinary connection. A
  //    restart's replication session logs in meanwhile and starts its stream at once (startEarly): it
  //    needs nothing that step creates, and the stream is not read before the checks pass.
  const early = resume ? (given.replication() ?? ReplicationConnection.open(options.settings, { applicationName: options.applicationName, logger })) : undefined;
  early?.catch(() => undefined); // a failure to open surfaces in the stream's first attempt
  const earlyStream = early === undefined || recorded === undefined ? undefined : startEarly(early, recorded);
  const connection = await given.checkConnection();
  try {
    // The early session's walsender may hold the slot by now: not a conflict (nor a reason to wait).
    const ownSenderPid = early === undefined ? undefined : await early.then((session) => session.backendPid, () => undefined);
    if (resume) {
      await waitForSlotRelease(connection.client, names.slotName, {
        timeoutMs: SLOT_RELEASE_WAIT_MS,
        ownPid: ownSenderPid,
        onWait: (pid) => logger.info(`waiting up to ${SLOT_RELEASE_WAIT_MS / 1000} s for replication slot ${names.slotName} to be released by process ${pid ?? '?'} (the session of a stopped exporter ends by itself)`),
      });
    }
    const report = await postgresCaptureReadiness(connection.client, connection.server, { role: 'source' }).checkCaptureReadiness({
      tables: selected.map((t) => ({ schema: t.schema, name: t.name })),
      slotName: names.slotName,
      publicationName: names.publicationName,
      resume,
      ownSenderPid,
    });
    // An open early session holds a WAL sender already, whether or not the check counted it.
    const holdsSender = early !== undefined && (await early.then(() => true, () => false));
    const checked = holdsSender ? withoutFinding(report, 'NO_FREE_WAL_SENDER') : report;
    options.onReadiness?.(checked);
    assertCaptureReady(checked);
    if (!resume) {
      recordLiveExportStarted(store, STREAM, names.slotName, names.publicationName);
      // godwit's bookkeeping on the source holds the cutover end-marker table, published with the tables (src/cutover/end-marker.ts).
      await ensureBookkeepingSchema(connection.client);
      const tables = [...selected.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`), MARKER_TABLE_SQL].join(', ');
      await connection.client.query(
        `CREATE PUBLICATION ${quoteIdent(names.publicationName)} FOR TABLE ${tables} WITH (publish_via_partition_root = true)`,
      );
      logger.info(`created publication ${names.publicationName} for ${selected.length} table(s)`);
    }
  } catch (error) {
    await earlyStream?.catch(() => undefined);
    await ReplicationConnection.closeOpening(early);
    throw error;
  } finally {
    await connection.client.end().catch(() => undefined);
  }

  // 2-3. The slot with its exported snapshot, and the snapshot read under it.
  let snapshotThisRun = false;
  if (!resume) {
    const replication = await ReplicationConnection.open(options.settings, { applicationName: options.applicationName, logger });
    try {
      const created = await replication.createSlot(names.slotName);
      if (created.snapshotName === undefined) throw new StateError(`Creating replication slot "${names.slotName}" exported no snapshot.`);
      recordLiveExportSlot(store, STREAM, formatLsn(created.consistentPoint), created.snapshotName);
      const engine = slotSnapshotEngine(options.baseEngine, () =>
        openSlotSnapshotSource({ settings: options.settings, replication, applicationName: options.applicationName, logger }),
      );
      const summary = await exportSnapshot({
        store,
        dataDir: options.dataDir,
        foreignDirs: [options.queueDir],
        catalog: options.catalog,
        engine,
        include: options.include,
        exclude: options.exclude,
        parallelJobs: options.parallelJobs,
        textOnly: options.textOnly,
        chunkPages: options.chunkPages,
        logger,
        progress: options.snapshotProgress,
        signal: options.signal,
        beforeChunk: options.beforeChunk,
      });
      recordLiveExportStreaming(store, STREAM);
      snapshotThisRun = true;
      options.onSnapshotDone?.(summary);
    } finally {
      await replication.close();
    }
  }

  // 4. The change stream.
  const live = getLiveExport(store, STREAM);
  if (live === undefined) throw new Error('the live export record vanished');
  options.onStreaming?.(live, resume);
  const objects = { slotName: live.slotName, publicationName: live.publicationName };
  const streamed = await streamChanges({ ...options, stream: STREAM, objects, firstConnection: early, firstStream: earlyStream }, cutover);
  if (!streamed.markerReached) return { snapshotThisRun, metrics: streamed.metrics };
  return { snapshotThisRun, metrics: streamed.metrics, cutover: await cutover.afterMarker() };
}

/** The export's side of the cutover to target (src/cutover/export-cutover.ts), wired to this export's source. */
function exportCutover(options: LiveExportOptions, names: CaptureObjects): ExportCutover {
  return captureCutover(options, {
    store: options.store,
    queueDir: options.queueDir,
    direction: 'to-target',
    stream: STREAM,
    objects: names,
    sequences: options.catalog.sequences,
    where: 'source',
  });
}

/** --start-clean of a live export: drops godwit's slot (waiting for a killed run's walsender) and publication, if they exist. */
export async function dropLiveExportObjects(
  options: Pick<LiveExportOptions, 'settings' | 'connect' | 'applicationName' | 'logger'>,
  migrationId: string,
): Promise<{ slotDropped: boolean; publicationDropped: boolean }> {
  return dropCaptureObjects(options, liveExportNames(migrationId), '--start-clean');
}
