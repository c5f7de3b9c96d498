// What the capture pipeline needs from a logical replication stream, stated without naming an engine
// (DESIGN.md section 6: pipeline code never imports a concrete engine). PostgreSQL's
// ReplicationStream (src/engines/postgres/replication) fits this shape as it is, and so will a
// YugabyteDB stream: both speak pgoutput. The types list only the fields capture reads.
//
// The stream hands over messages in the server's order and moves the acknowledged position ONLY when
// told to through confirmFlushed(): that is what lets the pipeline honour invariant 2 (acknowledge only
// what is durable in the queue).

import type { Lsn } from '../core/lsn.js';

/**
 * A column value as the stream delivers it: text, binary bytes (only with the `binary` option, which
 * capture does not ask for), SQL NULL, or a symbol for a value the stream did not carry (an unchanged
 * TOAST value, or on YugabyteDB a column the UPDATE did not change). Any symbol means "not carried".
 */
export type StreamColumnValue = string | Uint8Array | null | symbol;

/**
 * Where a row image lies in the message it came in: pgoutput TupleData (Int16 column count, then per
 * column 'n', 'u', or 't'/'b' with an Int32 length and the bytes) at [start, end) of `source`, checked
 * by the stream to be well formed and to have the relation's column count. YugabyteDB speaks pgoutput
 * too. Capture copies these bytes into the queue without making a string of each value.
 */
export interface TupleBytes {
  readonly source: Buffer;
  readonly start: number;
  readonly end: number;
  /** True when a value is binary ('b'): capture refuses those (it asks for text). */
  readonly binary: boolean;
}

/** A column of a published table, as the Relation message describes it. */
export interface StreamRelationColumn {
  name: string;
  /** Part of the replica identity key (with REPLICA IDENTITY FULL every column is). */
  isKey: boolean;
  typeOid: number;
  typeModifier: number;
}

/**
 * A published table as the stream describes it. With publish_via_partition_root the changes of a
 * leaf partition come with the root table's relation, so this is the table the target knows.
 */
export interface StreamRelation {
  relationId: number;
  namespace: string;
  name: string;
  replicaIdentity: string;
  columns: readonly StreamRelationColumn[];
}

export interface StreamBegin {
  tag: 'begin';
  /** The LSN of the transaction's commit record. */
  finalLsn: Lsn;
  /** Server clock, microseconds since 2000-01-01. */
  commitTime: bigint;
  /** The same time in epoch milliseconds, when the stream tells it without making a bigint. */
  readonly commitTimeMs?: number;
  xid: number;
}

export interface StreamCommit {
  tag: 'commit';
  commitLsn: Lsn;
  /** The end of the commit record: the position to acknowledge once the transaction is durable. */
  endLsn: Lsn;
  commitTime: bigint;
}

export interface StreamRelationMessage {
  tag: 'relation';
  relation: StreamRelation;
}

export interface StreamInsert {
  tag: 'insert';
  relation: StreamRelation;
  readonly newTuple: readonly StreamColumnValue[];
  /** The new row's bytes, when the stream located them (then capture reads no value of it). */
  newRow?: TupleBytes;
}

export interface StreamUpdate {
  tag: 'update';
  relation: StreamRelation;
  /** 'key': the old replica identity key (the key changed); 'old': the whole old row (FULL); undefined: none sent. */
  oldKind: 'key' | 'old' | undefined;
  readonly oldTuple: readonly StreamColumnValue[] | undefined;
  readonly newTuple: readonly StreamColumnValue[];
  /** The rows' bytes, when the stream located them (both or neither). */
  oldRow?: TupleBytes | undefined;
  newRow?: TupleBytes;
}

export interface StreamDelete {
  tag: 'delete';
  relation: StreamRelation;
  oldKind: 'key' | 'old';
  readonly oldTuple: readonly StreamColumnValue[];
  /** The old row's bytes, when the stream located them. */
  oldRow?: TupleBytes;
}

export interface StreamTruncate {
  tag: 'truncate';
  relations: readonly StreamRelation[];
}

/** Messages capture reads past: origins, type descriptions, logical decoding messages, and the streamed-transaction protocol. */
export interface StreamOtherMessage {
  tag: 'origin' | 'type' | 'message' | 'stream-start' | 'stream-stop' | 'stream-commit' | 'stream-abort';
}

/** Every decoded message of a pgoutput stream. */
export type StreamMessage =
  | StreamBegin
  | StreamCommit
  | StreamRelationMessage
  | StreamInsert
  | StreamUpdate
  | StreamDelete
  | StreamTruncate
  | StreamOtherMessage;

/** What the stream delivers: a decoded message, or the server's keepalive with its current position. */
export type StreamItem =
  | { kind: 'xlogdata'; message: StreamMessage }
  /**
   * `walEnd`: how far the server has sent. Everything before it that concerns us was delivered before
   * this keepalive, so when all of it is durable and no transaction is open, it may be acknowledged.
   */
  | { kind: 'keepalive'; walEnd: Lsn };

/** A started logical replication stream whose acknowledgements the capture pipeline alone moves. */
export interface CaptureStream {
  /** The next item, waiting for it; undefined once the stream was stopped. Throws the engine's typed errors. */
  next(): Promise<StreamItem | undefined>;
  /**
   * Optional fast path: the next item when it is available without waiting, else undefined (then
   * call next()). Same order and errors as next().
   */
  poll?(): StreamItem | undefined;
  /** Reports `lsn` (the end of a whole durable transaction) as flushed to the server; lower values are ignored. */
  confirmFlushed(lsn: Lsn): void;
  /** Ends the stream cleanly (sends the confirmed position once more); never throws. */
  stop(): Promise<void>;
}
