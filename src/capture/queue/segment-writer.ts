// The change queue's writer: appends the events of whole transactions to the segment files of one
// stream under data/queue/ and makes them durable in the order that invariant 2 needs (DESIGN.md
// section 4): commit() first writes and fsyncs the segment bytes (and the directory entry of a new
// segment), THEN records in the store, in one SQLite transaction, each segment's committed size and
// the stream's head (last vsn, end LSN of the last whole transaction). The exporter acknowledges to
// the server only an end LSN that commit() returned.
//
// Memory is bounded: events are encoded into one fixed buffer that is written to the file whenever it
// fills, also in the middle of a transaction. Those bytes are not committed; after a crash the next
// open truncates every byte past the recorded committed size, deletes segment files the store never
// recorded, and numbering continues after the last recorded vsn.
//
// The buffer's records go to the file as one checksummed block (segment-format.ts), split in two at
// the last transaction end they hold: what a commit records is the last transaction end, so it is
// always a block end, and a reader can check every committed block whole.
//
// One writer per stream: the exporter's command lock guarantees it; the store refuses a commit that
// would move the head backwards. Segments rotate by size, only at transaction boundaries, so a huge
// transaction stays in one (larger) segment.

import { closeSync, ftruncateSync, mkdirSync } from 'node:fs';
import type { ChangeInput, QueueStream } from '../../core/change-event.js';
import { StateError } from '../../core/errors.js';
import { getQueueStreamHead, lastQueueSegment, recordQueueCommit, type QueueSegmentCommit } from '../../state/queue-store.js';
import type { MigrationStore } from '../../state/store.js';
import { ChangeEncoder } from './event-codec.js';
import type { RowChange } from './row-encoding.js';
import { createSegmentFile, removeUnrecordedSegmentFiles, reopenSegmentFile, type Boundary, type OpenSegment } from './open-segment.js';
import { queueIoError, syncDirectory, syncFileData, writeFully } from './segment-files.js';
import {
  BLOCK_HEADER_SIZE,
  MAX_RECORD_PAYLOAD,
  RECORD_HEADER_SIZE,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_SIZE,
  recordSize,
  writeBlockHeader,
  writeRecordHeader,
  writeSegmentHeader,
} from './segment-format.js';

/** A segment is closed at the first transaction boundary past this size. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Encoded events wait in memory up to this size before they are written to the file. */
export const DEFAULT_WRITE_BUFFER_BYTES = 1024 * 1024;

export interface QueueWriterOptions {
  store: MigrationStore;
  /** data/queue/ of the export directory. */
  queueDir: string;
  stream: QueueStream;
  segmentBytes?: number;
  writeBufferBytes?: number;
}

/** What is durable and recorded: the exporter may acknowledge `endLsn`. */
export interface QueueDurablePoint {
  /** The last durable vsn (0 when the stream has no event yet). */
  lastVsn: number;
  /** The end LSN of the last durable transaction, null before the first. */
  endLsn: string | null;
}

/** What one commit covers, fixed when commit() is called. */
interface CommitSnapshot {
  version: number;
  head: { lastVsn: number; lastEndLsn: string | null };
  segments: Map<OpenSegment, { boundary: Boundary; closed: boolean }>;
}

/** Opens the writer of `stream`, repairing what a crash left (torn tail, unrecorded segment files). */
export function openQueueWriter(options: QueueWriterOptions): QueueWriter {
  return new QueueWriter(options);
}

/** Appends events to one stream's segments; see the file comment for the durability contract. */
export class QueueWriter {
  readonly stream: QueueStream;
  private readonly store: MigrationStore;
  private readonly queueDir: string;
  private readonly segmentBytes: number;
  private readonly buffer: Buffer;
  private readonly encoder = new ChangeEncoder();
  private used = 0;
  /** Where the open block's header is in the buffer (-1: no block open), and the last transaction end after it (-1: none). */
  private blockStart = -1;
  private txEndInBlock = -1;
  /** The segment being appended to; undefined until the first append after open or rotation. */
  private current: OpenSegment | undefined;
  /** Segments whose state is not fully recorded (rotated ones waiting to be closed, and the current). */
  private readonly open: OpenSegment[] = [];
  private lastSegmentNo: number;
  private vsn: number;
  private inTx = false;
  private txStartVsn = 0;
  private headVsn: number;
  private headEndLsn: string | null;
  private headVersion = 0;
  private committedVersion = 0;
  private durable: QueueDurablePoint;
  private commitChain: Promise<unknown> = Promise.resolve();
  private broken: Error | undefined;
  private closed = false;

  constructor(options: QueueWriterOptions) {
    this.stream = options.stream;
    this.store = options.store;
    this.queueDir = options.queueDir;
    this.segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.buffer = Buffer.allocUnsafe(Math.max(options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES, SEGMENT_HEADER_SIZE + 3 * BLOCK_HEADER_SIZE + RECORD_HEADER_SIZE));
    mkdirSync(this.queueDir, { recursive: true });
    const head = getQueueStreamHead(this.store, this.stream);
    const last = lastQueueSegment(this.store, this.stream);
    this.lastSegmentNo = last?.segmentNo ?? 0;
    removeUnrecordedSegmentFiles(this.queueDir, this.stream, this.lastSegmentNo);
    if (last !== undefined && last.closedAt === null) {
      const reopened = reopenSegmentFile(this.queueDir, last);
      this.open.push(reopened);
      // A segment of an older format is not continued: it is recorded closed with the next commit.
      if (reopened.version === SEGMENT_FORMAT_VERSION) this.current = reopened;
      else reopened.rotated = true;
    }
    this.vsn = head.lastVsn + 1;
    this.headVsn = head.lastVsn;
    this.headEndLsn = head.lastEndLsn;
    this.durable = { lastVsn: head.lastVsn, endLsn: head.lastEndLsn };
  }

  /** What is durable and recorded; after open, what capture must not write again (skip up to this end LSN). */
  get durablePoint(): QueueDurablePoint {
    return this.durable;
  }

  /** The vsn the next appended event gets. */
  get nextVsn(): number {
    return this.vsn;
  }

  /** True between the first append of a transaction and its endTransaction (or discardTransaction). */
  get inTransaction(): boolean {
    return this.inTx;
  }

  /**
   * Appends one event of the open transaction (opening one if needed) and returns its vsn. A RowChange
   * (values still in the stream's bytes) is written as the same event as its ChangeInput would be.
   */
  append(change: ChangeInput | RowChange): number {
    this.assertUsable();
    if (!Number.isSafeInteger(this.vsn)) throw new StateError(`The ${this.stream} change queue ran out of safe vsn numbers.`);
    const segment = this.current ?? this.createSegment();
    const vsn = this.vsn;
    let appended = this.appendToBuffer(segment, change, vsn);
    if (!appended && this.used > 0) {
      this.flushBuffer();
      appended = this.appendToBuffer(segment, change, vsn);
    }
    if (!appended) this.appendOwnBlock(segment, change, vsn);
    if (!this.inTx) {
      this.inTx = true;
      this.txStartVsn = vsn;
    }
    segment.events += 1;
    segment.firstVsn ??= vsn;
    segment.lastVsn = vsn;
    this.vsn += 1;
    return vsn;
  }

  /**
   * Encodes the event straight into the buffer's open block (opening one); false when it does not fit.
   * Room for one more block header stays free: flushBuffer may need it to split the block.
   */
  private appendToBuffer(segment: OpenSegment, change: ChangeInput | RowChange, vsn: number): boolean {
    const opening = this.blockStart < 0;
    const recordAt = this.used + (opening ? BLOCK_HEADER_SIZE : 0);
    const limit = this.buffer.length - BLOCK_HEADER_SIZE;
    if (recordAt + RECORD_HEADER_SIZE >= limit) return false;
    const payloadBytes = this.encoder.encodeInto(change, this.buffer, recordAt + RECORD_HEADER_SIZE, limit);
    if (payloadBytes < 0) return false;
    writeRecordHeader(this.buffer, recordAt, vsn, payloadBytes);
    if (opening) this.blockStart = this.used;
    const end = recordAt + recordSize(payloadBytes);
    segment.size += end - this.used;
    this.used = end;
    return true;
  }

  /** Writes an event larger than the buffer as a block of its own (the buffer was flushed). */
  private appendOwnBlock(segment: OpenSegment, change: ChangeInput | RowChange, vsn: number): void {
    const payloadBytes = this.encoder.encode(change);
    if (payloadBytes > MAX_RECORD_PAYLOAD) {
      throw new StateError(`A change of ${change.table.schema}.${change.table.name} is ${payloadBytes} bytes encoded, more than a queue record holds.`);
    }
    const size = BLOCK_HEADER_SIZE + recordSize(payloadBytes);
    const own = Buffer.allocUnsafe(size);
    writeRecordHeader(own, BLOCK_HEADER_SIZE, vsn, payloadBytes);
    this.encoder.bytes.copy(own, BLOCK_HEADER_SIZE + RECORD_HEADER_SIZE, 0, payloadBytes);
    writeBlockHeader(own, 0, size - BLOCK_HEADER_SIZE);
    this.writeToFile(segment, own, size);
    segment.size += size;
  }

  /**
   * Ends the open transaction: its events may now be committed, and `endLsn` (the LSN to acknowledge
   * once they are durable) becomes the head. A transaction without events only moves the head, so the
   * exporter can acknowledge empty transactions too. Rotates to a new segment past the size limit.
   */
  endTransaction(endLsn: string): void {
    this.assertUsable();
    if (typeof endLsn !== 'string' || endLsn === '') throw new StateError('A queue transaction must end with its end LSN.');
    const segment = this.current;
    if (this.inTx && segment !== undefined) {
      segment.boundary = { size: segment.size, events: segment.events, firstVsn: segment.firstVsn, lastVsn: segment.lastVsn, endLsn };
      if (this.blockStart >= 0) this.txEndInBlock = this.used;
      this.headVsn = this.vsn - 1;
    }
    this.headEndLsn = endLsn;
    this.headVersion += 1;
    this.inTx = false;
    if (segment !== undefined && segment.size >= this.segmentBytes) {
      this.flushBuffer();
      segment.rotated = true;
      this.current = undefined;
    }
  }

  /**
   * Drops the events of the open transaction (the replication connection broke in the middle of it,
   * or the server aborted a streamed transaction): their bytes are cut off and their vsns reused.
   */
  discardTransaction(): void {
    this.assertUsable();
    const segment = this.current;
    if (!this.inTx || segment === undefined) {
      this.inTx = false;
      return;
    }
    const target = segment.boundary.size;
    if (segment.written > target) {
      try {
        ftruncateSync(segment.fd, target);
      } catch (error) {
        throw this.fail(queueIoError('truncate', segment.path, error));
      }
      segment.written = target;
      this.used = 0;
    } else {
      this.used = target - segment.written;
    }
    // The boundary is a block end or inside the open block (its last transaction end).
    if (this.blockStart >= this.used) this.blockStart = -1;
    this.txEndInBlock = this.blockStart >= 0 ? this.used : -1;
    segment.size = target;
    segment.events = segment.boundary.events;
    segment.firstVsn = segment.boundary.firstVsn;
    segment.lastVsn = segment.boundary.lastVsn;
    this.vsn = this.txStartVsn;
    this.inTx = false;
  }

  /**
   * Makes every transaction ended so far durable and recorded, and returns the new durable point
   * (events of a transaction still open are written at most, never recorded). Calls run one after
   * the other; appends may go on meanwhile. `alsoRecord` runs inside the store transaction that
   * records the commit, so what it writes (for example the per-table counts of the committed
   * transactions) is recorded exactly when the events are.
   */
  commit(alsoRecord?: () => void): Promise<QueueDurablePoint> {
    // What this commit covers is fixed now, when it is called: the caller may go on appending and
    // ending transactions while it runs (their counts go with the next commit, as their events do).
    let snapshot: CommitSnapshot;
    try {
      snapshot = this.snapshot();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const run = this.commitChain.then(() => this.commitNow(snapshot, alsoRecord));
    this.commitChain = run.catch(() => undefined);
    return run;
  }

  /** The head and each open segment's last transaction end, as of now; the buffered bytes go to the files. */
  private snapshot(): CommitSnapshot {
    this.assertUsable();
    this.flushBuffer();
    return {
      version: this.headVersion,
      head: { lastVsn: this.headVsn, lastEndLsn: this.headEndLsn },
      segments: new Map(this.open.map((segment) => [segment, { boundary: segment.boundary, closed: segment.rotated }])),
    };
  }

  /** Closes the files without committing (what was not committed is cut off at the next open). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.commitChain;
    this.closed = true;
    for (const segment of this.open.splice(0)) closeSync(segment.fd);
    this.current = undefined;
  }

  private async commitNow(snapshot: CommitSnapshot, alsoRecord: (() => void) | undefined): Promise<QueueDurablePoint> {
    this.assertUsable();
    this.flushBuffer();
    const { version, head } = snapshot;
    if (version === this.committedVersion) {
      if (alsoRecord !== undefined) this.store.transaction(alsoRecord);
      return this.durable;
    }
    // Segments a commit before this one closed are no longer open; segments created since the snapshot wait for the next.
    const items = this.open.flatMap((segment) => {
      const at = snapshot.segments.get(segment);
      return at !== undefined && (at.boundary !== segment.recordedBoundary || at.closed) ? [{ segment, ...at }] : [];
    });
    try {
      for (const { segment } of items) await syncFileData(segment.fd, segment.path);
      if (items.some(({ segment }) => segment.needsDirSync)) {
        await syncDirectory(this.queueDir);
        for (const { segment } of items) segment.needsDirSync = false;
      }
    } catch (error) {
      // After a failed fsync the kernel may have dropped the dirty pages: nothing written since the
      // last commit can be trusted, so the writer stops and a reopen cuts back to the committed size.
      throw this.fail(error as Error);
    }
    const rows: QueueSegmentCommit[] = items.map(({ segment, boundary, closed }) => ({
      segmentNo: segment.segmentNo,
      fileName: segment.fileName,
      committedSize: boundary.size,
      eventCount: boundary.events,
      firstVsn: boundary.firstVsn,
      lastVsn: boundary.lastVsn,
      lastEndLsn: boundary.endLsn,
      closed,
    }));
    recordQueueCommit(this.store, this.stream, rows, head, alsoRecord);
    for (const { segment, boundary, closed } of items) {
      segment.recordedBoundary = boundary;
      if (closed) {
        this.open.splice(this.open.indexOf(segment), 1);
        closeSync(segment.fd);
      }
    }
    this.committedVersion = version;
    this.durable = { lastVsn: head.lastVsn, endLsn: head.lastEndLsn };
    return this.durable;
  }

  private createSegment(): OpenSegment {
    let segment: OpenSegment;
    try {
      segment = createSegmentFile(this.queueDir, this.stream, this.lastSegmentNo + 1);
    } catch (error) {
      throw this.fail(error as Error);
    }
    this.lastSegmentNo = segment.segmentNo;
    // The buffer is empty here: it is flushed at every rotation, and a new segment follows one.
    writeSegmentHeader(this.buffer, 0, segment.segmentNo);
    this.used = SEGMENT_HEADER_SIZE;
    this.current = segment;
    this.open.push(segment);
    return segment;
  }

  private flushBuffer(): void {
    if (this.used === 0) return;
    const segment = this.current;
    if (segment === undefined) throw new Error('queue writer: buffered bytes without a segment');
    if (this.blockStart >= 0) this.closeBlock(segment);
    this.writeToFile(segment, this.buffer, this.used);
    this.used = 0;
  }

  /**
   * Closes the open block. When records of a transaction still open follow the block's last
   * transaction end, they move behind a header of their own: a commit may record that end, and the
   * committed size must be a block end (the room for the header was kept free by appendToBuffer).
   */
  private closeBlock(segment: OpenSegment): void {
    const start = this.blockStart;
    const end = this.used;
    const split = this.txEndInBlock;
    if (split > start + BLOCK_HEADER_SIZE && split < end) {
      this.buffer.copyWithin(split + BLOCK_HEADER_SIZE, split, end);
      writeBlockHeader(this.buffer, start, split - start - BLOCK_HEADER_SIZE);
      writeBlockHeader(this.buffer, split, end - split);
      this.used = end + BLOCK_HEADER_SIZE;
      segment.size += BLOCK_HEADER_SIZE;
    } else {
      writeBlockHeader(this.buffer, start, end - start - BLOCK_HEADER_SIZE);
    }
    this.blockStart = -1;
    this.txEndInBlock = -1;
  }

  private writeToFile(segment: OpenSegment, source: Buffer, length: number): void {
    try {
      writeFully(segment.fd, segment.path, source, length, segment.written);
    } catch (error) {
      throw this.fail(error as Error);
    }
    segment.written += length;
  }

  private fail(error: Error): Error {
    this.broken ??= error;
    return error;
  }

  private assertUsable(): void {
    if (this.closed) throw new StateError(`The ${this.stream} change queue writer is closed.`);
    if (this.broken !== undefined) {
      throw new StateError(`The ${this.stream} change queue writer stopped after an earlier failure: ${this.broken.message}`, {
        cause: this.broken,
        hint: 'Run the same command again: the queue is reopened from its last durable commit.',
      });
    }
  }
}
