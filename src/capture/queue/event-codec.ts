// The payload of a queue record: one change event. Two encodings, chosen by the segment's format version
// (segment-format.ts): version 2, binary (written now), and version 1, a JSON array (still read, so a
// queue written by an earlier godwit can be applied to its end).
//
// Version 2, all integers little-endian:
//
//   op u8 (I U D T M) | flags u8 (1: commit time, 2: new values, 4: old key)
//   shape length u16 | shape: schema, table, u16 key column count + names, u16 column count + names
//   commit LSN (u8 length + ASCII) | xid f64 | [commit time ms f64]
//   [new values: u16 count + values] | [old key: u16 count + values]
//
// A name is u16 length + UTF-8. A value starts with a kind byte: 0 NULL, 1 UNCHANGED (not carried),
// 2 UTF-8 text and 3 ASCII text with a u32 length, 4-129 ASCII text of 0-125 bytes, 130-255 UTF-8 text
// of 0-125 bytes (the length is in the kind byte: most values cost one byte more than their text).
//
// Why binary: JSON.stringify/parse made the exporter and the importer spend a quarter of their time on
// the payload (BENCH_CPU_PROFILE_DIR changes bench). The decoder keeps the shape of the tables it met
// (the same bytes give the same TableName and name arrays, shared by every event of that shape) and the
// commit LSN of the last event, so an event costs little more than its values' strings.

import type { TupleBytes } from '../capture-stream.js';
import { UNCHANGED, type ChangeEvent, type ChangeInput, type ChangeOp, type ColumnValue, type QueueStream, type TableName } from '../../core/change-event.js';
import { KIND_ASCII_LONG, KIND_ASCII_SHORT, KIND_NULL, KIND_UNCHANGED, KIND_UTF8_LONG, KIND_UTF8_SHORT, SHORT_MAX, isRowChange, writeRowValues, type RowChange } from './row-encoding.js';
import { copyBytes } from './segment-format.js';

const OP_CODES = new Map<string, string>([
  ['insert', 'I'],
  ['update', 'U'],
  ['delete', 'D'],
  ['truncate', 'T'],
  ['marker', 'M'],
] satisfies [ChangeOp, string][]);
const OPS_BY_CODE = new Map<unknown, ChangeOp>([...OP_CODES].map(([op, code]) => [code, op as ChangeOp]));
const OPS_BY_BYTE: (ChangeOp | undefined)[] = new Array<ChangeOp | undefined>(256).fill(undefined);
const BYTE_BY_OP = new Map<string, number>();
for (const [op, code] of OP_CODES) {
  OPS_BY_BYTE[code.charCodeAt(0)] = op as ChangeOp;
  BYTE_BY_OP.set(op, code.charCodeAt(0));
}

const FLAG_COMMIT_TIME = 1;
const FLAG_NEW_VALUES = 2;
const FLAG_OLD_KEY = 4;


/** Fast paths of Buffer (present in every Node version godwit supports; `write` with its argument checks is the fallback). */
interface FastBuffer extends Buffer {
  utf8Write?(text: string, offset: number, length: number): number;
  latin1Slice?(start: number, end: number): string;
  utf8Slice?(start: number, end: number): string;
}

/** The encoded names of one table shape, kept per shared table object (the WeakMap's key) and name arrays. */
interface EncodedShape {
  keyColumns: readonly string[];
  columns: readonly string[];
  bytes: Buffer;
}

/** Thrown by ensure() when an event does not fit the caller's buffer (encodeInto); never leaves the encoder. */
const NO_ROOM = new Error('the event does not fit');

/**
 * Encodes events (version 2 payloads): into the caller's buffer where they fit (encodeInto, so the
 * queue writer needs no copy), else into one reused buffer of its own that grows (encode).
 */
export class ChangeEncoder {
  private own: FastBuffer = Buffer.allocUnsafe(64 * 1024);
  private buffer: FastBuffer = this.own;
  /** Where the event being encoded starts in `buffer`, where the next byte goes, and where the caller's room ends. */
  private start = 0;
  private offset = 0;
  private limit = Number.POSITIVE_INFINITY;
  private readonly shapes = new WeakMap<TableName, EncodedShape[]>();

  /** The buffer the last encode wrote into, from byte 0. */
  get bytes(): Buffer {
    return this.own;
  }

  /** Encodes `change` at the start of {@link bytes}; returns its length in bytes. */
  encode(change: ChangeInput | RowChange): number {
    this.buffer = this.own;
    this.start = 0;
    this.limit = Number.POSITIVE_INFINITY;
    this.write(change);
    return this.offset;
  }

  /**
   * Encodes `change` into `target` from `at`, using no byte at or past `limit`; returns its length in
   * bytes, or -1 when it does not fit (bytes from `at` on may have been overwritten then).
   */
  encodeInto(change: ChangeInput | RowChange, target: Buffer, at: number, limit: number): number {
    this.buffer = target;
    this.start = at;
    this.limit = Math.min(limit, target.length);
    try {
      this.write(change);
      return this.offset - at;
    } catch (error) {
      if (error === NO_ROOM) return -1;
      throw error;
    } finally {
      this.buffer = this.own;
      this.limit = Number.POSITIVE_INFINITY;
    }
  }

  private write(change: ChangeInput | RowChange): void {
    const op = BYTE_BY_OP.get(change.op);
    if (op === undefined) throw new Error(`unknown change operation ${JSON.stringify(change.op)}`);
    const row = isRowChange(change) ? change : undefined;
    const hasNew = row !== undefined ? row.newRow !== null : (change as ChangeInput).newValues !== null;
    const hasOld = row !== undefined ? row.oldRow !== null : (change as ChangeInput).oldKey !== null;
    const start = this.start;
    this.offset = start;
    this.ensure(8);
    const buffer = this.buffer;
    buffer[start] = op;
    buffer[start + 1] = (change.commitTimeMs === null ? 0 : FLAG_COMMIT_TIME) | (hasNew ? FLAG_NEW_VALUES : 0) | (hasOld ? FLAG_OLD_KEY : 0);
    this.offset = start + 4;
    this.shape(change);
    const lsn = change.commitLsn;
    if (lsn.length > 255) throw new Error('the commit LSN is longer than 255 characters');
    this.ensure(lsn.length * 3 + 1 + 16);
    const lsnBytes = this.writeText(lsn, this.offset + 1);
    if (lsnBytes !== lsn.length) throw new Error('the commit LSN is not ASCII');
    this.buffer[this.offset] = lsnBytes;
    this.offset += 1 + lsnBytes;
    this.buffer.writeDoubleLE(change.xid, this.offset);
    this.offset += 8;
    if (change.commitTimeMs !== null) {
      this.buffer.writeDoubleLE(change.commitTimeMs, this.offset);
      this.offset += 8;
    }
    if (row !== undefined) {
      if (row.newRow !== null) this.rowValues(row.newRow, null);
      if (row.oldRow !== null) this.rowValues(row.oldRow, row.keyIndexes);
      return;
    }
    const { newValues, oldKey } = change as ChangeInput;
    if (newValues !== null) this.values(newValues);
    if (oldKey !== null) this.values(oldKey);
  }

  /** The values of a row still in the stream's bytes (all columns, or those at `pick`): never longer encoded than there. */
  private rowValues(row: TupleBytes, pick: readonly number[] | null): void {
    this.ensure(row.end - row.start + 2);
    const end = writeRowValues(this.buffer, this.offset, Math.min(this.limit, this.buffer.length), row, pick);
    if (end < 0) throw new Error('a row took more room encoded than the stream sent');
    this.offset = end;
  }

  /**
   * Writes the shape (names) at the current offset. The capture shares one table object and one name
   * array per relation among its events, so the encoded bytes are kept per such object and copied;
   * the arrays must not change once encoded.
   */
  private shape(change: ChangeInput | RowChange): void {
    let known = this.shapes.get(change.table);
    let cached: EncodedShape | undefined;
    for (const entry of known ?? []) {
      if (entry.keyColumns === change.keyColumns && entry.columns === change.columns) {
        cached = entry;
        break;
      }
    }
    if (cached !== undefined) {
      this.ensure(cached.bytes.length);
      copyBytes(cached.bytes, 0, cached.bytes.length, this.buffer, this.offset);
      this.offset += cached.bytes.length;
      this.buffer.writeUInt16LE(cached.bytes.length, this.start + 2);
      return;
    }
    const start = this.offset;
    this.name(change.table.schema);
    this.name(change.table.name);
    this.names(change.keyColumns);
    this.names(change.columns);
    const shapeLength = this.offset - start;
    if (shapeLength > 0xffff) throw new Error(`the table and column names of ${change.table.schema}.${change.table.name} take ${shapeLength} bytes, more than a record holds`);
    this.buffer.writeUInt16LE(shapeLength, this.start + 2);
    if (known === undefined) this.shapes.set(change.table, (known = []));
    if (known.length >= 8) known.shift();
    known.push({ keyColumns: change.keyColumns, columns: change.columns, bytes: Buffer.from(this.buffer.subarray(start, this.offset)) });
  }

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length && this.offset + bytes <= this.limit) return;
    if (this.buffer !== this.own) throw NO_ROOM;
    const grown: FastBuffer = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes + 1024));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
    this.own = grown;
  }

  /** Writes `text` as UTF-8 at `at` (the caller ensured room for 3 bytes per character); returns the byte count. */
  private writeText(text: string, at: number): number {
    const buffer = this.buffer;
    const length = text.length;
    // Short ASCII text (most values) is copied faster by this loop than by a call into C++.
    if (length <= 32) {
      let i = 0;
      for (; i < length; i++) {
        const code = text.charCodeAt(i);
        if (code >= 0x80) break;
        buffer[at + i] = code;
      }
      if (i === length) return length;
    }
    return buffer.utf8Write !== undefined ? buffer.utf8Write(text, at, buffer.length - at) : buffer.write(text, at, 'utf8');
  }

  private name(text: string): void {
    this.ensure(text.length * 3 + 2);
    const bytes = this.writeText(text, this.offset + 2);
    if (bytes > 0xffff) throw new Error('a name is longer than 65535 bytes');
    this.buffer.writeUInt16LE(bytes, this.offset);
    this.offset += 2 + bytes;
  }

  private names(list: readonly string[]): void {
    this.ensure(2);
    this.buffer.writeUInt16LE(list.length, this.offset);
    this.offset += 2;
    for (const text of list) this.name(text);
  }

  private values(values: readonly ColumnValue[]): void {
    this.ensure(2);
    if (values.length > 0xffff) throw new Error('a row has more than 65535 values');
    this.buffer.writeUInt16LE(values.length, this.offset);
    this.offset += 2;
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      if (value === null) {
        this.ensure(1);
        this.buffer[this.offset++] = KIND_NULL;
      } else if (value === UNCHANGED) {
        this.ensure(1);
        this.buffer[this.offset++] = KIND_UNCHANGED;
      } else if (typeof value === 'string') {
        this.text(value);
      } else {
        throw new Error(`a column value of type ${typeof value}`);
      }
    }
  }

  private text(value: string): void {
    const length = value.length;
    this.ensure(length * 3 + 5);
    if (length <= SHORT_MAX) {
      const bytes = this.writeText(value, this.offset + 1);
      if (bytes <= SHORT_MAX) {
        this.buffer[this.offset] = (bytes === length ? KIND_ASCII_SHORT : KIND_UTF8_SHORT) + bytes;
        this.offset += 1 + bytes;
        return;
      }
      // Longer once encoded: move it behind a long header.
      this.buffer.copyWithin(this.offset + 5, this.offset + 1, this.offset + 1 + bytes);
      this.longHeader(bytes, bytes === length);
      return;
    }
    const bytes = this.writeText(value, this.offset + 5);
    this.longHeader(bytes, bytes === length);
  }

  private longHeader(bytes: number, ascii: boolean): void {
    this.buffer[this.offset] = ascii ? KIND_ASCII_LONG : KIND_UTF8_LONG;
    this.buffer.writeUInt32LE(bytes, this.offset + 1);
    this.offset += 5 + bytes;
  }
}

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
  private lastLsnBytes: Buffer = Buffer.alloc(0);
  private lastLsn = '';

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
    const lsnLength = reader.u8();
    const lsnStart = reader.at;
    reader.skip(lsnLength);
    const commitLsn = this.lsn(source, lsnStart, lsnStart + lsnLength);
    const xid = reader.f64();
    const commitTimeMs = (flags & FLAG_COMMIT_TIME) !== 0 ? reader.f64() : null;
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

  private lsn(source: Buffer, start: number, end: number): string {
    if (sameBytes(this.lastLsnBytes, source, start, end)) return this.lastLsn;
    this.lastLsnBytes = Buffer.from(source.subarray(start, end));
    this.lastLsn = source.toString('latin1', start, end);
    return this.lastLsn;
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

  f64(): number {
    this.need(8);
    const value = this.source.readDoubleLE(this.at);
    this.at += 8;
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

// ------------------------------------------------------------------------------------------ version 1

/** How UNCHANGED travels in the version-1 JSON payload. */
const UNCHANGED_CODE = 0;

/**
 * The version-1 (JSON) payload text of `change`: `[commitLsn, xid, commitTimeMs, schema, table, op,
 * keyColumns, columns, newValues, oldKey]`, UNCHANGED as the number 0. Kept for tests of old queues.
 */
export function encodeChangeV1(change: ChangeInput): string {
  const op = OP_CODES.get(change.op);
  if (op === undefined) throw new Error(`unknown change operation ${JSON.stringify(change.op)}`);
  return JSON.stringify([
    change.commitLsn,
    change.xid,
    change.commitTimeMs,
    change.table.schema,
    change.table.name,
    op,
    change.keyColumns,
    change.columns,
    encodeValuesV1(change.newValues),
    encodeValuesV1(change.oldKey),
  ]);
}

function encodeValuesV1(values: readonly ColumnValue[] | null): readonly (string | null | number)[] | null {
  if (values === null) return null;
  if (!values.includes(UNCHANGED)) return values as readonly (string | null)[];
  return values.map((value) => (value === UNCHANGED ? UNCHANGED_CODE : value));
}

/** The event a version-1 payload holds, numbered `vsn` in `stream`; throws a plain Error when it is not one. */
export function decodeChangeV1(payload: string, vsn: number, stream: QueueStream): ChangeEvent {
  const parsed: unknown = JSON.parse(payload);
  if (!Array.isArray(parsed) || parsed.length !== 10) throw new Error('the payload is not a 10-element array');
  const [commitLsn, xid, commitTimeMs, schema, name, opCode, keyColumns, columns, newValues, oldKey] = parsed as unknown[];
  const op = OPS_BY_CODE.get(opCode);
  if (op === undefined) throw new Error(`unknown operation code ${JSON.stringify(opCode)}`);
  if (typeof commitLsn !== 'string' || typeof xid !== 'number' || typeof schema !== 'string' || typeof name !== 'string') {
    throw new Error('the commit LSN, transaction id or table name has the wrong type');
  }
  if (commitTimeMs !== null && typeof commitTimeMs !== 'number') throw new Error('the commit time has the wrong type');
  return {
    vsn,
    stream,
    commitLsn,
    xid,
    commitTimeMs,
    table: { schema, name },
    op,
    keyColumns: decodeNames(keyColumns, 'key columns'),
    columns: decodeNames(columns, 'columns'),
    newValues: decodeValuesV1(newValues, 'new values'),
    oldKey: decodeValuesV1(oldKey, 'old key'),
  };
}

function decodeNames(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new Error(`the ${what} are not an array`);
  for (const name of value) if (typeof name !== 'string') throw new Error(`the ${what} hold a non-string`);
  return value as string[];
}

/** Turns the JSON values back into column values in place (the array is fresh from JSON.parse). */
function decodeValuesV1(value: unknown, what: string): ColumnValue[] | null {
  if (value === null) return null;
  if (!Array.isArray(value)) throw new Error(`the ${what} are not an array`);
  const values = value as unknown[];
  for (let i = 0; i < values.length; i += 1) {
    const item = values[i];
    if (typeof item === 'string' || item === null) continue;
    if (item === UNCHANGED_CODE) values[i] = UNCHANGED;
    else throw new Error(`the ${what} hold ${JSON.stringify(item)}, which is no column value`);
  }
  return values as ColumnValue[];
}
