// The change event: one row change (or marker) as the whole live pipeline sees it. Capture builds it
// from the replication stream, the queue stores it durably, the apply turns it back into SQL. It
// names no engine: LSNs are opaque strings (DESIGN.md section 10: on YugabyteDB an LSN is a per-slot
// record number, so they are compared only by the engine that produced them, never here).

/**
 * A column that the event does not carry: an unchanged TOAST value, or a column YugabyteDB's CHANGE
 * replica identity left out. It is not NULL: applying it must keep the value the row already has.
 * `Symbol.for` keeps it one value even when two copies of this module are loaded (src and dist).
 */
export const UNCHANGED: unique symbol = Symbol.for('godwit.change-event.unchanged');

/** The type of {@link UNCHANGED}. */
export type Unchanged = typeof UNCHANGED;

/** A column value in the stream: NULL, PostgreSQL's text form (bytea as `\x...` hex), or not carried. */
export type ColumnValue = string | null | Unchanged;

/** The two change streams of a migration; each has its own queue and its own vsn sequence. */
export const QUEUE_STREAMS = ['source-to-target', 'target-to-source'] as const;
export type QueueStream = (typeof QUEUE_STREAMS)[number];

/**
 * What happened. `marker` is the cutover end marker: the sentinel row godwit writes into its own
 * bookkeeping table to say "the stream is complete up to here" (it works on PostgreSQL and YugabyteDB).
 */
export const CHANGE_OPS = ['insert', 'update', 'delete', 'truncate', 'marker'] as const;
export type ChangeOp = (typeof CHANGE_OPS)[number];

/** A table as the stream names it (a leaf partition's change already carries its root table). */
export interface TableName {
  schema: string;
  name: string;
}

/** A change as capture hands it to the queue, before the queue numbers it. */
export interface ChangeInput {
  /** The commit LSN of the event's transaction, as the server printed it (opaque). */
  commitLsn: string;
  /** The transaction id on the origin server. */
  xid: number;
  /** The origin's commit time in milliseconds since the epoch (for lag metrics), when known. */
  commitTimeMs: number | null;
  table: TableName;
  op: ChangeOp;
  /** The columns that identify a row (primary key, or the replica identity columns), in key order. */
  keyColumns: readonly string[];
  /** Names of the values in `newValues`, in the relation's column order. */
  columns: readonly string[];
  /** The new row for insert and update (and the sentinel row of a marker), aligned with `columns`; else null. */
  newValues: readonly ColumnValue[] | null;
  /**
   * The old key for update and delete, aligned with `keyColumns`: present on delete, and on update
   * when the server sent the old key (the key changed, or REPLICA IDENTITY FULL); else null.
   */
  oldKey: readonly ColumnValue[] | null;
}

/** A change as it comes out of the queue: numbered and tagged with its stream. */
export interface ChangeEvent extends ChangeInput {
  /**
   * The event's sequence number in its stream: 1, 2, 3, ... without gaps, in commit order. A plain
   * number (safe up to 2^53, that is centuries at a million events per second) keeps the hot path,
   * JSON and SQLite free of bigint conversions.
   */
  vsn: number;
  stream: QueueStream;
}

/** True for the marker of a value the event does not carry; the one test callers should use. */
export function isUnchanged(value: ColumnValue): value is Unchanged {
  return value === UNCHANGED;
}

/** Checks a stream name that came from outside the type system (store rows, files, options). */
export function isQueueStream(value: unknown): value is QueueStream {
  return typeof value === 'string' && (QUEUE_STREAMS as readonly string[]).includes(value);
}
