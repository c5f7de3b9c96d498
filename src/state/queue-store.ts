// The change queue's bookkeeping in the migration store (store migration 4): the durable head of each
// stream, one row per segment file with its committed size, and how far each importer applied a
// stream. The queue writer (src/capture/queue/segment-writer.ts) records a commit only after the
// segment bytes are fsynced, in one SQLite transaction, so the store never claims bytes the disk may
// not have; readers read a segment only up to its recorded committed size.

import type Database from 'better-sqlite3';
import type { QueueStream } from '../core/change-event.js';
import { StateError } from '../core/errors.js';
import type { MigrationStore } from './store.js';

/** The durable end of a stream: what the exporter may acknowledge and where numbering continues. */
export interface QueueStreamHead {
  stream: QueueStream;
  /** The last durable vsn; 0 before the first event. */
  lastVsn: number;
  /** The end LSN of the last durable transaction (opaque, the origin's own format); null before any. */
  lastEndLsn: string | null;
  updatedAt: string;
}

/** Whether a segment file is still in data/queue/. */
export type QueueArchiveState = 'present' | 'archived' | 'deleted';

/** One segment file as the store knows it. */
export interface QueueSegment {
  stream: QueueStream;
  segmentNo: number;
  /** Relative to data/queue/. */
  fileName: string;
  /** Bytes of the file (header included) that hold committed events; never read past it. */
  committedSize: number;
  eventCount: number;
  firstVsn: number | null;
  lastVsn: number | null;
  /** The end LSN of the last transaction committed into this segment. */
  lastEndLsn: string | null;
  createdAt: string;
  /** Set when the writer moved on to the next segment: the committed size is final. */
  closedAt: string | null;
  archiveState: QueueArchiveState;
  archivedAt: string | null;
  archivePath: string | null;
}

/** What one commit records about one segment it touched. */
export interface QueueSegmentCommit {
  segmentNo: number;
  fileName: string;
  committedSize: number;
  eventCount: number;
  firstVsn: number | null;
  lastVsn: number | null;
  lastEndLsn: string | null;
  /** The writer has moved past this segment: this commit's size is its final size. */
  closed: boolean;
}

/** How far one importer applied a stream. */
export interface QueueImporter {
  stream: QueueStream;
  importer: string;
  appliedVsn: number;
  registeredAt: string;
  updatedAt: string;
}

interface SegmentRow {
  stream: QueueStream;
  segment_no: number;
  file_name: string;
  committed_size: number;
  event_count: number;
  first_vsn: number | null;
  last_vsn: number | null;
  last_end_lsn: string | null;
  created_at: string;
  closed_at: string | null;
  archive_state: QueueArchiveState;
  archived_at: string | null;
  archive_path: string | null;
}

function toSegment(row: SegmentRow): QueueSegment {
  return {
    stream: row.stream,
    segmentNo: row.segment_no,
    fileName: row.file_name,
    committedSize: row.committed_size,
    eventCount: row.event_count,
    firstVsn: row.first_vsn,
    lastVsn: row.last_vsn,
    lastEndLsn: row.last_end_lsn,
    createdAt: row.created_at,
    closedAt: row.closed_at,
    archiveState: row.archive_state,
    archivedAt: row.archived_at,
    archivePath: row.archive_path,
  };
}

/** Prepared statements per connection: the writer records and the reader polls many times a second. */
const statementCache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function statement(store: MigrationStore, sql: string): Database.Statement {
  let cache = statementCache.get(store.db);
  if (cache === undefined) {
    cache = new Map();
    statementCache.set(store.db, cache);
  }
  let prepared = cache.get(sql);
  if (prepared === undefined) {
    prepared = store.db.prepare(sql);
    cache.set(sql, prepared);
  }
  return prepared;
}

/** The durable head of `stream`: where a reopened writer continues and what may be acknowledged. */
export function getQueueStreamHead(store: MigrationStore, stream: QueueStream): QueueStreamHead {
  const row = statement(store, 'SELECT last_vsn, last_end_lsn, updated_at FROM queue_streams WHERE stream = ?').get(stream) as
    | { last_vsn: number; last_end_lsn: string | null; updated_at: string }
    | undefined;
  if (row === undefined) throw new StateError(`The migration store ${store.file} has no queue stream ${stream}.`);
  return { stream, lastVsn: row.last_vsn, lastEndLsn: row.last_end_lsn, updatedAt: row.updated_at };
}

/** Every segment of `stream`, oldest first (status, archive, tests). */
export function listQueueSegments(store: MigrationStore, stream: QueueStream): QueueSegment[] {
  const rows = statement(store, 'SELECT * FROM queue_segments WHERE stream = ? ORDER BY segment_no').all(stream) as SegmentRow[];
  return rows.map(toSegment);
}

/** One segment, or undefined when it is not (yet) recorded. */
export function getQueueSegment(store: MigrationStore, stream: QueueStream, segmentNo: number): QueueSegment | undefined {
  const row = statement(store, 'SELECT * FROM queue_segments WHERE stream = ? AND segment_no = ?').get(stream, segmentNo) as
    | SegmentRow
    | undefined;
  return row === undefined ? undefined : toSegment(row);
}

/** The newest recorded segment: the one a reopened writer continues (unless it is closed). */
export function lastQueueSegment(store: MigrationStore, stream: QueueStream): QueueSegment | undefined {
  const row = statement(store, 'SELECT * FROM queue_segments WHERE stream = ? ORDER BY segment_no DESC LIMIT 1').get(stream) as
    | SegmentRow
    | undefined;
  return row === undefined ? undefined : toSegment(row);
}

/**
 * Where a reader starting at `vsn` begins: the first segment holding an event at or after it, or the
 * newest segment when every recorded event is older (the reader then waits there for new commits).
 */
export function findQueueSegmentForVsn(store: MigrationStore, stream: QueueStream, vsn: number): QueueSegment | undefined {
  const row = statement(store, 'SELECT * FROM queue_segments WHERE stream = ? AND last_vsn >= ? ORDER BY segment_no LIMIT 1').get(
    stream,
    vsn,
  ) as SegmentRow | undefined;
  return row === undefined ? lastQueueSegment(store, stream) : toSegment(row);
}

/**
 * Records one writer commit in one transaction: each touched segment's committed size, events and
 * state, and the stream's new durable head. Call only after the segment bytes (and, for a new segment,
 * its directory entry) are fsynced. Refuses a commit that would move anything backwards, which would
 * mean two writers on one stream.
 */
export function recordQueueCommit(
  store: MigrationStore,
  stream: QueueStream,
  segments: readonly QueueSegmentCommit[],
  head: { lastVsn: number; lastEndLsn: string | null },
  alsoRecord?: () => void,
): void {
  const now = store.now();
  store.transaction(() => {
    alsoRecord?.();
    const current = getQueueStreamHead(store, stream);
    if (head.lastVsn < current.lastVsn) {
      throw new StateError(
        `The ${stream} change queue would go back from vsn ${current.lastVsn} to ${head.lastVsn}: is a second exporter writing to ${store.file}?`,
      );
    }
    for (const segment of segments) {
      const existing = getQueueSegment(store, stream, segment.segmentNo);
      if (existing !== undefined && (existing.committedSize > segment.committedSize || existing.closedAt !== null)) {
        throw new StateError(
          `The ${stream} change queue segment ${segment.fileName} is already recorded with ${existing.committedSize} committed bytes${existing.closedAt === null ? '' : ' and closed'}: is a second exporter writing to it?`,
        );
      }
      statement(
        store,
        `INSERT INTO queue_segments (stream, segment_no, file_name, committed_size, event_count, first_vsn, last_vsn, last_end_lsn, created_at, closed_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (stream, segment_no) DO UPDATE SET committed_size = excluded.committed_size, event_count = excluded.event_count,
           first_vsn = excluded.first_vsn, last_vsn = excluded.last_vsn, last_end_lsn = excluded.last_end_lsn, closed_at = excluded.closed_at`,
      ).run(
        stream,
        segment.segmentNo,
        segment.fileName,
        segment.committedSize,
        segment.eventCount,
        segment.firstVsn,
        segment.lastVsn,
        segment.lastEndLsn,
        now,
        segment.closed ? now : null,
      );
    }
    statement(store, 'UPDATE queue_streams SET last_vsn = ?, last_end_lsn = ?, updated_at = ? WHERE stream = ?').run(
      head.lastVsn,
      head.lastEndLsn,
      now,
      stream,
    );
  });
}

/** Declares that `importer` consumes `stream`, so `archive changes` keeps segments until it applied them. */
export function registerQueueImporter(store: MigrationStore, stream: QueueStream, importer: string): void {
  const now = store.now();
  statement(
    store,
    `INSERT INTO queue_importers (stream, importer, applied_vsn, registered_at, updated_at) VALUES (?, ?, 0, ?, ?)
     ON CONFLICT (stream, importer) DO NOTHING`,
  ).run(stream, importer, now, now);
}

/**
 * Records that `importer` applied every event of `stream` up to `appliedVsn` (its target's bookkeeping
 * is the truth; this copy lets `archive changes` and status commands work from the store). Never
 * moves backwards.
 */
export function recordQueueApplied(store: MigrationStore, stream: QueueStream, importer: string, appliedVsn: number): void {
  const result = statement(
    store,
    'UPDATE queue_importers SET applied_vsn = max(applied_vsn, ?), updated_at = ? WHERE stream = ? AND importer = ?',
  ).run(appliedVsn, store.now(), stream, importer);
  if (result.changes === 0) {
    throw new StateError(`The importer "${importer}" of the ${stream} change queue is not registered in ${store.file}.`);
  }
}

/** The registered importers of `stream` and how far each applied it. */
export function listQueueImporters(store: MigrationStore, stream: QueueStream): QueueImporter[] {
  const rows = statement(
    store,
    'SELECT importer, applied_vsn, registered_at, updated_at FROM queue_importers WHERE stream = ? ORDER BY importer',
  ).all(stream) as { importer: string; applied_vsn: number; registered_at: string; updated_at: string }[];
  return rows.map((row) => ({ stream, importer: row.importer, appliedVsn: row.applied_vsn, registeredAt: row.registered_at, updatedAt: row.updated_at }));
}

/**
 * The segments `archive changes` may free: still present, closed (never the one being written), and
 * applied by every registered importer of the stream. None while no importer is registered.
 */
export function segmentsAppliedByAllImporters(store: MigrationStore, stream: QueueStream): QueueSegment[] {
  const rows = statement(
    store,
    `SELECT s.* FROM queue_segments s
     WHERE s.stream = ? AND s.archive_state = 'present' AND s.closed_at IS NOT NULL
       AND EXISTS (SELECT 1 FROM queue_importers i WHERE i.stream = s.stream)
       AND coalesce(s.last_vsn, 0) <= (SELECT min(i.applied_vsn) FROM queue_importers i WHERE i.stream = s.stream)
     ORDER BY s.segment_no`,
  ).all(stream) as SegmentRow[];
  return rows.map(toSegment);
}

/** Records that a segment file was moved to `archivePath` or deleted; call after the file operation is durable. */
export function markQueueSegmentArchived(
  store: MigrationStore,
  stream: QueueStream,
  segmentNo: number,
  state: Exclude<QueueArchiveState, 'present'>,
  archivePath: string | null,
): void {
  const result = statement(
    store,
    `UPDATE queue_segments SET archive_state = ?, archived_at = ?, archive_path = ?
     WHERE stream = ? AND segment_no = ? AND closed_at IS NOT NULL`,
  ).run(state, store.now(), archivePath, stream, segmentNo);
  if (result.changes === 0) {
    throw new StateError(`The ${stream} change queue has no closed segment number ${segmentNo} to archive.`);
  }
}
