// COPY ... TO STDOUT as a Readable of large buffers. PostgreSQL sends one CopyData message per row;
// pg-copy-streams hands every message through a generic buffer list, which cost about a second of
// Node CPU per 300 MB (3 million rows) in the snapshot benchmark. This reader takes the connection's
// socket over for the duration of the COPY (as pg-copy-streams does), walks the messages with plain
// index arithmetic, and passes each socket buffer on with its row bytes moved together. It counts the CopyData
// messages, so the caller can check them against the command tag. In binary format it drops the file
// header and trailer, so what it passes on is the bare tuples (whole batches of them can be framed
// again on the import side). At CopyDone (or an ErrorResponse)
// the socket goes back to node-postgres, which reads CommandComplete / ErrorResponse and
// ReadyForQuery and calls the handle* methods below.

import { Readable } from 'node:stream';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../../core/copy-binary-format.js';

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR_RESPONSE = 0x45; // 'E'
const HEADER = 5; // type byte + int32 length (which counts itself)
const EMPTY = Buffer.alloc(0);

/** The part of node-postgres' connection this reader uses. */
interface PgConnection {
  stream: NodeJS.ReadableStream & { listeners(event: 'data'): ((chunk: Buffer) => void)[] };
  query(text: string): void;
}

/** A COPY TO STDOUT submitted with `client.query(stream)`; emits the COPY bytes in large buffers. */
export class CopyOutStream extends Readable {
  /** Rows from the CommandComplete tag (`COPY n`), set before ReadyForQuery. */
  rowCount = 0;
  /** CopyData messages received: one per row (binary: one more, the trailer). */
  messages = 0;
  private connection: PgConnection | undefined;
  private pgDataHandler: ((chunk: Buffer) => void) | undefined;
  private readonly onSocketData = (chunk: Buffer): void => this.parse(chunk);
  private readonly header = Buffer.alloc(HEADER);
  private headerFill = 0;
  private code = 0;
  /** Body bytes of the current message still to come; -1 while reading a header. */
  private remaining = -1;
  private readyWaiters: (() => void)[] = [];
  private readonly binary: boolean;
  /** Binary format: header bytes still to drop, and what was dropped (checked once complete). */
  private headerToSkip: number;
  private readonly binaryHeader = Buffer.alloc(BINARY_COPY_HEADER.length);
  /** Binary format: the last two bytes passed on so far, held back because they may be the trailer. */
  private held: Buffer | undefined;

  constructor(
    private readonly text: string,
    format: 'text' | 'binary',
  ) {
    super({ highWaterMark: 2 << 20 });
    this.binary = format === 'binary';
    this.headerToSkip = this.binary ? BINARY_COPY_HEADER.length : 0;
  }

  /** Rows the protocol delimited (CopyData messages, less the binary trailer): checked against rowCount. */
  get framedRows(): number {
    return this.binary ? Math.max(this.messages - 1, 0) : this.messages;
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
            keep(i + HEADER, i + HEADER + length);
            this.messages++;
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
        if (this.code === COPY_DATA) this.messages++;
        this.remaining = this.header.readUInt32BE(1) - 4;
      }
      const take = Math.min(this.remaining, n - i);
      if (this.code === COPY_DATA && take > 0) keep(i, i + take);
      this.remaining -= take;
      i += take;
      if (this.remaining > 0) break;
      this.remaining = -1;
      if (this.code === COPY_DONE) {
        this.pass(chunk.subarray(0, kept));
        this.detach(chunk.subarray(i));
        if (this.binary && (this.held === undefined || !this.held.equals(BINARY_COPY_TRAILER) || this.headerToSkip > 0)) {
          this.destroy(new Error('the COPY binary output did not start with the binary header and end with the trailer'));
          return;
        }
        this.push(null);
        return;
      }
      // CopyOutResponse, NoticeResponse, ParameterStatus, NotificationResponse: nothing to keep.
    }
    this.pass(chunk.subarray(0, kept));
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

  /** Passes bytes on; in binary format always holds the last two back (the trailer must not be passed on). */
  private pass(bytes: Buffer): void {
    if (!this.binary) {
      if (bytes.length > 0) this.forward(bytes);
      return;
    }
    if (bytes.length < 2) {
      bytes = Buffer.concat([this.held ?? EMPTY, bytes]);
      this.held = undefined;
      if (bytes.length < 2) {
        this.held = bytes.length === 0 ? undefined : bytes;
        return;
      }
    }
    if (this.held !== undefined) this.forward(this.held);
    this.held = Buffer.from(bytes.subarray(bytes.length - 2));
    if (bytes.length > 2) this.forward(bytes.subarray(0, bytes.length - 2));
  }

  private forward(bytes: Buffer): void {
    if (!this.push(bytes) && this.pgDataHandler !== undefined) this.connection?.stream.pause();
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
