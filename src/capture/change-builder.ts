// Turns the row changes of the replication stream into the change events the queue stores
// (src/core/change-event.ts). The table is the relation as published: with publish_via_partition_root
// a leaf partition's change already names the root table, so a row moving between partitions arrives
// as a DELETE and an INSERT of the root. The key columns are the relation's replica identity columns
// (its primary key by default); a value the stream did not carry (unchanged TOAST, or a column
// YugabyteDB's CHANGE identity left out) becomes UNCHANGED, never NULL, so the apply keeps the
// target's value.

import { UNCHANGED, type ChangeInput, type ColumnValue, type TableName } from '../core/change-event.js';
import { noReplicaIdentityStop, unsupportedStreamStop } from './capture-errors.js';
import type { StreamColumnValue, StreamDelete, StreamInsert, StreamRelation, StreamUpdate, TupleBytes } from './capture-stream.js';
import type { RowChange } from './queue/row-encoding.js';

/** The transaction an event belongs to, as its Begin message said. */
export interface TransactionContext {
  /** The commit LSN, printed as the server prints it (opaque to everything after capture). */
  commitLsn: string;
  xid: number;
  commitTimeMs: number | null;
}

/** Milliseconds between 1970-01-01 and 2000-01-01, the replication protocol's epoch. */
const PG_EPOCH_MS = 946_684_800_000;

/** A server timestamp of the replication protocol (microseconds since 2000-01-01) in epoch milliseconds, for lag metrics. */
export function serverTimeToMs(micros: bigint): number {
  return Number(micros / 1000n) + PG_EPOCH_MS;
}

/** What every event of one relation shares, computed once per Relation message. */
interface RelationShape {
  table: TableName;
  columns: readonly string[];
  keyColumns: readonly string[];
  keyIndexes: readonly number[];
}

/** Builds change events; caches each relation's names so events share them. */
export class ChangeBuilder {
  private readonly shapes = new WeakMap<StreamRelation, RelationShape>();

  /**
   * The event for one row change. Throws CaptureStoppedError for an UPDATE or DELETE of a table whose
   * changes carry no key (the target row could not be found) and for binary values.
   */
  build(message: StreamInsert | StreamUpdate | StreamDelete, tx: TransactionContext): ChangeInput {
    const shape = this.shape(message.relation);
    switch (message.tag) {
      case 'insert':
        return event(tx, shape, 'insert', shape.columns, toValues(message.newTuple, shape.table), null);
      case 'update': {
        if (shape.keyIndexes.length === 0) throw noReplicaIdentityStop(shape.table, 'update');
        const oldKey = message.oldTuple === undefined ? null : keyOf(message.oldTuple, shape);
        return event(tx, shape, 'update', shape.columns, toValues(message.newTuple, shape.table), oldKey);
      }
      case 'delete':
        if (shape.keyIndexes.length === 0) throw noReplicaIdentityStop(shape.table, 'delete');
        return event(tx, shape, 'delete', NO_COLUMNS, null, keyOf(message.oldTuple, shape));
    }
  }

  /**
   * The event for one row change as a RowChange, when the stream located the row's bytes (the fast
   * way: no value becomes a string here); undefined when it did not (then build()). The object is
   * reused by the next call: the queue encodes it at once. Same checks as build().
   */
  row(message: StreamInsert | StreamUpdate | StreamDelete, tx: TransactionContext): RowChange | undefined {
    const shape = this.shape(message.relation);
    const row = this.scratch;
    row.commitLsn = tx.commitLsn;
    row.xid = tx.xid;
    row.commitTimeMs = tx.commitTimeMs;
    row.table = shape.table;
    row.keyColumns = shape.keyColumns;
    row.keyIndexes = shape.keyIndexes;
    switch (message.tag) {
      case 'insert':
        if (message.newRow === undefined) return undefined;
        row.op = 'insert';
        row.columns = shape.columns;
        row.newRow = textOnly(message.newRow, shape.table);
        row.oldRow = null;
        return row;
      case 'update':
        if (message.newRow === undefined) return undefined;
        if (shape.keyIndexes.length === 0) throw noReplicaIdentityStop(shape.table, 'update');
        row.op = 'update';
        row.columns = shape.columns;
        row.newRow = textOnly(message.newRow, shape.table);
        row.oldRow = message.oldRow === undefined ? null : textOnly(message.oldRow, shape.table);
        return row;
      case 'delete':
        if (message.oldRow === undefined) return undefined;
        if (shape.keyIndexes.length === 0) throw noReplicaIdentityStop(shape.table, 'delete');
        row.op = 'delete';
        row.columns = NO_COLUMNS;
        row.newRow = null;
        row.oldRow = textOnly(message.oldRow, shape.table);
        return row;
    }
  }

  private readonly scratch: RowChange = {
    commitLsn: '',
    xid: 0,
    commitTimeMs: null,
    table: { schema: '', name: '' },
    op: 'insert',
    keyColumns: NO_COLUMNS,
    columns: NO_COLUMNS,
    newRow: null,
    oldRow: null,
    keyIndexes: [],
  };

  private shape(relation: StreamRelation): RelationShape {
    let shape = this.shapes.get(relation);
    if (shape === undefined) {
      const keyIndexes: number[] = [];
      relation.columns.forEach((column, index) => {
        if (column.isKey) keyIndexes.push(index);
      });
      shape = {
        table: { schema: relation.namespace, name: relation.name },
        columns: relation.columns.map((column) => column.name),
        keyColumns: keyIndexes.map((index) => (relation.columns[index] as { name: string }).name),
        keyIndexes,
      };
      this.shapes.set(relation, shape);
    }
    return shape;
  }
}

const NO_COLUMNS: readonly string[] = [];

/** The row's bytes, when every value is text (binary values are refused as in toValue). */
function textOnly(row: TupleBytes, table: TableName): TupleBytes {
  if (row.binary) throw unsupportedStreamStop(`a binary column value for ${table.schema}.${table.name}`);
  return row;
}

/** One event, every field in the same order (one object shape for V8). */
function event(
  tx: TransactionContext,
  shape: RelationShape,
  op: ChangeInput['op'],
  columns: readonly string[],
  newValues: readonly ColumnValue[] | null,
  oldKey: readonly ColumnValue[] | null,
): ChangeInput {
  return { commitLsn: tx.commitLsn, xid: tx.xid, commitTimeMs: tx.commitTimeMs, table: shape.table, op, keyColumns: shape.keyColumns, columns, newValues, oldKey };
}

/** The key values of an old row image (only the key columns are set in a 'key' image). */
function keyOf(tuple: readonly StreamColumnValue[], shape: RelationShape): ColumnValue[] {
  return shape.keyIndexes.map((index) => toValue(tuple[index] ?? null, shape.table));
}

/** A row image as event values; the decoder's array is reused when it holds only text and NULLs (the usual case). */
function toValues(tuple: readonly StreamColumnValue[], table: TableName): readonly ColumnValue[] {
  let values: ColumnValue[] | undefined;
  for (let i = 0; i < tuple.length; i += 1) {
    const value = tuple[i];
    if (typeof value === 'string' || value === null) continue;
    values ??= tuple.slice() as ColumnValue[];
    values[i] = toValue(value ?? null, table);
  }
  return values ?? (tuple as readonly ColumnValue[]);
}

function toValue(value: StreamColumnValue, table: TableName): ColumnValue {
  if (typeof value === 'string' || value === null) return value;
  if (typeof value === 'symbol') return UNCHANGED;
  throw unsupportedStreamStop(`a binary column value for ${table.schema}.${table.name}`);
}
