// Version 1 of the queue payload: a JSON array (written by godwit before version 2; still read, so a
// queue an earlier godwit wrote can be applied to its end).

import { UNCHANGED, type ChangeEvent, type ChangeInput, type ColumnValue, type QueueStream } from '../../core/change-event.js';
import { OPS_BY_CODE, OP_CODES } from './payload-codes.js';

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
