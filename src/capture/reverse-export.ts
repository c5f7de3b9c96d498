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
import type { DatabaseSettings } from '../core/database-settings.js';
import type { Logger } from '../core/logger.js';
import { statusLabel } from '../cutover/cutover-states.js';
import { readCutover, type CutoverRecord } from '../cutover/cutover-store.js';
import type { DatabaseConnection } from '../engines/postgres/connect.js';
import type { SourceSequence } from '../engines/source-catalog.js';
import { getQueueStreamHead } from '../state/queue-store.js';
import type { MigrationStore } from '../state/store.js';
import { ExportRates, type LiveExportMetrics } from './live-metrics.js';
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
  const streamed = await streamChanges({ ...options, stream: REVERSE_STREAM, objects }, cutover);
  if (!streamed.markerReached) return { metrics: streamed.metrics };
  return { metrics: streamed.metrics, cutover: await cutover.afterMarker() };
}
