// Decodes the payload of XLogData messages written by pgoutput (protocol versions 1 and 2) into typed
// messages. Stateful on purpose: it keeps the relation cache, and it knows whether it is inside a
// Stream Start ... Stream Stop block, because only there do changes carry a transaction id.

import { BufferReader } from './buffer-reader.js';
import {
  UNCHANGED_TOAST,
  type PgoutputMessage,
  type RelationColumn,
  type RelationInfo,
  type ReplicaIdentity,
  type TruncateMessage,
  type TupleData,
  type UpdateMessage,
} from './pgoutput-messages.js';
import { RelationCache } from './relation-cache.js';
import { ReplicationError } from './replication-errors.js';

const TRUNCATE_CASCADE = 1;
const TRUNCATE_RESTART_IDENTITY = 2;
const MESSAGE_TRANSACTIONAL = 1;

const REPLICA_IDENTITY: Record<string, ReplicaIdentity> = { d: 'default', n: 'nothing', f: 'full', i: 'index' };

/** One decoder per replication session: its relation cache and stream state belong to that session. */
export class PgoutputDecoder {
  /** Relations and types described so far in this session. */
  readonly cache = new RelationCache();
  private inStream = false;
  private readonly reader = new BufferReader(Buffer.alloc(0), 0, 'pgoutput message');

  /** True between Stream Start and Stream Stop. */
  get inStreamBlock(): boolean {
    return this.inStream;
  }

  /**
   * Decodes one pgoutput message (the data part of one XLogData message, from byte `start` of
   * `payload`: the stream passes the whole frame instead of a view of it); throws ReplicationError('protocol').
   */
  decode(payload: Buffer, start = 0): PgoutputMessage {
    if (payload.length <= start) throw new ReplicationError('protocol', 'The replication stream sent an empty pgoutput message.');
    const reader = this.reader.reset(payload, start + 1);
    const tag = String.fromCharCode(payload[start] as number);
    switch (tag) {
      case 'B':
        return { tag: 'begin', finalLsn: reader.uint64(), commitTime: reader.int64(), xid: reader.uint32() };
      case 'C':
        return { tag: 'commit', flags: reader.uint8(), commitLsn: reader.uint64(), endLsn: reader.uint64(), commitTime: reader.int64() };
      case 'O':
        return { tag: 'origin', originLsn: reader.uint64(), name: reader.cstring() };
      case 'R':
        return this.relation(reader);
      case 'Y': {
        const xid = this.streamXid(reader);
        const type = { typeOid: reader.uint32(), namespace: schemaName(reader.cstring()), name: reader.cstring() };
        this.cache.setType(type);
        return { tag: 'type', xid, ...type };
      }
      case 'I': {
        const xid = this.streamXid(reader);
        const relation = this.cache.relation(reader.uint32());
        expectByte(reader, 'N', 'an INSERT');
        return { tag: 'insert', xid, relation, newTuple: readTuple(reader, relation) };
      }
      case 'U':
        return this.update(reader);
      case 'D': {
        const xid = this.streamXid(reader);
        const relation = this.cache.relation(reader.uint32());
        const kind = String.fromCharCode(reader.uint8());
        if (kind !== 'K' && kind !== 'O') throw unexpected(`old-row marker "${kind}" in a DELETE`);
        return { tag: 'delete', xid, relation, oldKind: kind === 'K' ? 'key' : 'old', oldTuple: readTuple(reader, relation) };
      }
      case 'T':
        return this.truncate(reader);
      case 'M': {
        const xid = this.streamXid(reader);
        const flags = reader.uint8();
        const lsn = reader.uint64();
        const prefix = reader.cstring();
        const content = reader.bytes(reader.int32());
        return { tag: 'message', xid, transactional: (flags & MESSAGE_TRANSACTIONAL) !== 0, lsn, prefix, content };
      }
      case 'S': {
        this.inStream = true;
        return { tag: 'stream-start', xid: reader.uint32(), firstSegment: reader.uint8() === 1 };
      }
      case 'E':
        this.inStream = false;
        return { tag: 'stream-stop' };
      case 'c':
        return {
          tag: 'stream-commit',
          xid: reader.uint32(),
          flags: reader.uint8(),
          commitLsn: reader.uint64(),
          endLsn: reader.uint64(),
          commitTime: reader.int64(),
        };
      case 'A':
        // Protocol version 4 (parallel streaming) adds the abort LSN and time; versions 2 and 3 end here.
        return { tag: 'stream-abort', xid: reader.uint32(), subXid: reader.uint32() };
      default:
        throw unexpected(`message type "${tag}" (0x${(payload[start] as number).toString(16)})`);
    }
  }

  private streamXid(reader: BufferReader): number | undefined {
    return this.inStream ? reader.uint32() : undefined;
  }

  private relation(reader: BufferReader): PgoutputMessage {
    const xid = this.streamXid(reader);
    const relationId = reader.uint32();
    const namespace = schemaName(reader.cstring());
    const name = reader.cstring();
    const identityChar = String.fromCharCode(reader.uint8());
    const replicaIdentity = REPLICA_IDENTITY[identityChar];
    if (replicaIdentity === undefined) throw unexpected(`replica identity "${identityChar}" for ${namespace}.${name}`);
    const count = reader.int16();
    const columns: RelationColumn[] = [];
    for (let i = 0; i < count; i++) {
      const flags = reader.uint8();
      columns.push({ isKey: (flags & 1) !== 0, name: reader.cstring(), typeOid: reader.uint32(), typeModifier: reader.int32() });
    }
    const relation: RelationInfo = { relationId, namespace, name, replicaIdentity, columns };
    this.cache.setRelation(relation);
    return { tag: 'relation', xid, relation };
  }

  private update(reader: BufferReader): UpdateMessage {
    const xid = this.streamXid(reader);
    const relation = this.cache.relation(reader.uint32());
    let marker = String.fromCharCode(reader.uint8());
    let oldKind: UpdateMessage['oldKind'];
    let oldTuple: TupleData | undefined;
    if (marker === 'K' || marker === 'O') {
      oldKind = marker === 'K' ? 'key' : 'old';
      oldTuple = readTuple(reader, relation);
      marker = String.fromCharCode(reader.uint8());
    }
    if (marker !== 'N') throw unexpected(`tuple marker "${marker}" in an UPDATE`);
    return { tag: 'update', xid, relation, oldKind, oldTuple, newTuple: readTuple(reader, relation) };
  }

  private truncate(reader: BufferReader): TruncateMessage {
    const xid = this.streamXid(reader);
    const count = reader.int32();
    const options = reader.uint8();
    const relationIds: number[] = [];
    for (let i = 0; i < count; i++) relationIds.push(reader.uint32());
    return {
      tag: 'truncate',
      xid,
      cascade: (options & TRUNCATE_CASCADE) !== 0,
      restartIdentity: (options & TRUNCATE_RESTART_IDENTITY) !== 0,
      relationIds,
      relations: relationIds.map((id) => this.cache.relation(id)),
    };
  }
}

// TupleData: Int16 column count, then per column 'n' (null), 'u' (unchanged TOAST), or 't'/'b' with
// an Int32 length and the text or binary value.
function readTuple(reader: BufferReader, relation: RelationInfo): TupleData {
  const count = reader.int16();
  if (count !== relation.columns.length) {
    throw new ReplicationError(
      'protocol',
      `The replication stream sent a row of ${count} columns for ${relation.namespace}.${relation.name}, described with ${relation.columns.length}.`,
    );
  }
  const values: TupleData = new Array(count);
  if (readAsciiTuple(reader, values)) return values;
  for (let i = 0; i < count; i++) {
    const kind = reader.uint8();
    switch (kind) {
      case 0x6e: // 'n'
        values[i] = null;
        break;
      case 0x75: // 'u'
        values[i] = UNCHANGED_TOAST;
        break;
      case 0x74: // 't'
        values[i] = reader.text(reader.int32());
        break;
      case 0x62: // 'b'
        values[i] = reader.bytes(reader.int32());
        break;
      default:
        throw unexpected(`column kind "${String.fromCharCode(kind)}" in a row of ${relation.namespace}.${relation.name}`);
    }
  }
  return values;
}

type FastBuffer = Buffer & { latin1Slice?(start: number, end: number): string };

/**
 * The usual row (NULLs, unchanged TOAST values and ASCII text, well formed) read with one string for
 * the whole row and a slice of it per value: a Buffer-to-string call per value cost a tenth of the
 * capture's time. Fills `values` and moves the reader past the row, or returns false having moved
 * nothing (anything else: UTF-8 or binary values, a row cut short), for the general loop to read.
 */
function readAsciiTuple(reader: BufferReader, values: TupleData): boolean {
  const buffer = reader.source as FastBuffer;
  const start = reader.position;
  const end = buffer.length;
  const count = values.length;
  let at = start;
  for (let i = 0; i < count; i++) {
    if (at >= end) return false;
    const kind = buffer[at] as number;
    if (kind === 0x74) {
      if (at + 5 > end) return false;
      const length = buffer.readInt32BE(at + 1);
      at += 5;
      if (length < 0 || at + length > end) return false;
      for (let j = at; j < at + length; j++) if ((buffer[j] as number) >= 0x80) return false;
      at += length;
    } else if (kind === 0x6e || kind === 0x75) {
      at += 1;
    } else {
      return false;
    }
  }
  // Latin-1 is UTF-8 for ASCII; the kind bytes and lengths in between are simply not sliced.
  const text = buffer.latin1Slice !== undefined ? buffer.latin1Slice(start, at) : buffer.toString('latin1', start, at);
  let pos = start;
  for (let i = 0; i < count; i++) {
    const kind = buffer[pos] as number;
    if (kind === 0x74) {
      const length = buffer.readInt32BE(pos + 1);
      pos += 5;
      values[i] = text.slice(pos - start, pos - start + length);
      pos += length;
    } else {
      values[i] = kind === 0x6e ? null : UNCHANGED_TOAST;
      pos += 1;
    }
  }
  reader.seek(at);
  return true;
}

function expectByte(reader: BufferReader, expected: string, where: string): void {
  const found = String.fromCharCode(reader.uint8());
  if (found !== expected) throw unexpected(`tuple marker "${found}" in ${where}`);
}

// pgoutput sends the empty string for pg_catalog.
function schemaName(namespace: string): string {
  return namespace === '' ? 'pg_catalog' : namespace;
}

function unexpected(what: string): ReplicationError {
  return new ReplicationError('protocol', `The replication stream sent an unexpected ${what}.`, {
    hint: 'godwit requests pgoutput protocol version 1 or 2; this server may speak another version.',
  });
}
