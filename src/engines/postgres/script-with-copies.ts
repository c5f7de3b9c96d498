// A multi-statement SQL text whose COPY ... FROM STDIN statements take their rows from the same write:
// the Query message, then each COPY's CopyData and CopyDone, in order, all sent at once. The server
// runs the text's statements one after the other and reads each COPY's data from the connection when
// it reaches that COPY, so a whole apply transaction (BEGIN, bookkeeping, UPDATEs, COPY of the
// inserted rows, COMMIT) costs one round trip instead of one per COPY and one around each.
//
// Why it is safe whatever fails: an error ends the text there (the server skips the statements after
// it) and the server then ignores CopyData and CopyDone messages that arrive outside a COPY ("accept
// but ignore", PostgreSQL's protocol: a frontend may still be sending data of a COPY that failed), so
// the data sent for a COPY that never started, or that failed half way, is dropped, and the next
// message the server acts on is the caller's next query (its ROLLBACK). A transaction that began in
// the text is left aborted, as with any failed multi-statement text.
//
// node-postgres drives it as a submittable (like copy-in-source.ts): submit() writes everything,
// handleCopyInResponse() has nothing left to send, handleReadyForQuery() ends it well, handleError()
// ends it with the server's error (node-postgres passes no ReadyForQuery on after an error).

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const QUERY = 0x51; // 'Q'

/** The part of node-postgres' connection this uses. */
interface PgConnection {
  stream: { write(data: Buffer): boolean; cork(): void; uncork(): void };
}

/** One text with its COPY data; pass it to client.query() and await `done`. */
export class ScriptWithCopies {
  /** Resolves when the server ran the whole text (ReadyForQuery); rejects with the first error. */
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (error: Error) => void;
  private settled = false;

  constructor(
    private readonly text: string,
    private readonly copyData: readonly Buffer[],
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** node-postgres: send the text and every COPY's data in one go. */
  submit(connection: PgConnection): void {
    const stream = connection.stream;
    stream.cork();
    try {
      const textBytes = Buffer.byteLength(this.text, 'utf8');
      const query = Buffer.allocUnsafe(5 + textBytes + 1);
      query[0] = QUERY;
      query.writeUInt32BE(4 + textBytes + 1, 1);
      query.write(this.text, 5, 'utf8');
      query[5 + textBytes] = 0;
      stream.write(query);
      for (const data of this.copyData) {
        const header = Buffer.allocUnsafe(5);
        header[0] = COPY_DATA;
        header.writeUInt32BE(4 + data.length, 1);
        stream.write(header);
        if (data.length > 0) stream.write(data);
        const done = Buffer.allocUnsafe(5);
        done[0] = COPY_DONE;
        done.writeUInt32BE(4, 1);
        stream.write(done);
      }
    } finally {
      stream.uncork();
    }
  }

  /** node-postgres: a COPY of the text waits for data, which is on its way already. */
  handleCopyInResponse(): void {}

  /** node-postgres: results of the text's statements; nothing here asks for them. */
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}

  /** node-postgres: the text is over and the connection is free again. */
  handleReadyForQuery(): void {
    this.finish(undefined);
  }

  /** node-postgres: the server refused (or the connection broke). */
  handleError(error: Error): void {
    this.finish(error);
  }

  private finish(error: Error | undefined): void {
    if (this.settled) return;
    this.settled = true;
    if (error === undefined) this.resolve();
    else this.reject(error);
  }
}
