// COPY ... TO STDOUT as a Readable. PostgreSQL sends one CopyData message per row; pg-copy-streams
// hands every message through a generic buffer list, which cost about a second of Node CPU per 300 MB
// (3 million rows) in the snapshot benchmark. This reader takes the connection's socket over for the
// duration of the COPY (as pg-copy-streams does), walks the messages with plain index arithmetic, and
// passes each socket buffer on with its row bytes moved together in place. Because it sees where
// every row ends, it also cuts the output into segments of whole rows and checksums each (CRC-32),
// so the import can form batches and verify them without reading the file first. In binary format
// it drops the header and the trailer: what it passes on is bare tuples. At CopyDone (or an
// ErrorResponse) the socket goes back to node-postgres, which reads CommandComplete / ErrorResponse
// and ReadyForQuery and calls the handle* methods below.
//
// In binary format it may also drop the trailing spaces of character(n) fields (`blankPadded`): the
// target's character(n) pads every value to n again on input (bpcharrecv, like bpcharin), so the
// stored values are identical, and pgbench's char(84) filler shrinks its rows from 114 to 30 bytes,
// which the file, the import and the target's COPY no longer carry (target COPY of pgbench_accounts
// here: 1.1 s instead of 1.9 s). Asking the source to trim (`filler::text`) cost it more than that.
// A row cut by socket reads is gathered first, so every row is trimmed and the file depends on the
// data only.

import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { BINARY_COPY_HEADER } from '../../../core/copy-binary-format.js';
import type { RowSegment, SegmentLimits, SnapshotFileFormat } from '../../snapshot-engine.js';

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const HEADER = 5; // type byte + int32 length (which counts itself)
/** In binary format a CopyData of two bytes is the trailer (field count -1): a tuple has at least one field (6 bytes). */
const BINARY_TRAILER_LENGTH = 2;
const SKIPPED = -1;
const SPACE = 0x20;
/** Eight spaces read as a big-endian float64 (a normal number, so equality means the same bits). */
const EIGHT_SPACES = new DataView(Buffer.alloc(8, SPACE).buffer).getFloat64(0);

/** The part of node-postgres' connection this reader uses. */
interface PgConnection {
  stream: NodeJS.ReadableStream & { listeners(event: 'data'): ((chunk: Buffer) => void)[] };
  query(text: string): void;
}

/** A COPY TO STDOUT submitted with `client.query(stream)`; emits the rows' bytes. */
export class CopyOutStream extends Readable {
  /** Rows from the CommandComplete tag (`COPY n`), set before ReadyForQuery. */
  rowCount = 0;
  /** Rows delimited by the protocol (CopyData messages that hold a row). */
  rows = 0;
  /** Closed segments of whole rows, in stream order (complete once the stream ended). */
  readonly segments: RowSegment[] = [];
  private connection: PgConnection | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private readonly onSocketData = (chunk: Buffer): void => this.parse(chunk);
  private readonly header = Buffer.alloc(HEADER);
  private headerFill = 0;
  /** Message type being read, SKIPPED for a message whose body is not kept (binary trailer). */
  private code = 0;
  /** Body bytes of the current message still to come; -1 while reading a header. */
  private remaining = -1;
  private readyWaiters: (() => void)[] = [];
  private readonly binary: boolean;
  /** Binary format: header bytes still to drop, and what was dropped (checked once complete). */
  private headerToSkip: number;
  private readonly binaryHeader = Buffer.alloc(BINARY_COPY_HEADER.length);
  private trailerSeen = false;
  /** The open segment: rows, bytes and CRC of earlier socket buffers, and where it starts in the current one. */
  private segmentRows = 0;
  private segmentBytes = 0;
  private segmentCrc = 0;
  private segmentStart = 0;
  /** Binary format: per field of a tuple, whether its trailing spaces are dropped; null when none is. */
  private readonly blankPadded: readonly boolean[] | null;
  /** With blankPadded: the CopyData message being read across socket reads, trimmed once complete. */
  private carry: { bytes: Buffer; filled: number } | undefined;

  constructor(
    private readonly text: string,
    format: SnapshotFileFormat,
    private readonly limits: SegmentLimits,
    blankPadded: readonly boolean[] = [],
  ) {
    super({ highWaterMark: 2 << 20 });
    this.binary = format === 'binary';
    this.headerToSkip = this.binary ? BINARY_COPY_HEADER.length : 0;
    this.blankPadded = this.binary && blankPadded.some(Boolean) ? blankPadded : null;
  }

  /** Called by node-postgres when the query is sent: take the socket over, then send the COPY. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    const listeners = connection.stream.listeners('data');
    if (listeners.length !== 1) throw new Error(`COPY OUT expects one data listener on the connection, found ${listeners.length}`);
    this.pgDataHandler = listeners[0];
    connection.stream.removeListener('data', this.pgDataHandler as (chunk: Buffer) => void);
    connection.stream.on('data', this.onSocketData);
    connection.query(this.text);
  }

  override _read(): void {
    if (this.pgDataHandler !== undefined) this.connection?.stream.resume();
  }

  /** Resolves once node-postgres saw ReadyForQuery (rowCount is final); used by the snapshot engine. */
  whenReady(): Promise<void> {
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** node-postgres: the server's CommandComplete after CopyDone. */
  handleCommandComplete(message: { text?: string } | undefined): void {
    const match = /^COPY (\d+)/.exec(message?.text ?? '');
    if (match !== null) this.rowCount = Number(match[1]);
  }

  /** node-postgres: the query is over. */
  handleReadyForQuery(): void {
    for (const wake of this.readyWaiters.splice(0)) wake();
  }

  /** node-postgres: the server (or the connection) reported an error. */
  handleError(error: Error): void {
    this.destroy(error);
  }

  /**
   * Moves the row bytes of `chunk` to its front (dropping the message headers) and passes that on:
   * the socket's buffers are never reused by Node, and an in-place copyWithin per row is about four
   * times cheaper than copying into a separate buffer.
   */
  private parse(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    let kept = 0;
    let view: DataView | undefined;
    const keep = (start: number, end: number): void => {
      if (this.headerToSkip > 0) start = this.skipBinaryHeader(chunk, start, end);
      if (start !== kept) chunk.copyWithin(kept, start, end);
      kept += end - start;
    };
    while (i < n) {
      if (this.remaining < 0) {
        // Fast path: a whole CopyData message inside this chunk.
        if (this.headerFill === 0 && i + HEADER <= n && chunk[i] === COPY_DATA) {
          const length = chunk.readUInt32BE(i + 1) - 4;
          if (i + HEADER + length <= n) {
            if (this.isBinaryTrailer(length)) this.trailerSeen = true;
            else {
              let from = i + HEADER;
              const to = from + length;
              if (this.blankPadded !== null && this.headerToSkip > 0) from = this.skipBinaryHeader(chunk, from, to);
              if (this.blankPadded !== null && this.headerToSkip === 0) kept = this.keepTrimmed(chunk, (view ??= new DataView(chunk.buffer, chunk.byteOffset, n)), from, to, kept, this.blankPadded);
              else keep(from, to);
              this.rowEnded(chunk, kept);
            }
            i += HEADER + length;
            continue;
          }
        }
        const take = Math.min(HEADER - this.headerFill, n - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < HEADER) break;
        this.headerFill = 0;
        this.code = this.header[0] ?? 0;
        if (this.code === ERROR_RESPONSE) {
          // node-postgres parses the error and calls handleError.
          this.detach(Buffer.concat([this.header, chunk.subarray(i)]));
          return;
        }
        this.remaining = this.header.readUInt32BE(1) - 4;
        if (this.code === COPY_DATA && this.isBinaryTrailer(this.remaining)) {
          this.code = SKIPPED;
          this.trailerSeen = true;
        }
        if (this.code === COPY_DATA && this.blankPadded !== null) this.carry = { bytes: Buffer.allocUnsafe(this.remaining), filled: 0 };
      }
      const take = Math.min(this.remaining, n - i);
      const carry = this.carry;
      if (carry !== undefined) {
        chunk.copy(carry.bytes, carry.filled, i, i + take);
        carry.filled += take;
      } else if (this.code === COPY_DATA && take > 0) keep(i, i + take);
      this.remaining -= take;
      i += take;
      if (this.remaining > 0) break;
      this.remaining = -1;
      if (carry !== undefined) {
        // A row cut by socket reads completes at the start of this chunk (nothing kept before it): passed on by itself.
        this.carry = undefined;
        this.passOnCarried(carry.bytes, this.blankPadded ?? []);
      }
      if (this.code === COPY_DATA) this.rowEnded(chunk, kept);
      if (this.code === COPY_DONE) {
        this.endChunk(chunk, kept);
        if (this.segmentRows > 0) this.closeSegment();
        this.detach(chunk.subarray(i));
        if (this.binary && (!this.trailerSeen || this.headerToSkip > 0)) {
          this.destroy(new Error('the COPY binary output did not start with the binary header and end with the trailer'));
          return;
        }
        this.push(null);
        return;
      }
      // CopyOutResponse, NoticeResponse, ParameterStatus, NotificationResponse: nothing to keep.
    }
    this.endChunk(chunk, kept);
  }

  /**
   * Trims a row that arrived in pieces (dropping the binary header first if it carries it) and passes
   * it on, its bytes counted into the open segment, so every row is trimmed whatever the socket reads:
   * the file's bytes depend on the data only.
   */
  private passOnCarried(message: Buffer, padded: readonly boolean[]): void {
    let from = 0;
    if (this.headerToSkip > 0) from = this.skipBinaryHeader(message, 0, message.length);
    const length = this.keepTrimmed(message, new DataView(message.buffer, message.byteOffset, message.length), from, message.length, 0, padded);
    if (length === 0) return;
    const row = message.subarray(0, length);
    this.segmentCrc = crc32(row, this.segmentCrc);
    this.segmentBytes += length;
    if (!this.push(row) && this.pgDataHandler !== undefined) this.connection?.stream.pause();
  }

  /**
   * Moves the binary tuple [start, end) of `chunk` to `kept` with the trailing spaces of its
   * blank-padded fields dropped (their lengths rewritten); returns the new end of the kept bytes.
   * Runs of bytes that stay are moved with one copyWithin each (one per row for pgbench_accounts),
   * and spaces are skipped 8 bytes at a time (a float64 read compared with eight spaces' bit
   * pattern). A tuple whose field count or lengths do not fit is moved as it is.
   */
  private keepTrimmed(chunk: Buffer, view: DataView, start: number, end: number, kept: number, padded: readonly boolean[]): number {
    let read = start + 2;
    let runStart = start;
    let out = kept;
    if (end - start >= 2 && view.getInt16(start) === padded.length) {
      for (let f = 0; f < padded.length && read + 4 <= end; f++) {
        const length = view.getInt32(read);
        const data = read + 4;
        if (length < 0) {
          read = data;
          continue;
        }
        const fieldEnd = data + length;
        if (fieldEnd > end) break;
        if (padded[f] === true && length > 0 && chunk[fieldEnd - 1] === SPACE) {
          let trimmed = fieldEnd - 1;
          while (trimmed - 8 >= data && view.getFloat64(trimmed - 8) === EIGHT_SPACES) trimmed -= 8;
          while (trimmed > data && chunk[trimmed - 1] === SPACE) trimmed--;
          view.setInt32(read, trimmed - data);
          if (runStart !== out) chunk.copyWithin(out, runStart, trimmed);
          out += trimmed - runStart;
          runStart = fieldEnd;
        }
        read = fieldEnd;
      }
    }
    if (runStart !== out) chunk.copyWithin(out, runStart, end);
    return out + (end - runStart);
  }

  /**
   * True for the binary trailer's CopyData: two bytes, or the header and the trailer together when
   * the result is empty (a tuple has at least one field, so it is never that short).
   */
  private isBinaryTrailer(length: number): boolean {
    if (!this.binary) return false;
    if (length === BINARY_TRAILER_LENGTH && this.headerToSkip === 0) return true;
    if (length === BINARY_COPY_HEADER.length + BINARY_TRAILER_LENGTH && this.headerToSkip === BINARY_COPY_HEADER.length) {
      this.headerToSkip = 0;
      return true;
    }
    return false;
  }

  /** A row ended at `kept` in the current chunk: count it, and close the segment when it is full. */
  private rowEnded(chunk: Buffer, kept: number): void {
    this.rows++;
    this.segmentRows++;
    if (this.segmentRows >= this.limits.rows || this.segmentBytes + kept - this.segmentStart >= this.limits.bytes) {
      this.segmentCrc = crc32(chunk.subarray(this.segmentStart, kept), this.segmentCrc);
      this.segmentBytes += kept - this.segmentStart;
      this.segmentStart = kept;
      this.closeSegment();
    }
  }

  private closeSegment(): void {
    this.segments.push({ rows: this.segmentRows, bytes: this.segmentBytes, crc32: this.segmentCrc });
    this.segmentRows = 0;
    this.segmentBytes = 0;
    this.segmentCrc = 0;
  }

  /** Accounts the open segment's bytes in this chunk and passes the kept bytes on. */
  private endChunk(chunk: Buffer, kept: number): void {
    if (kept > this.segmentStart) {
      this.segmentCrc = crc32(chunk.subarray(this.segmentStart, kept), this.segmentCrc);
      this.segmentBytes += kept - this.segmentStart;
    }
    this.segmentStart = 0;
    if (kept > 0 && !this.push(chunk.subarray(0, kept)) && this.pgDataHandler !== undefined) this.connection?.stream.pause();
  }

  /** Drops the binary header's bytes from [start, end) of chunk; returns where the rest starts. */
  private skipBinaryHeader(chunk: Buffer, start: number, end: number): number {
    const n = Math.min(this.headerToSkip, end - start);
    chunk.copy(this.binaryHeader, BINARY_COPY_HEADER.length - this.headerToSkip, start, start + n);
    this.headerToSkip -= n;
    if (this.headerToSkip === 0 && !this.binaryHeader.subarray(0, 11).equals(BINARY_COPY_HEADER.subarray(0, 11))) {
      this.destroy(new Error('the COPY binary output does not start with the binary signature'));
    }
    if (this.headerToSkip === 0 && this.binaryHeader.readUInt32BE(15) !== 0) {
      this.destroy(new Error('the COPY binary output has a header extension, which godwit does not read'));
    }
    return start + n;
  }

  /** Gives the socket back to node-postgres with the bytes after the COPY data. */
  private detach(rest: Buffer): void {
    const connection = this.connection;
    const handler = this.pgDataHandler;
    if (connection === undefined || handler === undefined) return;
    this.pgDataHandler = undefined;
    connection.stream.removeListener('data', this.onSocketData);
    connection.stream.on('data', handler);
    if (rest.length > 0) handler(rest);
    // The consumer may have paused the socket; node-postgres must read CommandComplete and ReadyForQuery.
    process.nextTick(() => connection.stream.resume());
  }
}
