// The row messages of pgoutput (Insert, Update, Delete) as the decoder returns them: each row image is
// checked and located (TupleBytes) without making strings of its values, and decoded into values
// only when someone reads `newTuple`/`oldTuple`. Capture copies the located bytes into its queue, so
// the values of a busy stream are never turned into JavaScript strings in the exporter.

import { BufferReader } from './buffer-reader.js';
import { UNCHANGED_TOAST, type DeleteMessage, type InsertMessage, type RelationInfo, type TupleBytes, type TupleData, type UpdateMessage } from './pgoutput-messages.js';
import { ReplicationError } from './replication-errors.js';

const KIND_NULL = 0x6e; // 'n'
const KIND_UNCHANGED = 0x75; // 'u'
const KIND_TEXT = 0x74; // 't'
const KIND_BINARY = 0x62; // 'b'

/**
 * Checks the TupleData at the reader's position (column count, kinds, lengths within the message)
 * and moves past it; returns where it lies.
 */
export function locateTuple(reader: BufferReader, relation: RelationInfo): TupleBytes {
  const source = reader.source;
  const start = reader.position;
  const end = reader.limit;
  if (start + 2 > end) throw cutShort(relation);
  const count = source.readInt16BE(start);
  if (count !== relation.columns.length) {
    throw new ReplicationError(
      'protocol',
      `The replication stream sent a row of ${count} columns for ${relation.namespace}.${relation.name}, described with ${relation.columns.length}.`,
    );
  }
  let at = start + 2;
  let binary = false;
  for (let i = 0; i < count; i++) {
    if (at >= end) throw cutShort(relation);
    const kind = source[at] as number;
    if (kind === KIND_TEXT || kind === KIND_BINARY) {
      binary ||= kind === KIND_BINARY;
      if (at + 5 > end) throw cutShort(relation);
      const length = source.readInt32BE(at + 1);
      at += 5;
      if (length < 0 || at + length > end) throw cutShort(relation);
      at += length;
    } else if (kind === KIND_NULL || kind === KIND_UNCHANGED) {
      at += 1;
    } else {
      throw unexpectedKind(kind, relation);
    }
  }
  reader.seek(at);
  return { source, start, end: at, binary };
}

/** The values of a located row image (strings for text, Buffers for binary values). */
export function tupleValues(row: TupleBytes, relation: RelationInfo): TupleData {
  const reader = new BufferReader(row.source, row.start, 'pgoutput row').reset(row.source, row.start, row.end);
  const count = reader.int16();
  const values: TupleData = new Array(count);
  for (let i = 0; i < count; i++) {
    const kind = reader.uint8();
    if (kind === KIND_NULL) values[i] = null;
    else if (kind === KIND_UNCHANGED) values[i] = UNCHANGED_TOAST;
    else if (kind === KIND_TEXT) values[i] = reader.text(reader.int32());
    else if (kind === KIND_BINARY) values[i] = reader.bytes(reader.int32());
    else throw unexpectedKind(kind, relation);
  }
  return values;
}

/** An Insert whose new row is decoded when read. */
export class InsertRowMessage implements InsertMessage {
  readonly tag = 'insert';
  private decoded: TupleData | undefined;

  constructor(
    readonly xid: number | undefined,
    readonly relation: RelationInfo,
    readonly newRow: TupleBytes,
  ) {}

  get newTuple(): TupleData {
    return (this.decoded ??= tupleValues(this.newRow, this.relation));
  }
}

/** An Update whose rows are decoded when read. */
export class UpdateRowMessage implements UpdateMessage {
  readonly tag = 'update';
  private decodedNew: TupleData | undefined;
  private decodedOld: TupleData | undefined;

  constructor(
    readonly xid: number | undefined,
    readonly relation: RelationInfo,
    readonly oldKind: 'key' | 'old' | undefined,
    readonly oldRow: TupleBytes | undefined,
    readonly newRow: TupleBytes,
  ) {}

  get newTuple(): TupleData {
    return (this.decodedNew ??= tupleValues(this.newRow, this.relation));
  }

  get oldTuple(): TupleData | undefined {
    if (this.oldRow === undefined) return undefined;
    return (this.decodedOld ??= tupleValues(this.oldRow, this.relation));
  }
}

/** A Delete whose old row is decoded when read. */
export class DeleteRowMessage implements DeleteMessage {
  readonly tag = 'delete';
  private decoded: TupleData | undefined;

  constructor(
    readonly xid: number | undefined,
    readonly relation: RelationInfo,
    readonly oldKind: 'key' | 'old',
    readonly oldRow: TupleBytes,
  ) {}

  get oldTuple(): TupleData {
    return (this.decoded ??= tupleValues(this.oldRow, this.relation));
  }
}

function cutShort(relation: RelationInfo): ReplicationError {
  return new ReplicationError('protocol', `A row of ${relation.namespace}.${relation.name} from the server is shorter than its format says.`);
}

function unexpectedKind(kind: number, relation: RelationInfo): ReplicationError {
  return new ReplicationError('protocol', `The replication stream sent an unexpected column kind "${String.fromCharCode(kind)}" in a row of ${relation.namespace}.${relation.name}.`, {
    hint: 'godwit requests pgoutput protocol version 1 or 2; this server may speak another version.',
  });
}
