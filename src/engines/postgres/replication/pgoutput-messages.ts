// The typed messages of PostgreSQL's pgoutput logical decoding plugin (protocol versions 1 and 2,
// https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html), as the decoder
// returns them. Positions are bigint LSNs, transaction ids unsigned 32-bit numbers, timestamps the
// server's microseconds since 2000-01-01 (bigint, exact; pgTimeToDate() for display).

import type { Lsn } from '../../../core/lsn.js';

/**
 * A column value of a tuple. `null` is SQL NULL; UNCHANGED_TOAST is a value the server did not send
 * because it is an unchanged out-of-line (TOASTed) value, or on YugabyteDB a column the UPDATE did not
 * change: it is NOT null, and an apply must leave the target's value as it is. Text columns arrive
 * as strings (the type's output function, in UTF-8), binary ones (option `binary`) as Buffers.
 */
export type ColumnValue = string | Buffer | null | typeof UNCHANGED_TOAST;

/** The marker of an unchanged TOAST column ('u' in the protocol): distinct from null and from every value. */
export const UNCHANGED_TOAST: unique symbol = Symbol('unchanged-toast');

/** True when a column value is the unchanged-TOAST marker (the value was not sent). */
export function isUnchanged(value: ColumnValue): value is typeof UNCHANGED_TOAST {
  return value === UNCHANGED_TOAST;
}

/** One row image; `values[i]` belongs to `relation.columns[i]`. */
export type TupleData = ColumnValue[];

/**
 * Where a row image lies in the message it came in: pgoutput TupleData (Int16 column count, then per
 * column 'n', 'u', or 't'/'b' with an Int32 length and the bytes) at [start, end) of `source`, checked
 * to be well formed and to have the relation's column count. Capture copies these bytes into its queue
 * without making a string of each value; `newTuple`/`oldTuple` decode them when asked.
 */
export interface TupleBytes {
  readonly source: Buffer;
  readonly start: number;
  readonly end: number;
  /** True when a value is binary ('b', with the `binary` option). */
  readonly binary: boolean;
}

/** Replica identity of a relation, as pg_class.relreplident spells it. */
export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

/** A column of a published relation, from the Relation message. */
export interface RelationColumn {
  name: string;
  /** Part of the replica identity key (flag bit 1). With identity FULL, every column is. */
  isKey: boolean;
  typeOid: number;
  /** atttypmod (-1 when the type has none). */
  typeModifier: number;
}

/** What the relation cache holds per relation id; changes carry it so consumers get names. */
export interface RelationInfo {
  relationId: number;
  /** The schema; the protocol's empty string (pg_catalog) is returned as 'pg_catalog'. */
  namespace: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

/** Set on messages that belong to a streamed (protocol v2, in-progress) transaction block. */
interface MaybeStreamed {
  /** The (sub)transaction id, present only inside a Stream Start ... Stream Stop block. */
  xid: number | undefined;
}

export interface BeginMessage {
  tag: 'begin';
  /** The LSN of the transaction's commit record. */
  finalLsn: Lsn;
  commitTime: bigint;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  flags: number;
  /** The LSN of the commit record. */
  commitLsn: Lsn;
  /** The end of the commit record: the position to confirm once the transaction is durable. */
  endLsn: Lsn;
  commitTime: bigint;
}

export interface OriginMessage {
  tag: 'origin';
  /** The commit LSN on the origin server. */
  originLsn: Lsn;
  name: string;
}

export interface RelationMessage extends MaybeStreamed {
  tag: 'relation';
  relation: RelationInfo;
}

export interface TypeMessage extends MaybeStreamed {
  tag: 'type';
  typeOid: number;
  namespace: string;
  name: string;
}

export interface InsertMessage extends MaybeStreamed {
  tag: 'insert';
  relation: RelationInfo;
  readonly newTuple: TupleData;
  newRow: TupleBytes;
}

export interface UpdateMessage extends MaybeStreamed {
  tag: 'update';
  relation: RelationInfo;
  /**
   * 'key': `oldTuple` holds the old replica identity key (other columns null), sent when the key
   * changed (identity DEFAULT or USING INDEX); 'old': the whole old row (identity FULL);
   * undefined: no old image, the key did not change.
   */
  oldKind: 'key' | 'old' | undefined;
  readonly oldTuple: TupleData | undefined;
  readonly newTuple: TupleData;
  oldRow: TupleBytes | undefined;
  newRow: TupleBytes;
}

export interface DeleteMessage extends MaybeStreamed {
  tag: 'delete';
  relation: RelationInfo;
  /** 'key': only the key columns are set (others null); 'old': the whole old row (identity FULL). */
  oldKind: 'key' | 'old';
  readonly oldTuple: TupleData;
  oldRow: TupleBytes;
}

export interface TruncateMessage extends MaybeStreamed {
  tag: 'truncate';
  cascade: boolean;
  restartIdentity: boolean;
  relationIds: number[];
  /** The cached relations, in `relationIds` order (the server sends their Relation messages first). */
  relations: RelationInfo[];
}

export interface LogicalDecodingMessage extends MaybeStreamed {
  tag: 'message';
  /** Emitted with pg_logical_emit_message(true, ...): part of its transaction. */
  transactional: boolean;
  lsn: Lsn;
  prefix: string;
  content: Buffer;
}

export interface StreamStartMessage {
  tag: 'stream-start';
  xid: number;
  /** True for the first block of this transaction. */
  firstSegment: boolean;
}

export interface StreamStopMessage {
  tag: 'stream-stop';
}

export interface StreamCommitMessage {
  tag: 'stream-commit';
  xid: number;
  flags: number;
  commitLsn: Lsn;
  /** The end of the commit record: the position to confirm once the transaction is durable. */
  endLsn: Lsn;
  commitTime: bigint;
}

export interface StreamAbortMessage {
  tag: 'stream-abort';
  /** The top-level transaction. */
  xid: number;
  /** The aborted (sub)transaction: equal to `xid` when the whole transaction aborted. */
  subXid: number;
}

/** Every message pgoutput sends with protocol versions 1 and 2. */
export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalDecodingMessage
  | StreamStartMessage
  | StreamStopMessage
  | StreamCommitMessage
  | StreamAbortMessage;

/** Microseconds between 1970-01-01 and 2000-01-01, PostgreSQL's epoch. */
export const PG_EPOCH_OFFSET_MICROS = 946_684_800_000_000n;

/** A server timestamp (microseconds since 2000-01-01) as a Date, for logs and metrics (millisecond precision). */
export function pgTimeToDate(pgMicros: bigint): Date {
  return new Date(Number((pgMicros + PG_EPOCH_OFFSET_MICROS) / 1000n));
}

/** The current time as the server's clock format, for standby status updates. */
export function dateToPgTime(date: Date): bigint {
  return BigInt(date.getTime()) * 1000n - PG_EPOCH_OFFSET_MICROS;
}
