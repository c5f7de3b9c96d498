// The fast way into the value encoding of queue payloads (event-codec.ts, version 2): a row
// change whose values are still the replication stream's bytes (RowChange) has them copied from the
// pgoutput row image into queue values byte for byte, without a JavaScript string per value. The
// bytes written are the same as for the same values given as strings.
//
// A value starts with a kind byte: 0 NULL, 1 UNCHANGED (not carried), 2 UTF-8 text and 3 ASCII text
// with a u32 length, 4-129 ASCII text of 0-125 bytes, 130-255 UTF-8 text of 0-125 bytes.

import { isAscii } from 'node:buffer';
import type { ChangeOp, TableName } from '../../core/change-event.js';
import type { TupleBytes } from '../capture-stream.js';
import { KIND_ASCII_LONG, KIND_ASCII_SHORT, KIND_NULL, KIND_UNCHANGED, KIND_UTF8_LONG, KIND_UTF8_SHORT, SHORT_MAX } from './payload-codes.js';

const PG_NULL = 0x6e; // 'n'
const PG_UNCHANGED = 0x75; // 'u'
const PG_TEXT = 0x74; // 't'

/**
 * A row change as capture hands it to the queue when the stream located its rows: the fields of a
 * ChangeInput, with the new row and the old image as the stream's bytes. The queue writes the same
 * event as for the ChangeInput with those values; `keyIndexes` picks the old key out of the old image.
 */
export interface RowChange {
  commitLsn: string;
  xid: number;
  commitTimeMs: number | null;
  table: TableName;
  op: Extract<ChangeOp, 'insert' | 'update' | 'delete'>;
  keyColumns: readonly string[];
  /** The new row's column names (empty for a delete). */
  columns: readonly string[];
  /** Text values only (capture refused binary ones). */
  newRow: TupleBytes | null;
  oldRow: TupleBytes | null;
  /** The key columns' positions in the relation, ascending (the order of `keyColumns`). */
  keyIndexes: readonly number[];
}

/** True for a RowChange, false for a ChangeInput (the queue writer takes both). */
export function isRowChange(change: object): change is RowChange {
  return (change as Partial<RowChange>).keyIndexes !== undefined;
}

/**
 * Writes the values of `row` (every column, or those at `pick`) at `at` of `target` as a u16 count
 * and one encoded value each, using no byte at or past `limit`; returns the offset after them, or -1
 * when they do not fit. The row was checked by the stream (kinds and lengths); a binary value throws.
 */
export function writeRowValues(target: Buffer, at: number, limit: number, row: TupleBytes, pick: readonly number[] | null): number {
  const source = row.source;
  let from = row.start;
  const columns = (((source[from] as number) << 8) | (source[from + 1] as number)) & 0xffff;
  from += 2;
  const count = pick === null ? columns : pick.length;
  if (at + 2 > limit) return -1;
  target[at] = count & 0xff;
  target[at + 1] = count >>> 8;
  let out = at + 2;
  let next = 0;
  for (let i = 0; i < columns; i++) {
    const kind = source[from] as number;
    if (kind === PG_NULL || kind === PG_UNCHANGED) {
      if (pick === null || pick[next] === i) {
        next += 1;
        if (out >= limit) return -1;
        target[out++] = kind === PG_NULL ? KIND_NULL : KIND_UNCHANGED;
      }
      from += 1;
      continue;
    }
    if (kind !== PG_TEXT) throw new Error(`a column value of kind "${String.fromCharCode(kind)}" (only text values are queued)`);
    const length = source.readInt32BE(from + 1);
    const valueStart = from + 5;
    from = valueStart + length;
    if (pick !== null && pick[next] !== i) continue;
    next += 1;
    if (length <= SHORT_MAX) {
      if (out + 1 + length > limit) return -1;
      // Copying and looking for non-ASCII bytes in one loop beats a call into C++ for short values.
      let high = 0;
      for (let j = 0; j < length; j++) {
        const byte = source[valueStart + j] as number;
        high |= byte;
        target[out + 1 + j] = byte;
      }
      target[out] = (high < 0x80 ? KIND_ASCII_SHORT : KIND_UTF8_SHORT) + length;
      out += 1 + length;
    } else {
      if (out + 5 + length > limit) return -1;
      source.copy(target, out + 5, valueStart, valueStart + length);
      target[out] = isAscii(source.subarray(valueStart, valueStart + length)) ? KIND_ASCII_LONG : KIND_UTF8_LONG;
      target.writeUInt32LE(length, out + 1);
      out += 5 + length;
    }
  }
  if (pick !== null && next !== pick.length) throw new Error(`the key columns ${pick.join(', ')} are not all in a row of ${columns} columns`);
  return out;
}
