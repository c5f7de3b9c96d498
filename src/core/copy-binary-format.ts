// PostgreSQL's COPY binary format (also YugabyteDB's), as far as godwit handles it: the header and
// trailer that frame a COPY, and a scanner that finds where each tuple ends in a stream of bare
// tuples (int16 field count, then per field an int32 length, -1 for NULL, and that many bytes) read
// in arbitrary pieces. Snapshot files hold bare tuples; each batch is framed again when loaded.

/** The 11-byte signature, int32 flags (0) and int32 header extension length (0). */
export const BINARY_COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** A field count of -1 ends COPY binary data. */
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** Thrown for bytes that cannot be bare tuples; `offset` counts from the start of the scanned stream. */
export class MalformedTupleError extends Error {
  constructor(
    readonly offset: number,
    why: string,
  ) {
    super(`malformed COPY binary tuple at byte ${offset}: ${why}`);
  }
}

const COUNT = 0;
const LENGTH = 1;
const DATA = 2;

/** Finds tuple ends in a stream of bare COPY binary tuples fed in pieces. */
export class BinaryTupleScanner {
  private state = COUNT;
  private readonly pending = Buffer.alloc(4);
  private pendingFill = 0;
  private fieldsLeft = 0;
  private dataLeft = 0;
  /** Bytes scanned before the current piece. */
  private base = 0;

  /** True between tuples (a stream may end only there). */
  get atTupleBoundary(): boolean {
    return this.state === COUNT && this.pendingFill === 0;
  }

  /** Scans `piece`; calls `onTupleEnd(end)` with the index in `piece` just after every tuple that ends in it. */
  scan(piece: Buffer, onTupleEnd: (end: number) => void): void {
    const n = piece.length;
    let i = 0;
    while (i < n) {
      if (this.state === COUNT && this.pendingFill === 0) {
        const end = this.wholeTupleEnd(piece, i);
        if (end > 0) {
          i = end;
          onTupleEnd(i);
          continue;
        }
      }
      if (this.state === DATA) {
        const skip = Math.min(this.dataLeft, n - i);
        i += skip;
        this.dataLeft -= skip;
        if (this.dataLeft === 0 && this.fieldDone()) onTupleEnd(i);
        continue;
      }
      const size = this.state === COUNT ? 2 : 4;
      const take = Math.min(size - this.pendingFill, n - i);
      piece.copy(this.pending, this.pendingFill, i, i + take);
      this.pendingFill += take;
      i += take;
      if (this.pendingFill < size) break;
      this.pendingFill = 0;
      if (this.state === COUNT) {
        const fields = this.pending.readInt16BE(0);
        if (fields < 0) throw new MalformedTupleError(this.base + i - 2, `field count ${fields}`);
        if (fields === 0) onTupleEnd(i);
        else {
          this.fieldsLeft = fields;
          this.state = LENGTH;
        }
      } else {
        const length = this.pending.readInt32BE(0);
        if (length < -1) throw new MalformedTupleError(this.base + i - 4, `field length ${length}`);
        if (length > 0) {
          this.dataLeft = length;
          this.state = DATA;
        } else if (this.fieldDone()) onTupleEnd(i);
      }
    }
    this.base += n;
  }

  /** One field finished; true when it was the tuple's last. */
  private fieldDone(): boolean {
    this.fieldsLeft--;
    this.state = this.fieldsLeft === 0 ? COUNT : LENGTH;
    return this.fieldsLeft === 0;
  }

  /** The end of the tuple starting at `at` when it lies wholly inside `piece`, else -1 (the slow path takes over). */
  private wholeTupleEnd(piece: Buffer, at: number): number {
    const n = piece.length;
    if (at + 2 > n) return -1;
    const fields = piece.readInt16BE(at);
    if (fields < 0) throw new MalformedTupleError(this.base + at, `field count ${fields}`);
    let p = at + 2;
    for (let f = 0; f < fields; f++) {
      if (p + 4 > n) return -1;
      const length = piece.readInt32BE(p);
      if (length < -1) throw new MalformedTupleError(this.base + p, `field length ${length}`);
      p += 4;
      if (length > 0) {
        p += length;
        if (p > n) return -1;
      }
    }
    return p;
  }
}
