// The live export's record (store migration 5, table live_exports): which slot and publication
// `export data from source --export-type snapshot-and-changes` created, where the slot's stream starts,
// and how far the export got. The exporter writes it; `import data to target` reads it to learn that a
// change stream follows the snapshot (state 'streaming': the snapshot files are complete and every
// change after them is in data/queue, stream 'source-to-target').

import type { QueueStream } from '../core/change-event.js';
import type { MigrationStore } from './store.js';

/**
 * creating: the row was written, the publication and slot may or may not exist yet;
 * snapshot: the slot exists and the snapshot is being read under its exported snapshot;
 * streaming: the snapshot is complete, only the change stream runs from now on.
 */
export type LiveExportState = 'creating' | 'snapshot' | 'streaming';

export interface LiveExport {
  stream: QueueStream;
  slotName: string;
  publicationName: string;
  state: LiveExportState;
  /** The slot's consistent point as PostgreSQL prints it; null while 'creating'. */
  consistentPoint: string | null;
  snapshotName: string | null;
  startedAt: string;
  snapshotDoneAt: string | null;
  updatedAt: string;
}

interface LiveExportRow {
  stream: QueueStream;
  slot_name: string;
  publication_name: string;
  state: LiveExportState;
  consistent_point: string | null;
  snapshot_name: string | null;
  started_at: string;
  snapshot_done_at: string | null;
  updated_at: string;
}

/** The live export of `stream`, if one was started. */
export function getLiveExport(store: MigrationStore, stream: QueueStream = 'source-to-target'): LiveExport | undefined {
  const row = store.db.prepare('SELECT * FROM live_exports WHERE stream = ?').get(stream) as LiveExportRow | undefined;
  if (row === undefined) return undefined;
  return {
    stream: row.stream,
    slotName: row.slot_name,
    publicationName: row.publication_name,
    state: row.state,
    consistentPoint: row.consistent_point,
    snapshotName: row.snapshot_name,
    startedAt: row.started_at,
    snapshotDoneAt: row.snapshot_done_at,
    updatedAt: row.updated_at,
  };
}

/** Records, before anything is created on the database, that a live export starts with these names. */
export function recordLiveExportStarted(store: MigrationStore, stream: QueueStream, slotName: string, publicationName: string): void {
  const now = store.now();
  store.transaction((db) =>
    db
      .prepare(
        `INSERT INTO live_exports (stream, slot_name, publication_name, state, started_at, updated_at) VALUES (?, ?, ?, 'creating', ?, ?)`,
      )
      .run(stream, slotName, publicationName, now, now),
  );
}

/** Records the created slot: its consistent point and exported snapshot; the snapshot is read next. */
export function recordLiveExportSlot(store: MigrationStore, stream: QueueStream, consistentPoint: string, snapshotName: string): void {
  store.transaction((db) =>
    db
      .prepare(`UPDATE live_exports SET state = 'snapshot', consistent_point = ?, snapshot_name = ?, updated_at = ? WHERE stream = ? AND state = 'creating'`)
      .run(consistentPoint, snapshotName, store.now(), stream),
  );
}

/** Records that the snapshot is complete: from now on a restart resumes the stream from the slot. */
export function recordLiveExportStreaming(store: MigrationStore, stream: QueueStream): void {
  const now = store.now();
  store.transaction((db) =>
    db
      .prepare(`UPDATE live_exports SET state = 'streaming', snapshot_done_at = COALESCE(snapshot_done_at, ?), updated_at = ? WHERE stream = ?`)
      .run(now, now, stream),
  );
}

/** Forgets the live export of `stream` (--start-clean, after its slot and publication were dropped). */
export function deleteLiveExport(store: MigrationStore, stream: QueueStream): void {
  store.db.prepare('DELETE FROM live_exports WHERE stream = ?').run(stream);
}
