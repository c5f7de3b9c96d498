// Protocol version 2 streaming of large in-progress transactions against PostgreSQL 15: a big
// transaction arrives as Stream Start / Stop blocks whose changes carry its xid and ends in Stream
// Commit; a rolled-back subtransaction ends in Stream Abort naming it; a rolled-back transaction in
// Stream Abort of itself. Replaying the stream the way an apply would gives the server's table.
//
// The decoding side's memory limit decides when a transaction is streamed, so
// logical_decoding_work_mem is set to its minimum in the walsender session (setting it in the
// writing session has no effect on decoding).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type InsertMessage,
  type PgoutputMessage,
  type ReplicationConnection,
  type ReplicationStream,
  type StreamAbortMessage,
  type StreamCommitMessage,
  type StreamStartMessage,
  type XLogDataMessage,
} from '../../src/engines/postgres/replication/index.js';
import { createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import { dropSlots, openReplication, readTransactions, readUntil, source, uniqueSlotName } from './helpers.js';

let db: string;
const slots: string[] = [];
let connection: ReplicationConnection;
let stream: ReplicationStream;

beforeAll(async () => {
  db = await createDatabase(source, 'repl_stream');
  await runSql(source, db, `
    CREATE TABLE big (id int PRIMARY KEY, payload text);
    CREATE TABLE small (id int PRIMARY KEY);
    CREATE PUBLICATION godwit_pub FOR ALL TABLES;`);
  connection = await openReplication(db);
  await connection.client.query(`SET logical_decoding_work_mem = '64kB'`);
  const slot = uniqueSlotName('stream');
  slots.push(slot);
  const created = await connection.createSlot(slot, { snapshot: 'nothing' });
  stream = await connection.startReplication({
    slotName: slot,
    startLsn: created.consistentPoint,
    publicationNames: ['godwit_pub'],
    protocolVersion: 2,
    streaming: true,
  });
});

afterAll(async () => {
  await connection?.close();
  await dropSlots(slots);
  if (db) await dropDatabase(source, db);
});

/** Reads until the streamed transaction ends (Stream Commit, or Stream Abort of the top-level xid). */
async function readStreamedTransaction(): Promise<XLogDataMessage[]> {
  let top: number | undefined;
  return readUntil(stream, (m) => {
    const message = m.message;
    if (message.tag === 'stream-start') top ??= message.xid;
    if (message.tag === 'stream-commit') return message.xid === top;
    if (message.tag === 'stream-abort') return message.xid === top && message.subXid === top;
    return false;
  });
}

function tags(messages: XLogDataMessage[]): PgoutputMessage['tag'][] {
  return messages.map((m) => m.message.tag);
}

/** What an apply does with a streamed transaction: keep changes by (sub)xid, drop aborted subtransactions, apply at commit. */
function replay(messages: XLogDataMessage[]): { committed: boolean; insertedIds: number[] } {
  const changesByXid = new Map<number, InsertMessage[]>();
  let committed = false;
  for (const { message } of messages) {
    if (message.tag === 'insert') {
      if (message.xid === undefined) throw new Error('a streamed change without its xid');
      const list = changesByXid.get(message.xid) ?? [];
      list.push(message);
      changesByXid.set(message.xid, list);
    } else if (message.tag === 'stream-abort') {
      if (message.subXid === message.xid) changesByXid.clear();
      else changesByXid.delete(message.subXid);
    } else if (message.tag === 'stream-commit') {
      committed = true;
    }
  }
  const insertedIds = committed ? [...changesByXid.values()].flat().map((i) => Number(i.newTuple[0])) : [];
  return { committed, insertedIds: insertedIds.sort((a, b) => a - b) };
}

describe('protocol version 2 streaming', () => {
  it('a large transaction arrives in stream blocks and ends in Stream Commit', async () => {
    await runSql(source, db, `INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 3000) g`);
    const messages = await readStreamedTransaction();
    const all = tags(messages);
    expect(all).not.toContain('begin');
    expect(all).not.toContain('commit');
    const starts = messages.map((m) => m.message).filter((m): m is StreamStartMessage => m.tag === 'stream-start');
    // More than one block: the transaction was sent while it was still running.
    expect(starts.length).toBeGreaterThan(1);
    expect(starts[0]?.firstSegment).toBe(true);
    expect(starts.slice(1).every((s) => !s.firstSegment)).toBe(true);
    const xid = starts[0]?.xid;
    expect(starts.every((s) => s.xid === xid)).toBe(true);
    expect(all.filter((t) => t === 'stream-stop').length).toBe(starts.length);

    const relation = messages.find((m) => m.message.tag === 'relation')?.message;
    expect(relation).toMatchObject({ tag: 'relation', xid, relation: { name: 'big' } });
    const inserts = messages.map((m) => m.message).filter((m): m is InsertMessage => m.tag === 'insert');
    expect(inserts.length).toBe(3000);
    expect(inserts.every((i) => i.xid === xid)).toBe(true);

    const commit = messages.at(-1)?.message as StreamCommitMessage;
    expect(commit).toMatchObject({ tag: 'stream-commit', xid });
    expect(commit.endLsn).toBeGreaterThan(commit.commitLsn);
    expect(replay(messages)).toEqual({ committed: true, insertedIds: Array.from({ length: 3000 }, (_, i) => i + 1) });

    // Small transactions still come as Begin ... Commit on the same stream, without xids on their changes.
    await runSql(source, db, 'INSERT INTO small VALUES (1)');
    const [small] = await readTransactions(stream, 1);
    expect(small?.changes).toMatchObject([{ tag: 'insert', xid: undefined, newTuple: ['1'] }]);
  });

  it('a rolled-back subtransaction ends in Stream Abort of that subtransaction; the rest commits', async () => {
    await runSql(source, db, `
      BEGIN;
      INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(10001, 11500) g;
      SAVEPOINT doomed;
      INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(20001, 21500) g;
      ROLLBACK TO SAVEPOINT doomed;
      INSERT INTO big VALUES (30001, 'after the savepoint');
      COMMIT;`);
    const messages = await readStreamedTransaction();
    const aborts = messages.map((m) => m.message).filter((m): m is StreamAbortMessage => m.tag === 'stream-abort');
    const top = (messages.find((m) => m.message.tag === 'stream-start')?.message as StreamStartMessage).xid;
    expect(aborts).toHaveLength(1);
    expect(aborts[0]?.xid).toBe(top);
    expect(aborts[0]?.subXid).not.toBe(top);
    // The changes of the savepoint carry the subtransaction's xid.
    const doomed = messages
      .map((m) => m.message)
      .filter((m): m is InsertMessage => m.tag === 'insert' && Number(m.newTuple[0]) > 20000 && Number(m.newTuple[0]) <= 21500);
    expect(doomed.length).toBeGreaterThan(0);
    expect(doomed.every((i) => i.xid === aborts[0]?.subXid)).toBe(true);
    expect(messages.at(-1)?.message).toMatchObject({ tag: 'stream-commit', xid: top });

    const { committed, insertedIds } = replay(messages);
    expect(committed).toBe(true);
    const onServer = await query<{ id: number }>(source, db, 'SELECT id FROM big WHERE id > 10000 ORDER BY id');
    expect(insertedIds).toEqual(onServer.map((r) => r.id));
    expect(insertedIds).toHaveLength(1501);
  });

  it('a rolled-back large transaction ends in Stream Abort of itself', async () => {
    await runSql(source, db, `
      BEGIN;
      INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(40001, 43000) g;
      ROLLBACK;`);
    const messages = await readStreamedTransaction();
    const abort = messages.at(-1)?.message as StreamAbortMessage;
    expect(abort.tag).toBe('stream-abort');
    expect(abort.subXid).toBe(abort.xid);
    expect(tags(messages)).not.toContain('stream-commit');
    expect(replay(messages)).toEqual({ committed: false, insertedIds: [] });
  });
});
