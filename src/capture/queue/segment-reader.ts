// The change queue's reader: returns the events of one stream from a given vsn on, in vsn order,
// reading each segment file only up to the committed size the store records (never the tail a writer
// is still appending or a crash left behind), and following new commits by polling the store. Every
// block's checksum (every record's, in segments of versions 1 and 2), every length and every vsn are
// checked; a damaged one stops the reader with a QueueDamagedError naming the file and the byte
// offset (issue 7).
//
// Several readers may follow one stream at once (importers, the report); each opens its own files.

import { closeSync, fstatSync, openSync, read } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChangeEvent, QueueStream } from '../../core/change-event.js';
import { StateError } from '../../core/errors.js';
import { findQueueSegmentForVsn, getQueueSegment, type QueueSegment } from '../../state/queue-store.js';
import type { MigrationStore } from '../../state/store.js';
import { decodeChangeV1 } from './event-codec-v1.js';
import { ChangeDecoder } from './event-decoder.js';
import { QueueDamagedError, QueueEventsArchivedError } from './queue-errors.js';
import { StoreChangeSignal } from './store-change-signal.js';
import { checkSegmentFile, queueIoError } from './segment-files.js';
import {
  BLOCK_HEADER_SIZE,
  CHECKED_RECORD_HEADER_SIZE,
  FIRST_BLOCK_VERSION,
  RECORD_HEADER_SIZE,
  SEGMENT_FORMAT_VERSION,
  SEGMENT_HEADER_SIZE,
  blockBodyLength,
  blockChecksumMatches,
  checkedRecordChecksumMatches,
  checkedRecordPayloadLength,
  checkedRecordVsn,
  recordPayloadLength,
  recordVsn,
} from './segment-format.js';

const readAsync = promisify(read);

/** A record the reader found and checked: its vsn and where its payload is. */
interface FoundRecord {
  vsn: number;
  payloadStart: number;
  payloadBytes: number;
  source: Buffer;
}

/** Bytes read from a segment file at a time (a record larger than this gets a buffer of its own). */
export const DEFAULT_READ_BUFFER_BYTES = 4 * 1024 * 1024;
/**
 * How often, at most, a reader that reached the end asks the store for new commits. It asks sooner
 * (from MIN_POLL_INTERVAL_MS, doubling) while commits keep coming, so a busy stream reaches the
 * importer without a tenth of a second's wait per commit, and a quiet one costs a read every 100 ms.
 */
export const DEFAULT_POLL_INTERVAL_MS = 100;
const MIN_POLL_INTERVAL_MS = 5;

export interface QueueReaderOptions {
  store: MigrationStore;
  /** data/queue/ of the export directory. */
  queueDir: string;
  stream: QueueStream;
  /** The first vsn to return (the importer passes its last applied vsn + 1); default 1. */
  fromVsn?: number;
  readBufferBytes?: number;
  pollIntervalMs?: number;
}

/** Opens a reader of `stream` positioned at `fromVsn`; files are opened lazily on the first read. */
export function openQueueReader(options: QueueReaderOptions): QueueReader {
  return new QueueReader(options);
}

/** Reads committed events of one stream in vsn order; see the file comment. */
export class QueueReader {
  readonly stream: QueueStream;
  private readonly store: MigrationStore;
  private readonly queueDir: string;
  private readonly pollIntervalMs: number;
  private buffer: Buffer;
  /** File offset of buffer[0], and how many bytes of the buffer are valid. */
  private bufferStart = 0;
  private bufferLength = 0;
  private segment: QueueSegment | undefined;
  private fd: number | undefined;
  private path = '';
  /** File offset of the next record. */
  private position = 0;
  /** The vsn the next record of the file must carry. */
  private expectedVsn: number | null = null;
  /** The vsn the next returned event must have. */
  private wanted: number;
  /** The checked block the next records come from (version 3): its bytes, the file offset of their first byte, and its end in the file (0: none). */
  private blockSource: Buffer = Buffer.alloc(0);
  private blockSourceStart = 0;
  private blockEnd = 0;
  /** The open segment's format version, and the decoder of version-2 payloads (it keeps the shapes it met). */
  private version = SEGMENT_FORMAT_VERSION;
  private readonly decoder = new ChangeDecoder();
  private readonly storeChanges: StoreChangeSignal;
  private closed = false;
  /** The record found last: one object for every record, each decoded before the next is found (no garbage per record). */
  private readonly found: FoundRecord = { vsn: 0, payloadStart: 0, payloadBytes: 0, source: Buffer.alloc(0) };

  constructor(options: QueueReaderOptions) {
    this.stream = options.stream;
    this.store = options.store;
    this.queueDir = options.queueDir;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.buffer = Buffer.allocUnsafe(Math.max(options.readBufferBytes ?? DEFAULT_READ_BUFFER_BYTES, CHECKED_RECORD_HEADER_SIZE));
    this.wanted = Math.max(1, options.fromVsn ?? 1);
    this.storeChanges = new StoreChangeSignal(options.store.file);
  }

  /** The vsn of the next event this reader will return. */
  get nextVsn(): number {
    return this.wanted;
  }

  /** Up to `maxEvents` events committed by now, in vsn order; empty when there is nothing new yet. */
  async read(maxEvents = 1000): Promise<ChangeEvent[]> {
    if (this.closed) throw new StateError(`The ${this.stream} change queue reader is closed.`);
    const events: ChangeEvent[] = [];
    while (events.length < maxEvents) {
      const segment = this.segment ?? this.openSegment(findQueueSegmentForVsn(this.store, this.stream, this.wanted));
      if (segment === undefined) break;
      if (this.position >= segment.committedSize) {
        if (this.advance(segment)) continue;
        break;
      }
      // Most records are in the read buffer already: no await (and no promise) for those.
      const { vsn, payloadStart, payloadBytes, source } =
        this.version >= FIRST_BLOCK_VERSION
          ? (this.blockRecord(segment) ?? (await this.nextBlockRecord(segment)))
          : (this.bufferedRecord(segment) ?? (await this.nextRecord(segment)));
      if (vsn < this.wanted) continue;
      let event: ChangeEvent;
      try {
        event =
          this.version === 1
            ? decodeChangeV1(source.toString('utf8', payloadStart, payloadStart + payloadBytes), vsn, this.stream)
            : this.decoder.decode(source, payloadStart, payloadStart + payloadBytes, vsn, this.stream);
      } catch (error) {
        const offset = this.position - (this.version >= FIRST_BLOCK_VERSION ? RECORD_HEADER_SIZE : CHECKED_RECORD_HEADER_SIZE) - payloadBytes;
        throw new QueueDamagedError(this.path, offset, 'bad-payload', `the record of vsn ${vsn} does not decode (${(error as Error).message})`, { cause: error });
      }
      events.push(event);
      this.wanted = vsn + 1;
    }
    return events;
  }

  /** Like {@link read}, but waits (polling the store) until there is at least one event or `signal` aborts. */
  async next(maxEvents = 1000, signal?: AbortSignal): Promise<ChangeEvent[]> {
    let interval = Math.min(MIN_POLL_INTERVAL_MS, this.pollIntervalMs);
    for (;;) {
      this.storeChanges.reset();
      const events = await this.read(maxEvents);
      if (events.length > 0 || signal?.aborted === true) return events;
      try {
        // Woken by the exporter's next commit (store-change-signal.ts), or at the poll interval.
        await this.storeChanges.wait(interval, signal);
      } catch {
        return [];
      }
      interval = Math.min(interval * 2, this.pollIntervalMs);
    }
  }

  /** Batches of events as they are committed, until `signal` aborts: the importer's main loop. */
  async *follow(maxEvents = 1000, signal?: AbortSignal): AsyncGenerator<ChangeEvent[]> {
    while (signal?.aborted !== true) {
      const events = await this.next(maxEvents, signal);
      if (events.length > 0) yield events;
    }
  }

  /** Closes the open segment file. */
  close(): void {
    this.closed = true;
    this.storeChanges.close();
    this.closeFile();
  }

  /** Opens `segment` and positions at its first record the reader still wants. */
  private openSegment(segment: QueueSegment | undefined): QueueSegment | undefined {
    if (segment === undefined) return undefined;
    const path = join(this.queueDir, segment.fileName);
    this.path = path;
    this.bufferStart = 0;
    this.bufferLength = 0;
    this.forgetBlock();
    const olderThanWanted = segment.lastVsn === null ? segment.closedAt !== null : segment.lastVsn < this.wanted;
    if (olderThanWanted && segment.closedAt !== null) {
      // Nothing here is wanted and nothing will be added (it may even be archived): skip to its end.
      this.segment = segment;
      this.position = segment.committedSize;
      if (segment.lastVsn !== null) this.expectedVsn = segment.lastVsn + 1;
      return segment;
    }
    if (segment.archiveState !== 'present') {
      throw new QueueEventsArchivedError(this.stream, this.wanted, path, segment.archiveState);
    }
    if (segment.firstVsn !== null && segment.firstVsn > this.wanted) {
      throw new StateError(`The ${this.stream} change queue has no event with vsn ${this.wanted}: segment ${path} starts at vsn ${segment.firstVsn}.`);
    }
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new QueueDamagedError(path, 0, 'file-missing', `the file is missing, but the store records ${segment.committedSize} committed bytes in it`);
      }
      throw queueIoError('open', path, error);
    }
    try {
      this.version = checkSegmentFile(fd, path, segment.segmentNo, fstatSync(fd).size, segment.committedSize);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    this.fd = fd;
    this.segment = segment;
    if (segment.lastVsn !== null && segment.lastVsn < this.wanted) {
      // Everything committed here so far is older than wanted: wait at the end for what comes next.
      this.position = segment.committedSize;
      this.expectedVsn = segment.lastVsn + 1;
    } else {
      this.position = SEGMENT_HEADER_SIZE;
      if (segment.firstVsn !== null) this.expectedVsn = segment.firstVsn;
    }
    return segment;
  }

  /** At the committed end of `segment`: takes newly committed bytes, or moves to the next segment; false when nothing is new. */
  private advance(segment: QueueSegment): boolean {
    const fresh = getQueueSegment(this.store, this.stream, segment.segmentNo);
    if (fresh === undefined) throw new StateError(`The ${this.stream} change queue segment ${this.path} is no longer recorded in ${this.store.file}.`);
    if (fresh.committedSize > segment.committedSize) {
      this.segment = fresh;
      this.expectedVsn ??= fresh.firstVsn;
      return true;
    }
    const next = getQueueSegment(this.store, this.stream, segment.segmentNo + 1);
    // A later segment is recorded only once this one is final (the writer records its closing no later).
    if (next === undefined) return false;
    const expected = this.expectedVsn;
    if (expected !== null && next.firstVsn !== null && next.firstVsn !== expected) {
      throw new StateError(`The ${this.stream} change queue skips from vsn ${expected - 1} to ${next.firstVsn} at segment ${next.fileName}.`);
    }
    this.closeFile();
    this.openSegment(next);
    return true;
  }

  /** Reads and checks the record (version 1 or 2) at the current position, then moves past it. */
  private async nextRecord(segment: QueueSegment): Promise<FoundRecord> {
    const offset = this.position;
    const limit = segment.committedSize;
    if (limit - offset < CHECKED_RECORD_HEADER_SIZE) {
      throw new QueueDamagedError(this.path, offset, 'bad-length', `${limit - offset} committed bytes remain, too few for a record header`);
    }
    await this.ensureBuffered(offset, CHECKED_RECORD_HEADER_SIZE, limit);
    let source = this.buffer;
    let start = offset - this.bufferStart;
    const payloadBytes = checkedRecordPayloadLength(source, start);
    if (payloadBytes > limit - offset - CHECKED_RECORD_HEADER_SIZE) {
      throw new QueueDamagedError(
        this.path,
        offset,
        'bad-length',
        `the record announces ${payloadBytes} payload bytes but only ${limit - offset - CHECKED_RECORD_HEADER_SIZE} committed bytes follow its header`,
      );
    }
    const size = CHECKED_RECORD_HEADER_SIZE + payloadBytes;
    if (size > this.buffer.length) {
      source = Buffer.allocUnsafe(size);
      await this.readExactly(source, 0, size, offset);
      start = 0;
    } else {
      await this.ensureBuffered(offset, size, limit);
      start = offset - this.bufferStart;
    }
    return this.checkedRecord(source, start, offset, payloadBytes);
  }

  /** The record (version 1 or 2) at the current position when it is wholly in the read buffer (checked), else undefined. */
  private bufferedRecord(segment: QueueSegment): FoundRecord | undefined {
    const offset = this.position;
    const start = offset - this.bufferStart;
    if (start < 0 || start + CHECKED_RECORD_HEADER_SIZE > this.bufferLength) return undefined;
    const payloadBytes = checkedRecordPayloadLength(this.buffer, start);
    // A length past the committed size or the buffer: the slow path reads or reports it.
    if (payloadBytes > segment.committedSize - offset - CHECKED_RECORD_HEADER_SIZE || start + CHECKED_RECORD_HEADER_SIZE + payloadBytes > this.bufferLength) return undefined;
    return this.checkedRecord(this.buffer, start, offset, payloadBytes);
  }

  /** Checks the record at `start` of `source` (file offset `offset`) and moves past it. */
  private checkedRecord(source: Buffer, start: number, offset: number, payloadBytes: number): FoundRecord {
    const size = CHECKED_RECORD_HEADER_SIZE + payloadBytes;
    if (!checkedRecordChecksumMatches(source, start, payloadBytes)) {
      throw new QueueDamagedError(this.path, offset, 'checksum-mismatch', `the checksum of the record (${payloadBytes} payload bytes) does not match`);
    }
    const vsn = checkedRecordVsn(source, start);
    if (this.expectedVsn !== null && vsn !== this.expectedVsn) {
      throw new QueueDamagedError(this.path, offset, 'unexpected-vsn', `the record carries vsn ${vsn}, expected ${this.expectedVsn}`);
    }
    this.expectedVsn = vsn + 1;
    this.position = offset + size;
    return this.foundRecord(vsn, start + CHECKED_RECORD_HEADER_SIZE, payloadBytes, source);
  }

  /** The next record of the checked block, checking the next block first when it is wholly in the read buffer; undefined when it must be read. */
  private blockRecord(segment: QueueSegment): FoundRecord | undefined {
    if (this.position < this.blockEnd) return this.recordInBlock();
    const offset = this.position;
    const start = offset - this.bufferStart;
    if (start < 0 || start + BLOCK_HEADER_SIZE > this.bufferLength) return undefined;
    const bodyBytes = blockBodyLength(this.buffer, start);
    // A length past the committed size or the buffer: the slow path reads or reports it.
    if (bodyBytes > segment.committedSize - offset - BLOCK_HEADER_SIZE || start + BLOCK_HEADER_SIZE + bodyBytes > this.bufferLength) return undefined;
    this.checkBlock(this.buffer, start, offset, bodyBytes);
    return this.recordInBlock();
  }

  /** Reads and checks the block at the current position (a block larger than the read buffer gets a buffer of its own), then returns its first record. */
  private async nextBlockRecord(segment: QueueSegment): Promise<FoundRecord> {
    const offset = this.position;
    const limit = segment.committedSize;
    if (limit - offset < BLOCK_HEADER_SIZE) {
      throw new QueueDamagedError(this.path, offset, 'bad-length', `${limit - offset} committed bytes remain, too few for a block header`);
    }
    await this.ensureBuffered(offset, BLOCK_HEADER_SIZE, limit);
    const bodyBytes = blockBodyLength(this.buffer, offset - this.bufferStart);
    if (bodyBytes > limit - offset - BLOCK_HEADER_SIZE) {
      throw new QueueDamagedError(
        this.path,
        offset,
        'bad-length',
        `the block announces ${bodyBytes} bytes of records but only ${limit - offset - BLOCK_HEADER_SIZE} committed bytes follow its header`,
      );
    }
    const size = BLOCK_HEADER_SIZE + bodyBytes;
    if (size > this.buffer.length) {
      const own = Buffer.allocUnsafe(size);
      await this.readExactly(own, 0, size, offset);
      this.checkBlock(own, 0, offset, bodyBytes);
    } else {
      await this.ensureBuffered(offset, size, limit);
      this.checkBlock(this.buffer, offset - this.bufferStart, offset, bodyBytes);
    }
    return this.recordInBlock();
  }

  /** Checks the block at `start` of `source` (file offset `offset`) and makes it the one records come from. */
  private checkBlock(source: Buffer, start: number, offset: number, bodyBytes: number): void {
    if (bodyBytes === 0) throw new QueueDamagedError(this.path, offset, 'bad-length', 'the block holds no record');
    if (!blockChecksumMatches(source, start, bodyBytes)) {
      throw new QueueDamagedError(this.path, offset, 'checksum-mismatch', `the checksum of the block (${bodyBytes} bytes of records) does not match`);
    }
    this.blockSource = source;
    this.blockSourceStart = offset - start;
    this.blockEnd = offset + BLOCK_HEADER_SIZE + bodyBytes;
    this.position = offset + BLOCK_HEADER_SIZE;
  }

  /** The record at the current position, inside the checked block; moves past it. */
  private recordInBlock(): FoundRecord {
    const offset = this.position;
    const source = this.blockSource;
    const start = offset - this.blockSourceStart;
    const left = this.blockEnd - offset - RECORD_HEADER_SIZE;
    if (left < 0) throw new QueueDamagedError(this.path, offset, 'bad-length', `${left + RECORD_HEADER_SIZE} bytes remain in the block, too few for a record header`);
    const payloadBytes = recordPayloadLength(source, start);
    if (payloadBytes > left) {
      throw new QueueDamagedError(this.path, offset, 'bad-length', `the record announces ${payloadBytes} payload bytes but its block ends ${left} bytes after its header`);
    }
    const vsn = recordVsn(source, start);
    if (this.expectedVsn !== null && vsn !== this.expectedVsn) {
      throw new QueueDamagedError(this.path, offset, 'unexpected-vsn', `the record carries vsn ${vsn}, expected ${this.expectedVsn}`);
    }
    this.expectedVsn = vsn + 1;
    this.position = offset + RECORD_HEADER_SIZE + payloadBytes;
    return this.foundRecord(vsn, start + RECORD_HEADER_SIZE, payloadBytes, source);
  }

  private foundRecord(vsn: number, payloadStart: number, payloadBytes: number, source: Buffer): FoundRecord {
    const found = this.found;
    found.vsn = vsn;
    found.payloadStart = payloadStart;
    found.payloadBytes = payloadBytes;
    found.source = source;
    return found;
  }

  /** Makes sure bytes [offset, offset + length) of the file are in the buffer, reading ahead up to `limit`. */
  private async ensureBuffered(offset: number, length: number, limit: number): Promise<void> {
    if (offset >= this.bufferStart && offset + length <= this.bufferStart + this.bufferLength) return;
    const wanted = Math.min(this.buffer.length, limit - offset);
    await this.readExactly(this.buffer, 0, wanted, offset);
    this.bufferStart = offset;
    this.bufferLength = wanted;
  }

  private async readExactly(target: Buffer, targetOffset: number, length: number, position: number): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) throw new Error('queue reader: no open segment');
    let done = 0;
    while (done < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await readAsync(fd, target, targetOffset + done, length - done, position + done));
      } catch (error) {
        throw queueIoError('read', this.path, error);
      }
      if (bytesRead === 0) {
        throw new QueueDamagedError(this.path, position + done, 'file-too-short', `the file ends at byte ${position + done}, inside its committed part`);
      }
      done += bytesRead;
    }
  }

  private closeFile(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.segment = undefined;
    this.bufferLength = 0;
    this.forgetBlock();
  }

  private forgetBlock(): void {
    this.blockSource = Buffer.alloc(0);
    this.blockSourceStart = 0;
    this.blockEnd = 0;
  }
}
