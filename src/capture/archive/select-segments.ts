// Which change segments `archive changes` may free: those every registered importer of the stream has
// applied, never the newest recorded segment (the one the exporter writes or continues after a
// restart), never one an importer still needs. The store query (segmentsAppliedByAllImporters) does
// the applied/closed/present test; this module adds the newest-segment guard and the re-check made
// right before each file operation, so an importer registered meanwhile is not robbed of its events.

import type { QueueStream } from '../../core/change-event.js';
import { lastQueueSegment, segmentsAppliedByAllImporters, type QueueSegment } from '../../state/queue-store.js';
import type { MigrationStore } from '../../state/store.js';

/** The segments of `stream` that may be freed now, oldest first. */
export function segmentsToFree(store: MigrationStore, stream: QueueStream): QueueSegment[] {
  const newest = lastQueueSegment(store, stream);
  return segmentsAppliedByAllImporters(store, stream).filter((segment) => newest === undefined || segment.segmentNo < newest.segmentNo);
}

/** Whether `segment` may still be freed at this moment (asked again right before touching its file). */
export function stillFreeable(store: MigrationStore, segment: QueueSegment): boolean {
  return segmentsToFree(store, segment.stream).some((candidate) => candidate.segmentNo === segment.segmentNo);
}
