// Decodes the payload of XLogData messages written by pgoutput (protocol versions 1 and 2) into typed
// messages. Stateful on purpose: it keeps the relation cache, and it knows whether it is inside a
// Stream Start ... Stream Stop block, because only there do changes carry a transaction id.

import { BufferReader } from './buffer-reader.js';
import { type PgoutputMessage, type RelationColumn, type RelationInfo, type ReplicaIdentity, type TruncateMessage, type TupleBytes, type UpdateMessage } from './pgoutput-messages.js';
import { RelationCache } from './relation-cache.js';
import { ReplicationError } from './replication-errors.js';
import { DeleteRowMessage, InsertRowMessage, UpdateRowMessage, locateTuple } from './row-messages.js';
import { BEGIN_BYTES, BeginFrame, COMMIT_BYTES, CommitFrame } from './transaction-messages.js';

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
  decode(payload: Buffer, start = 0, end = payload.length): PgoutputMessage {
    if (end <= start) throw new ReplicationError('protocol', 'The replication stream sent an empty pgoutput message.');
    const reader = this.reader.reset(payload, start + 1, end);
    const tag = String.fromCharCode(payload[start] as number);
    switch (tag) {
      case 'B':
        reader.seek(reader.position + BEGIN_BYTES);
        return new BeginFrame(payload, start + 1);
      case 'C':
        reader.seek(reader.position + COMMIT_BYTES);
        return new CommitFrame(payload, start + 1);
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
        return new InsertRowMessage(xid, relation, locateTuple(reader, relation));
      }
      case 'U':
        return this.update(reader);
      case 'D': {
        const xid = this.streamXid(reader);
        const relation = this.cache.relation(reader.uint32());
        const kind = String.fromCharCode(reader.uint8());
        if (kind !== 'K' && kind !== 'O') throw unexpected(`old-row marker "${kind}" in a DELETE`);
        return new DeleteRowMessage(xid, relation, kind === 'K' ? 'key' : 'old', locateTuple(reader, relation));
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
    let oldRow: TupleBytes | undefined;
    if (marker === 'K' || marker === 'O') {
      oldKind = marker === 'K' ? 'key' : 'old';
      oldRow = locateTuple(reader, relation);
      marker = String.fromCharCode(reader.uint8());
    }
    if (marker !== 'N') throw unexpected(`tuple marker "${marker}" in an UPDATE`);
    return new UpdateRowMessage(xid, relation, oldKind, oldRow, locateTuple(reader, relation));
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
