// Decodes version-2 queue payloads (the format is described in event-codec.ts) into change events,
// sharing the names of a table shape among its events and taking ASCII values as slices of one
// Latin-1 string per record.

import { UNCHANGED, type ChangeEvent, type ColumnValue, type QueueStream, type TableName } from '../../core/change-event.js';
import { FLAG_COMMIT_TIME, FLAG_NEW_VALUES, FLAG_OLD_KEY, KIND_ASCII_SHORT, KIND_NULL, KIND_UNCHANGED, KIND_UTF8_LONG, KIND_UTF8_SHORT, OPS_BY_BYTE, type FastBuffer } from './payload-codes.js';

/** What every event of one table shape shares. */
interface Shape {
  bytes: Buffer;
  table: TableName;
  keyColumns: readonly string[];
  columns: readonly string[];
}

/** Shapes kept per decoder; past this the cache starts over (bounded memory whatever the schema). */
const MAX_SHAPES = 256;

/** Decodes version 2 payloads; keeps the shapes it met so events share their names. */
export class ChangeDecoder {
  private readonly shapes = new Map<number, Shape[]>();
  /** The shapes met last, most recent first (a transaction's events usually take turns among a few tables). */
  private readonly recent: Shape[] = [];
  private readonly reader = new PayloadReader(Buffer.alloc(0), 0, 0);
  private shapeCount = 0;
  /**
   * The transaction fields of the last event (commit LSN, xid, commit time) as bytes (the first
   * lastTxLength of them, with or without a commit time) and as values: the events of a transaction
   * share them, so they are decoded once per transaction, without an allocation to tell.
   */
  private readonly lastTxBytes = Buffer.alloc(1 + 255 + 16);
  private lastTxLength = -1;
  private lastTxHasTime = false;
  private lastLsn = '';
  private lastXid = 0;
  private lastCommitTimeMs: number | null = null;

  /**
   * The event in `source` [start, end), numbered `vsn` in `stream`; throws a plain Error saying what is
   * wrong when the bytes are not a version-2 event (the reader turns it into a damaged-segment error).
   */
  decode(source: Buffer, start: number, end: number, vsn: number, stream: QueueStream): ChangeEvent {
    const reader = this.reader.reset(source, start, end);
    const op = OPS_BY_BYTE[reader.u8()];
    if (op === undefined) throw new Error(`unknown operation code ${source[start]}`);
    const flags = reader.u8();
    const shapeLength = reader.u16();
    const shapeStart = reader.at;
    reader.skip(shapeLength);
    const shape = this.shape(source, shapeStart, shapeStart + shapeLength);
    this.transactionFields(source, reader, (flags & FLAG_COMMIT_TIME) !== 0);
    const commitLsn = this.lastLsn;
    const xid = this.lastXid;
    const commitTimeMs = this.lastCommitTimeMs;
    // ASCII values are slices of one Latin-1 string of the record's values, made at the first of them
    // (one call into C++ per record, not per value; none for a record without ASCII values).
    reader.text = undefined;
    reader.textBase = reader.at;
    const newValues = (flags & FLAG_NEW_VALUES) !== 0 ? readValues(reader) : null;
    const oldKey = (flags & FLAG_OLD_KEY) !== 0 ? readValues(reader) : null;
    reader.text = undefined;
    if (reader.at !== end) throw new Error(`${end - reader.at} bytes follow the event`);
    return { vsn, stream, commitLsn, xid, commitTimeMs, table: shape.table, op, keyColumns: shape.keyColumns, columns: shape.columns, newValues, oldKey };
  }

  private shape(source: Buffer, start: number, end: number): Shape {
    // The shapes met last, compared byte by byte here: cheaper than hashing and a Buffer.compare call into C++.
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) {
      const candidate = recent[i] as Shape;
      if (sameBytes(candidate.bytes, source, start, end)) return candidate;
    }
    const found = this.knownShape(source, start, end);
    if (recent.length >= RECENT_SHAPES) recent.pop();
    recent.unshift(found);
    return found;
  }

  private knownShape(source: Buffer, start: number, end: number): Shape {
    let hash = end - start;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + (source[i] as number)) | 0;
    const candidates = this.shapes.get(hash);
    if (candidates !== undefined) {
      for (const candidate of candidates) if (source.compare(candidate.bytes, 0, candidate.bytes.length, start, end) === 0) return candidate;
    }
    const reader = new PayloadReader(source, start, end);
    const schema = reader.name();
    const name = reader.name();
    const keyColumns = reader.names();
    const columns = reader.names();
    if (reader.at !== end) throw new Error('the table shape has trailing bytes');
    const shape: Shape = { bytes: Buffer.from(source.subarray(start, end)), table: { schema, name }, keyColumns, columns };
    if (this.shapeCount >= MAX_SHAPES) {
      this.shapes.clear();
      this.recent.length = 0;
      this.shapeCount = 0;
    }
    const list = this.shapes.get(hash);
    if (list === undefined) this.shapes.set(hash, [shape]);
    else list.push(shape);
    this.shapeCount += 1;
    return shape;
  }

  /** Reads the transaction fields at the reader's position into lastLsn, lastXid and lastCommitTimeMs (the last event's when they are the same bytes). */
  private transactionFields(source: Buffer, reader: PayloadReader, hasTime: boolean): void {
    const start = reader.at;
    reader.skip(1);
    const lsnLength = source[start] as number;
    reader.skip(lsnLength + (hasTime ? 16 : 8));
    const length = reader.at - start;
    const known = this.lastTxBytes;
    if (length === this.lastTxLength && hasTime === this.lastTxHasTime) {
      let i = length - 1;
      while (i >= 0 && known[i] === source[start + i]) i--;
      if (i < 0) return;
    }
    for (let i = 0; i < length; i++) known[i] = source[start + i] as number;
    this.lastTxLength = length;
    this.lastTxHasTime = hasTime;
    this.lastLsn = latin1(source as FastBuffer, start + 1, start + 1 + lsnLength);
    this.lastXid = source.readDoubleLE(start + 1 + lsnLength);
    this.lastCommitTimeMs = hasTime ? source.readDoubleLE(start + 9 + lsnLength) : null;
  }
}

/** Shapes checked byte by byte before the hash lookup. */
const RECENT_SHAPES = 8;

/** True when `known` holds exactly the bytes `source` [start, end) (short runs: a JS loop beats a call into C++). */
function sameBytes(known: Buffer, source: Buffer, start: number, end: number): boolean {
  const length = known.length;
  if (length !== end - start) return false;
  for (let i = length - 1; i >= 0; i--) if (known[i] !== source[start + i]) return false;
  return true;
}

function readValues(reader: PayloadReader): ColumnValue[] {
  const count = reader.u16();
  const values = new Array<ColumnValue>(count);
  for (let i = 0; i < count; i++) values[i] = reader.value();
  return values;
}

/** Latin-1 text of source [start, end): ASCII bytes as they are, one character per byte. */
function latin1(source: FastBuffer, start: number, end: number): string {
  return source.latin1Slice !== undefined ? source.latin1Slice(start, end) : source.toString('latin1', start, end);
}

/** A bounds-checked cursor over one payload. */
class PayloadReader {
  /** The payload's bytes from textBase on as Latin-1 text, while its values are read (see ChangeDecoder.decode). */
  text: string | undefined;
  textBase = 0;

  constructor(
    private source: FastBuffer,
    public at: number,
    private end: number,
  ) {}

  /** Points the reader at another payload (one reader serves every event of a decoder). */
  reset(source: Buffer, start: number, end: number): this {
    this.source = source;
    this.at = start;
    this.end = end;
    return this;
  }

  private need(bytes: number): void {
    if (this.at + bytes > this.end) throw new Error(`the payload ends ${this.at + bytes - this.end} bytes too early`);
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.at += bytes;
  }

  u8(): number {
    this.need(1);
    return this.source[this.at++] as number;
  }

  u16(): number {
    this.need(2);
    const value = (this.source[this.at] as number) | ((this.source[this.at + 1] as number) << 8);
    this.at += 2;
    return value;
  }

  name(): string {
    const length = this.u16();
    return this.utf8(length);
  }

  names(): string[] {
    const count = this.u16();
    const names = new Array<string>(count);
    for (let i = 0; i < count; i++) names[i] = this.name();
    return names;
  }

  value(): ColumnValue {
    const kind = this.u8();
    if (kind >= KIND_UTF8_SHORT) return this.utf8(kind - KIND_UTF8_SHORT);
    if (kind >= KIND_ASCII_SHORT) return this.ascii(kind - KIND_ASCII_SHORT);
    switch (kind) {
      case KIND_NULL:
        return null;
      case KIND_UNCHANGED:
        return UNCHANGED;
      case KIND_UTF8_LONG:
        this.need(4);
        this.at += 4;
        return this.utf8(this.source.readUInt32LE(this.at - 4));
      default: // KIND_ASCII_LONG
        this.need(4);
        this.at += 4;
        return this.ascii(this.source.readUInt32LE(this.at - 4));
    }
  }

  private ascii(length: number): string {
    this.need(length);
    const start = this.at - this.textBase;
    this.at += length;
    this.text ??= latin1(this.source, this.textBase, this.end);
    return this.text.slice(start, start + length);
  }

  private utf8(length: number): string {
    this.need(length);
    const start = this.at;
    this.at += length;
    const source = this.source;
    return source.utf8Slice !== undefined ? source.utf8Slice(start, start + length) : source.toString('utf8', start, start + length);
  }
}
