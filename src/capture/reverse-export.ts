// `export data from target`: the fall-back stream's capture side (issue 6). After a cutover to target
// prepared for fall-back is COMPLETED, the target's `_fb` slot (created by the importer before
// COMPLETED, without a snapshot: src/cutover/reverse-stream.ts) holds every write the application made
// on the target since, and none of godwit's own forward writes (made before the slot existed), so
// nothing echoes (invariant 5). Its stream goes into the `target-to-source` queue with the same
// machinery as the forward export (stream-changes.ts: runCapture, acknowledgement only of what is
// durable, resume after any kill by skipping the transactions the queue already holds).
//
// Cutover to source is the mirror of cutover to target (src/cutover/export-cutover.ts, direction
// to-source): the end marker is written into the target's godwit_metadata.stream_markers (in the `_fb`
// publication), the capture ends at it, the target's sequence values are recorded and the `_fb` slot
// and publication dropped. The slot, publication and start position are in cutover_state (to-target),
// not in live_exports: they belong to the cutover that created them.

import { StateError } from '../core/errors.js';
import { CaptureStoppedError } from './capture-errors.js';
import type { DatabaseSettings } from '../core/database-settings.js';
import type { Logger } from '../core/logger.js';
import { statusLabel } from '../cutover/cutover-states.js';
import { readCutover, type CutoverRecord } from '../cutover/cutover-store.js';
import type { DatabaseConnection } from '../engines/postgres/connect.js';
import type { SourceSequence } from '../engines/source-catalog.js';
import { getQueueStreamHead } from '../state/queue-store.js';
import type { MigrationStore } from '../state/store.js';
import { ExportRates, type LiveExportMetrics } from './live-metrics.js';
import type { ExpectedColumns } from './relation-guard.js';
import { captureCutover, streamChanges, type CaptureObjects } from './stream-changes.js';

/** The fall-back stream's queue. */
export const REVERSE_STREAM = 'target-to-source' as const;

/**
 * The reverse stream's slot and publication, or a StateError when there is no fall-back to stream:
 * cutover to target not COMPLETED, or made without --prepare-for-fall-back true. Both fall-back
 * commands check this before they touch a database.
 */
export function reverseStreamObjects(store: MigrationStore, command: string): CaptureObjects & { startsAt: string } {
  const forward = readCutover(store, 'to-target');
  if (forward.state !== 'COMPLETED') {
    throw new StateError(`${command}: there is no fall-back stream yet: cutover to target is ${statusLabel(forward.state)} (step ${forward.state}).`, {
      hint: 'The fall-back stream starts after `godwit initiate cutover to target --prepare-for-fall-back true` has COMPLETED (`godwit cutover status`).',
    });
  }
  if (!forward.prepareForFallBack || forward.reverseSlot === null || forward.reversePublication === null) {
    throw new StateError(`${command}: the cutover to target was made without fall-back, so no stream from the target to the source exists.`, {
      hint: 'Fall-back is prepared only by `godwit initiate cutover to target --prepare-for-fall-back true`; it cannot be added after the cutover.',
    });
  }
  return { slotName: forward.reverseSlot, publicationName: forward.reversePublication, startsAt: forward.reverseConsistentPoint ?? '' };
}

export interface ReverseExportOptions {
  store: MigrationStore;
  queueDir: string;
  /** Every sequence of the migrated schemas (the recorded catalog; the target has the same). */
  sequences: readonly SourceSequence[];
  /** Proven settings of the target. */
  settings: DatabaseSettings;
  connect(): Promise<DatabaseConnection>;
  applicationName: string;
  logger: Logger;
  signal: AbortSignal;
  onStreaming?(objects: CaptureObjects & { startsAt: string }, resumed: boolean): void;
  onMetrics?(metrics: LiveExportMetrics): void;
  metricsIntervalMs?: number;
}

export interface ReverseExportResult {
  metrics: LiveExportMetrics;
  /** Set when the export ended for the cutover to source: the target's slot and publication are released. */
  cutover?: CutoverRecord;
}

/**
 * A capture stop (TRUNCATE, a column change, a table without key) told from the fall-back side: the
 * change happened on the target, the source is the one that cannot follow, and what to do differs (no
 * new snapshot exists in this direction). DESIGN.md section 10: TRUNCATE on the target is not carried.
 */
function fallBackStop(error: CaptureStoppedError): CaptureStoppedError {
  const swapped = error.message.replace(/\b(source|target)\b/g, (word) => (word === 'source' ? 'target' : 'source'));
  const stop = new CaptureStoppedError(error.reason, `Fall-back stream: ${swapped}`, {
    tables: error.tables,
    cause: error,
    hint:
      'TRUNCATE and DDL on migrated tables are not carried from the target to the source. `export data from target` stopped before that transaction ' +
      '(nothing of it is in the fall-back queue, the slot is not acknowledged past it), so running it again stops at the same place: the source ' +
      'can no longer follow the target exactly. Do not TRUNCATE or alter migrated tables on the target while fall-back runs.',
  });
  stop.transaction = error.transaction;
  return stop;
}

/**
 * The target's columns as the fall-back slot was created (a target table may order its columns
 * otherwise than the source's); undefined for a cutover recorded by an earlier godwit, whose fall-back
 * stream is checked against the source's snapshot columns as before.
 */
function targetColumns(store: MigrationStore): ExpectedColumns | undefined {
  const recorded = readCutover(store, 'to-target').reverseColumns;
  if (recorded === null) return undefined;
  const byName = new Map(recorded.map((table) => [JSON.stringify([table.schema, table.name]), table.columns]));
  return (table) => byName.get(JSON.stringify([table.schema, table.name]));
}

/** Streams the target's changes into the fall-back queue until the signal aborts or cutover to source ends it. */
export async function runReverseExport(options: ReverseExportOptions): Promise<ReverseExportResult> {
  const { store } = options;
  const objects = reverseStreamObjects(store, 'export data from target');
  const cutover = captureCutover(options, {
    store,
    queueDir: options.queueDir,
    direction: 'to-source',
    stream: REVERSE_STREAM,
    objects,
    sequences: options.sequences,
    where: 'target',
  });
  if ((await cutover.beforeStreaming()) === 'released') {
    const head = getQueueStreamHead(store, REVERSE_STREAM).lastVsn;
    return { metrics: new ExportRates(head, Date.now()).sample(head, Date.now()), cutover: cutover.record() };
  }
  options.onStreaming?.(objects, getQueueStreamHead(store, REVERSE_STREAM).lastVsn > 0);
  let streamed;
  try {
    streamed = await streamChanges({ ...options, stream: REVERSE_STREAM, objects, expectedColumns: targetColumns(store) }, cutover);
  } catch (error) {
    if (error instanceof CaptureStoppedError) throw fallBackStop(error);
    throw error;
  }
  if (!streamed.markerReached) return { metrics: streamed.metrics };
  return { metrics: streamed.metrics, cutover: await cutover.afterMarker() };
}
