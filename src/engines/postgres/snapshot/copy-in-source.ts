// COPY ... FROM STDIN fed from a CopySource through a few reused buffers. Each buffer holds one
// CopyData message (its 5-byte header, then the bytes the source read into it) and goes to the socket
// in one write; it returns to the pool when the socket is done with it. Streaming fresh buffers
// through pg-copy-streams allocated 300 MB of short-lived buffers for pgbench scale 30, and V8 ran
// full garbage collections for that external memory (about a tenth of the importer's CPU); it also
// wrote each message header separately.
//
// node-postgres drives it as a submittable: submit() sends the query, handleCopyInResponse() starts
// the data, handleCommandComplete() / handleReadyForQuery() end it well, handleError() ends it with
// the server's error, or the connection's. A source that throws (a damaged file) sends CopyFail: the
// server rolls the COPY back and the source's error is the one reported.

import type { CopySource } from '../../loader-sessions.js';

const COPY_DATA = 0x64; // 'd'
const HEADER_BYTES = 5;
const PIECE_BYTES = 256 * 1024;
/** Buffers queued on the socket at most: bounds memory per COPY at about 1 MB. */
const MAX_IN_FLIGHT = 4;

/** The part of node-postgres' connection this uses. */
interface PgConnection {
  stream: { write(data: Buffer, callback: (error?: Error | null) => void): boolean };
  query(text: string): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
}

/** One COPY FROM STDIN; pass it to client.query() and await `done`. */
export class CopyInFromSource {
  /** Resolves when the server confirmed the COPY (ReadyForQuery); rejects with the first error. */
  readonly done: Promise<void>;
  rowCount = 0;
  private resolve!: () => void;
  private reject!: (error: Error) => void;
  private connection: PgConnection | undefined;
  private readonly pool: Buffer[] = [];
  private inFlight = 0;
  private ended = false;
  private sourceError: Error | undefined;
  private settled = false;

  constructor(
    private readonly text: string,
    private readonly source: CopySource,
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** node-postgres: send the statement. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  /** node-postgres: the server waits for data. */
  handleCopyInResponse(): void {
    this.pump();
  }

  /** node-postgres: `COPY n`. */
  handleCommandComplete(message: { text?: string } | undefined): void {
    const match = /^COPY (\d+)/.exec(message?.text ?? '');
    if (match !== null) this.rowCount = Number(match[1]);
  }

  /** node-postgres: the statement is over and the connection is free again. */
  handleReadyForQuery(): void {
    this.finish(this.sourceError);
  }

  /** node-postgres: the server refused (or the connection broke); ReadyForQuery is not passed on after this. */
  handleError(error: Error): void {
    this.finish(this.sourceError ?? error);
  }

  private pump(): void {
    const connection = this.connection;
    if (connection === undefined) return;
    while (!this.ended && this.inFlight < MAX_IN_FLIGHT) {
      const buffer = this.pool.pop() ?? Buffer.allocUnsafeSlow(HEADER_BYTES + Math.min(PIECE_BYTES, Math.max(1, this.source.size ?? PIECE_BYTES)));
      let length: number;
      try {
        length = this.source.readInto(buffer, HEADER_BYTES);
      } catch (error) {
        this.pool.push(buffer);
        this.ended = true;
        this.sourceError = error as Error;
        this.closeSource();
        connection.sendCopyFail(this.sourceError.message);
        return;
      }
      if (length === 0) {
        this.pool.push(buffer);
        this.ended = true;
        this.closeSource();
        connection.endCopyFrom();
        return;
      }
      buffer[0] = COPY_DATA;
      buffer.writeUInt32BE(length + 4, 1);
      this.inFlight++;
      connection.stream.write(buffer.subarray(0, HEADER_BYTES + length), (error) => {
        this.inFlight--;
        if (error === null || error === undefined) this.pool.push(buffer);
        if (!this.settled) this.pump();
      });
    }
  }

  private finish(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.ended = true;
    this.closeSource();
    this.connection = undefined;
    if (error === undefined) this.resolve();
    else this.reject(error);
  }

  private closeSource(): void {
    try {
      this.source.close();
    } catch {
      // Closing a read-only file cannot lose data; the COPY's own outcome is what matters.
    }
  }
}
