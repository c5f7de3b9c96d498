// The fast way into the queue: a row change whose values are still pgoutput bytes (RowChange) is
// encoded to exactly the bytes of the same change given as strings (ChangeInput), for every kind and
// length of value, with the old key picked out of a key image or a whole old row, and decodes back to
// those values. Binary values are refused.
import { describe, expect, it } from 'vitest';
import type { TupleBytes } from '../../src/capture/capture-stream.js';
import { ChangeEncoder } from '../../src/capture/queue/event-codec.js';
import { ChangeDecoder } from '../../src/capture/queue/event-decoder.js';
import { writeRowValues, type RowChange } from '../../src/capture/queue/row-encoding.js';
import { UNCHANGED, type ChangeInput, type ColumnValue } from '../../src/core/change-event.js';

/** A pgoutput TupleData of `values`, in the middle of a bigger buffer as the stream hands it over. */
function tupleBytes(values: readonly ColumnValue[], binaryAt = -1): TupleBytes {
  const parts: Buffer[] = [Buffer.from([0xee, 0xee, 0xee])];
  const count = Buffer.alloc(2);
  count.writeInt16BE(values.length);
  parts.push(count);
  values.forEach((value, i) => {
    if (value === null) parts.push(Buffer.from('n'));
    else if (value === UNCHANGED) parts.push(Buffer.from('u'));
    else {
      const bytes = Buffer.from(value, 'utf8');
      const header = Buffer.alloc(5);
      header.write(i === binaryAt ? 'b' : 't', 0, 'latin1');
      header.writeInt32BE(bytes.length, 1);
      parts.push(header, bytes);
    }
  });
  const start = 3;
  const body = Buffer.concat(parts);
  return { source: Buffer.concat([body, Buffer.from([0xdd, 0xdd])]), start, end: body.length, binary: binaryAt >= 0 };
}

const base = { commitLsn: '2/A0B1C2D3', xid: 77, commitTimeMs: 1_735_689_600_123, table: { schema: 'app', name: 'Tëst' } };
const texts: ColumnValue[] = ['', 'x', 'a'.repeat(125), 'a'.repeat(126), 'é'.repeat(62), 'é'.repeat(63), '✈ ok', 'z'.repeat(70_000), 'ü'.repeat(40_000), null, UNCHANGED, '\\N\t\n'];
const columns = texts.map((_, i) => `c${i}`);

function encoded(change: ChangeInput | RowChange): Buffer {
  const encoder = new ChangeEncoder();
  const length = encoder.encode(change);
  return Buffer.from(encoder.bytes.subarray(0, length));
}

function encodedInto(change: ChangeInput | RowChange, room: number): Buffer | undefined {
  const target = Buffer.alloc(room + 10, 0xcc);
  const length = new ChangeEncoder().encodeInto(change, target, 10, 10 + room);
  return length < 0 ? undefined : target.subarray(10, 10 + length);
}

describe('row changes with values as pgoutput bytes', () => {
  it('encode to the bytes of the same change with string values, and decode to those values', () => {
    const keyIndexes = [0, 4, 9];
    const keyColumns = keyIndexes.map((i) => columns[i] as string);
    const cases: [ChangeInput, RowChange][] = [
      [
        { ...base, op: 'insert', keyColumns, columns, newValues: texts, oldKey: null },
        { ...base, op: 'insert', keyColumns, columns, newRow: tupleBytes(texts), oldRow: null, keyIndexes },
      ],
      [
        // A key image: only the key columns are set.
        { ...base, op: 'update', keyColumns, columns, newValues: texts, oldKey: keyIndexes.map((i) => texts[i] ?? null) },
        { ...base, op: 'update', keyColumns, columns, newRow: tupleBytes(texts), oldRow: tupleBytes(texts.map((v, i) => (keyIndexes.includes(i) ? v : null))), keyIndexes },
      ],
      [
        // A whole old row (REPLICA IDENTITY FULL: every column is a key column).
        { ...base, commitTimeMs: null, op: 'delete', keyColumns: columns, columns: [], newValues: null, oldKey: texts },
        { ...base, commitTimeMs: null, op: 'delete', keyColumns: columns, columns: [], newRow: null, oldRow: tupleBytes(texts), keyIndexes: texts.map((_, i) => i) },
      ],
    ];
    for (const [input, row] of cases) {
      const bytes = encoded(input);
      expect(encoded(row).equals(bytes)).toBe(true);
      // Into the caller's buffer (the room it asks for may exceed the exact length a little).
      expect(encodedInto(row, 2 * bytes.length)?.equals(bytes)).toBe(true);
      // Short of room: it does not fit, and says so.
      expect(encodedInto(row, bytes.length - 1)).toBeUndefined();
      expect(new ChangeDecoder().decode(bytes, 0, bytes.length, 9, 'source-to-target')).toEqual({ ...input, vsn: 9, stream: 'source-to-target' });
    }
  });

  it('refuses a binary value, and a key column the row does not have', () => {
    expect(() => writeRowValues(Buffer.alloc(1000), 0, 1000, tupleBytes(['1', 'x'], 1), null)).toThrow(/kind "b"/);
    expect(() => writeRowValues(Buffer.alloc(1000), 0, 1000, tupleBytes(['1', 'x']), [5])).toThrow(/key columns 5/);
  });
});
