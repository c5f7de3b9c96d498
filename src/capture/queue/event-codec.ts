// The payload of a queue record: one change event, and its encoder. Two encodings, chosen by the
// segment's format version (segment-format.ts): version 2, binary (written now; decoded by
// event-decoder.ts), and version 1, a JSON array (still read, event-codec-v1.ts, so a queue written by
// an earlier godwit can be applied to its end).
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
import { UNCHANGED, type ChangeInput, type ColumnValue, type TableName } from '../../core/change-event.js';
import { BYTE_BY_OP, FLAG_COMMIT_TIME, FLAG_NEW_VALUES, FLAG_OLD_KEY, KIND_ASCII_LONG, KIND_ASCII_SHORT, KIND_NULL, KIND_UNCHANGED, KIND_UTF8_LONG, KIND_UTF8_SHORT, SHORT_MAX, type FastBuffer } from './payload-codes.js';
import { isRowChange, writeRowValues, type RowChange } from './row-encoding.js';

/** The encoded names of one table shape, kept per shared table object (the WeakMap's key) and name arrays. */
interface EncodedShape {
  keyColumns: readonly string[];
  columns: readonly string[];
  bytes: Buffer;
}

/** Shapes compared by identity before the per-table cache. */
const RECENT_SHAPES = 8;

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
  /**
   * The shapes used last with their table, most recent first (shape()). Kept apart from `shapes`: a
   * WeakMap value that refers to its own key kept young keys alive through scavenges (a queue test of
   * a million events with a table object each grew RSS by 250 MB instead of 100).
   */
  private readonly recentShapes: { table: TableName; shape: EncodedShape }[] = [];
  /** The transaction fields of the last event, encoded (transactionFields). */
  private readonly txBytes = Buffer.alloc(1 + 255 + 16);
  private txLength = 0;
  /** The first txLength bytes of txBytes (a view made once per transaction, copied into each event). */
  private txView: Buffer = this.txBytes.subarray(0, 0);
  private txLsn: string | undefined;
  private txXid = 0;
  private txCommitTimeMs: number | null = null;

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
    this.transactionFields(change);
    if (row !== undefined) {
      if (row.newRow !== null) this.rowValues(row.newRow, null);
      if (row.oldRow !== null) this.rowValues(row.oldRow, row.keyIndexes);
      return;
    }
    const { newValues, oldKey } = change as ChangeInput;
    if (newValues !== null) this.values(newValues);
    if (oldKey !== null) this.values(oldKey);
  }

  /**
   * Writes the commit LSN, xid and commit time. They are the transaction's, the same for each of its
   * events: encoded once per transaction and copied (the bytes are those encoded for the event).
   */
  private transactionFields(change: ChangeInput | RowChange): void {
    const lsn = change.commitLsn;
    if (lsn !== this.txLsn || change.xid !== this.txXid || change.commitTimeMs !== this.txCommitTimeMs) {
      if (lsn.length > 255) throw new Error('the commit LSN is longer than 255 characters');
      const bytes = this.txBytes;
      let at = 1;
      for (let i = 0; i < lsn.length; i++) {
        const code = lsn.charCodeAt(i);
        if (code >= 0x80) throw new Error('the commit LSN is not ASCII');
        bytes[at++] = code;
      }
      bytes[0] = lsn.length;
      bytes.writeDoubleLE(change.xid, at);
      at += 8;
      if (change.commitTimeMs !== null) {
        bytes.writeDoubleLE(change.commitTimeMs, at);
        at += 8;
      }
      this.txLength = at;
      this.txView = bytes.subarray(0, at);
      this.txLsn = lsn;
      this.txXid = change.xid;
      this.txCommitTimeMs = change.commitTimeMs;
    }
    const length = this.txLength;
    this.ensure(length);
    this.buffer.set(this.txView, this.offset);
    this.offset += length;
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
    // The shapes used last, compared by identity: a capture's events take turns among a few tables.
    const recent = this.recentShapes;
    let cached: EncodedShape | undefined;
    for (let i = 0; i < recent.length; i++) {
      const entry = recent[i] as { table: TableName; shape: EncodedShape };
      if (entry.table === change.table && entry.shape.keyColumns === change.keyColumns && entry.shape.columns === change.columns) {
        cached = entry.shape;
        break;
      }
    }
    cached ??= this.knownShape(change);
    const bytes = cached.bytes;
    const length = bytes.length;
    this.ensure(length);
    // A typed-array copy inside V8: no call into C++, no loop in JavaScript.
    this.buffer.set(bytes, this.offset);
    this.offset += length;
    this.buffer[this.start + 2] = length & 0xff;
    this.buffer[this.start + 3] = length >>> 8;
  }

  /** The encoded shape of `change` from the per-table cache, encoded the first time; it becomes the most recent shape. */
  private knownShape(change: ChangeInput | RowChange): EncodedShape {
    let known = this.shapes.get(change.table);
    let found = known?.find((entry) => entry.keyColumns === change.keyColumns && entry.columns === change.columns);
    if (found === undefined) {
      // Encoded in place (room permitting), kept, and copied over the same bytes by shape().
      const start = this.offset;
      this.name(change.table.schema);
      this.name(change.table.name);
      this.names(change.keyColumns);
      this.names(change.columns);
      const shapeLength = this.offset - start;
      if (shapeLength > 0xffff) throw new Error(`the table and column names of ${change.table.schema}.${change.table.name} take ${shapeLength} bytes, more than a record holds`);
      found = { keyColumns: change.keyColumns, columns: change.columns, bytes: Buffer.from(this.buffer.subarray(start, this.offset)) };
      this.offset = start;
      if (known === undefined) this.shapes.set(change.table, (known = []));
      if (known.length >= 8) known.shift();
      known.push(found);
    }
    if (this.recentShapes.length >= RECENT_SHAPES) this.recentShapes.pop();
    this.recentShapes.unshift({ table: change.table, shape: found });
    return found;
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
