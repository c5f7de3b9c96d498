// The payload of a queue record: one change event as a compact JSON array (format version 1).
//
//   [commitLsn, xid, commitTimeMs, schema, table, op, keyColumns, columns, newValues, oldKey]
//
// `op` is one letter (I U D T M). In the value arrays NULL is JSON null, a text value is a JSON
// string, and UNCHANGED (not carried) is the number 0, the only non-string, non-null value; so the two
// never mix up. The vsn lives in the record frame and the stream in the file name, not here. JSON is
// used because V8's JSON.stringify/parse are native and fast: with pgbench-like events this 2-core
// machine (busy) wrote 200,000-450,000 events per second (fewer with very frequent commits, whose
// fsyncs dominate) and read 250,000-300,000 (`npx vite-node test/queue/measure-speed.ts`), well above
// the tens of thousands the apply needs. A binary encoding can replace it behind SEGMENT_FORMAT_VERSION.

import { UNCHANGED, type ChangeEvent, type ChangeInput, type ChangeOp, type ColumnValue, type QueueStream } from '../../core/change-event.js';

const OP_CODES = new Map<string, string>([
  ['insert', 'I'],
  ['update', 'U'],
  ['delete', 'D'],
  ['truncate', 'T'],
  ['marker', 'M'],
] satisfies [ChangeOp, string][]);
const OPS_BY_CODE = new Map<unknown, ChangeOp>([...OP_CODES].map(([op, code]) => [code, op as ChangeOp]));

/** How UNCHANGED travels in the JSON payload. */
const UNCHANGED_CODE = 0;

/** The payload text of `change`; its UTF-8 bytes go into one record. */
export function encodeChange(change: ChangeInput): string {
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
    encodeValues(change.newValues),
    encodeValues(change.oldKey),
  ]);
}

/** JSON.stringify would turn the UNCHANGED symbol into null: replace it first (copying only when present). */
function encodeValues(values: readonly ColumnValue[] | null): readonly (string | null | number)[] | null {
  if (values === null) return null;
  if (!values.includes(UNCHANGED)) return values as readonly (string | null)[];
  return values.map((value) => (value === UNCHANGED ? UNCHANGED_CODE : value));
}

/**
 * The event a payload holds, numbered `vsn` in `stream`; throws a plain Error saying what is wrong
 * when the payload is not a version-1 event (the reader turns it into a damaged-segment error).
 */
export function decodeChange(payload: string, vsn: number, stream: QueueStream): ChangeEvent {
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
    newValues: decodeValues(newValues, 'new values'),
    oldKey: decodeValues(oldKey, 'old key'),
  };
}

function decodeNames(value: unknown, what: string): string[] {
  if (!Array.isArray(value)) throw new Error(`the ${what} are not an array`);
  for (const name of value) if (typeof name !== 'string') throw new Error(`the ${what} hold a non-string`);
  return value as string[];
}

/** Turns the JSON values back into column values in place (the array is fresh from JSON.parse). */
function decodeValues(value: unknown, what: string): ColumnValue[] | null {
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
