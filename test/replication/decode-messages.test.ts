// Every pgoutput message type, produced by the real PostgreSQL 15 source and decoded by godwit's
// replication client: Begin/Commit, Relation (names, key flags, type oids, typmods), Type, Insert,
// Update and Delete under replica identity DEFAULT, FULL and USING INDEX, unchanged TOAST values,
// Truncate with its options, logical decoding messages, Origin, and binary values.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareLsn } from '../../src/core/lsn.js';
import {
  isUnchanged,
  UNCHANGED_TOAST,
  type ColumnValue,
  type DeleteMessage,
  type InsertMessage,
  type LogicalDecodingMessage,
  type OriginMessage,
  type ReplicationConnection,
  type ReplicationStream,
  type TruncateMessage,
  type TypeMessage,
  type UpdateMessage,
} from '../../src/engines/postgres/replication/index.js';
import { createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import { dropSlots, openReplication, readTransactions, readUntil, source, uniqueSlotName, withSourceSession, type Transaction } from './helpers.js';

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE t_default (id int PRIMARY KEY, name text, m mood, amount numeric(10,2), label varchar(20));
  CREATE TABLE t_full (id int PRIMARY KEY, name text);
  ALTER TABLE t_full REPLICA IDENTITY FULL;
  CREATE TABLE t_index (id int NOT NULL, code text NOT NULL, note text);
  CREATE UNIQUE INDEX t_index_code ON t_index (code);
  ALTER TABLE t_index REPLICA IDENTITY USING INDEX t_index_code;
  CREATE TABLE t_toast (id int PRIMARY KEY, big text, counter int);
  ALTER TABLE t_toast ALTER COLUMN big SET STORAGE EXTERNAL;
  CREATE SCHEMA "Sales Data";
  CREATE TABLE "Sales Data"."Customer Accounts" ("Id" int PRIMARY KEY, "Straße" text);
  CREATE TABLE t_trunc_a (id int PRIMARY KEY);
  CREATE TABLE t_trunc_b (id serial PRIMARY KEY);
  CREATE TABLE t_binary (id int PRIMARY KEY, payload bytea, t text);
  CREATE PUBLICATION godwit_pub FOR ALL TABLES;
`;

let db: string;
const slots: string[] = [];
let connection: ReplicationConnection;
let stream: ReplicationStream;

beforeAll(async () => {
  db = await createDatabase(source, 'repl_decode');
  await runSql(source, db, SCHEMA);
  connection = await openReplication(db);
  const slot = uniqueSlotName('decode');
  slots.push(slot);
  const created = await connection.createSlot(slot, { snapshot: 'nothing' });
  stream = await connection.startReplication({ slotName: slot, startLsn: created.consistentPoint, publicationNames: ['godwit_pub'] });
});

afterAll(async () => {
  await connection?.close();
  await dropSlots(slots);
  if (db) await dropDatabase(source, db);
});

async function oneTransaction(sql: string): Promise<Transaction> {
  await runSql(source, db, sql);
  const [transaction] = await readTransactions(stream, 1);
  if (transaction === undefined) throw new Error('no transaction');
  return transaction;
}

function only<T>(transaction: Transaction, tag: string): T[] {
  return transaction.changes.filter((c) => c.tag === tag) as T[];
}

describe('pgoutput decoding against PostgreSQL 15', () => {
  it('Begin, Type, Relation, Insert and Commit, with names, key flags, type oids and typmods', async () => {
    const t = await oneTransaction(`
      INSERT INTO t_default VALUES (1, 'a''b, "c"', 'happy', 12345678.91, 'x'), (2, NULL, NULL, 'NaN', NULL)`);
    const begin = (await query<{ oid: number }>(source, db, "SELECT 'mood'::regtype::oid AS oid"))[0];
    const type = t.messages.find((m) => m.tag === 'type') as TypeMessage | undefined;
    expect(type).toMatchObject({ tag: 'type', typeOid: begin?.oid, namespace: 'public', name: 'mood', xid: undefined });

    const relation = t.messages.find((m) => m.tag === 'relation');
    expect(relation).toMatchObject({
      xid: undefined,
      relation: {
        namespace: 'public',
        name: 't_default',
        replicaIdentity: 'default',
        columns: [
          { name: 'id', isKey: true, typeOid: 23, typeModifier: -1 },
          { name: 'name', isKey: false, typeOid: 25, typeModifier: -1 },
          { name: 'm', isKey: false, typeOid: begin?.oid, typeModifier: -1 },
          { name: 'amount', isKey: false, typeOid: 1700, typeModifier: ((10 << 16) | 2) + 4 },
          { name: 'label', isKey: false, typeOid: 1043, typeModifier: 20 + 4 },
        ],
      },
    });
    const inserts = only<InsertMessage>(t, 'insert');
    expect(inserts.map((i) => i.newTuple)).toEqual([
      ['1', 'a\'b, "c"', 'happy', '12345678.91', 'x'],
      ['2', null, null, 'NaN', null],
    ]);
    expect(inserts.every((i) => i.relation.name === 't_default' && i.xid === undefined)).toBe(true);
    // Begin's final LSN is the commit record; Commit's end LSN follows it.
    expect(t.commit.commitLsn).toBeGreaterThan(0n);
    expect(compareLsn(t.commit.endLsn, t.commit.commitLsn)).toBe(1);
    expect(t.xid).toBeGreaterThan(0);
  });

  it('replica identity DEFAULT: old key only when the key changes; DELETE carries the key', async () => {
    const t = await oneTransaction(`
      UPDATE t_default SET name = 'renamed' WHERE id = 1;
      UPDATE t_default SET id = 20 WHERE id = 2;
      DELETE FROM t_default WHERE id = 20;`);
    const [same, moved] = only<UpdateMessage>(t, 'update');
    expect(same).toMatchObject({ oldKind: undefined, oldTuple: undefined, newTuple: ['1', 'renamed', 'happy', '12345678.91', 'x'] });
    expect(moved).toMatchObject({ oldKind: 'key', oldTuple: ['2', null, null, null, null], newTuple: ['20', null, null, 'NaN', null] });
    const [deleted] = only<DeleteMessage>(t, 'delete');
    expect(deleted).toMatchObject({ oldKind: 'key', oldTuple: ['20', null, null, null, null] });
  });

  it('replica identity FULL: the whole old row on UPDATE and DELETE', async () => {
    const t = await oneTransaction(`
      INSERT INTO t_full VALUES (1, 'before');
      UPDATE t_full SET name = 'after' WHERE id = 1;
      DELETE FROM t_full WHERE id = 1;`);
    const relation = t.messages.find((m) => m.tag === 'relation');
    expect(relation).toMatchObject({ relation: { name: 't_full', replicaIdentity: 'full' } });
    expect(only<UpdateMessage>(t, 'update')[0]).toMatchObject({ oldKind: 'old', oldTuple: ['1', 'before'], newTuple: ['1', 'after'] });
    expect(only<DeleteMessage>(t, 'delete')[0]).toMatchObject({ oldKind: 'old', oldTuple: ['1', 'after'] });
  });

  it('replica identity USING INDEX: the index columns are the key', async () => {
    const t = await oneTransaction(`
      INSERT INTO t_index VALUES (1, 'c1', 'n1');
      UPDATE t_index SET note = 'n2' WHERE code = 'c1';
      UPDATE t_index SET code = 'c2' WHERE code = 'c1';
      DELETE FROM t_index WHERE code = 'c2';`);
    const relation = t.messages.find((m) => m.tag === 'relation');
    expect(relation).toMatchObject({
      relation: {
        name: 't_index',
        replicaIdentity: 'index',
        columns: [
          { name: 'id', isKey: false },
          { name: 'code', isKey: true },
          { name: 'note', isKey: false },
        ],
      },
    });
    const [noteOnly, keyChange] = only<UpdateMessage>(t, 'update');
    expect(noteOnly).toMatchObject({ oldKind: undefined, oldTuple: undefined, newTuple: ['1', 'c1', 'n2'] });
    expect(keyChange).toMatchObject({ oldKind: 'key', oldTuple: [null, 'c1', null], newTuple: ['1', 'c2', 'n2'] });
    expect(only<DeleteMessage>(t, 'delete')[0]).toMatchObject({ oldKind: 'key', oldTuple: [null, 'c2', null] });
  });

  it('an unchanged TOASTed value arrives as unchanged, not as null', async () => {
    const big = 'x'.repeat(10_000);
    const inserted = await oneTransaction(`INSERT INTO t_toast VALUES (1, repeat('x', 10000), 0)`);
    expect(only<InsertMessage>(inserted, 'insert')[0]?.newTuple).toEqual(['1', big, '0']);
    // The value really lives out of line: that is what makes the server leave it out.
    const [stored] = await query<{ external: boolean }>(
      source,
      db,
      "SELECT pg_relation_size(reltoastrelid) > 0 AS external FROM pg_class WHERE oid = 't_toast'::regclass",
    );
    expect(stored?.external).toBe(true);

    const t = await oneTransaction(`
      UPDATE t_toast SET counter = 1 WHERE id = 1;
      UPDATE t_toast SET big = NULL, counter = 2 WHERE id = 1;`);
    const [untouched, nulled] = only<UpdateMessage>(t, 'update');
    expect(untouched?.newTuple[0]).toBe('1');
    expect(untouched?.newTuple[1]).toBe(UNCHANGED_TOAST);
    expect(untouched?.newTuple[1]).not.toBeNull();
    expect(untouched === undefined ? undefined : isUnchanged(untouched.newTuple[1] as ColumnValue)).toBe(true);
    expect(untouched?.newTuple[2]).toBe('1');
    expect(nulled?.newTuple).toEqual(['1', null, '2']);
    expect(nulled === undefined ? undefined : isUnchanged(nulled.newTuple[1] as ColumnValue)).toBe(false);
  });

  it('quoted, mixed-case and Unicode names', async () => {
    const t = await oneTransaction(`INSERT INTO "Sales Data"."Customer Accounts" VALUES (7, 'Grüße ✓')`);
    const insert = only<InsertMessage>(t, 'insert')[0];
    expect(insert?.relation).toMatchObject({ namespace: 'Sales Data', name: 'Customer Accounts' });
    expect(insert?.relation.columns.map((c) => c.name)).toEqual(['Id', 'Straße']);
    expect(insert?.newTuple).toEqual(['7', 'Grüße ✓']);
  });

  it('TRUNCATE with its options and relations', async () => {
    await oneTransaction('INSERT INTO t_trunc_a VALUES (1); INSERT INTO t_trunc_b DEFAULT VALUES;');
    const both = await oneTransaction('TRUNCATE t_trunc_a, t_trunc_b RESTART IDENTITY CASCADE');
    const truncate = only<TruncateMessage>(both, 'truncate')[0];
    expect(truncate).toMatchObject({ cascade: true, restartIdentity: true, xid: undefined });
    expect(truncate?.relations.map((r) => r.name).sort()).toEqual(['t_trunc_a', 't_trunc_b']);
    expect(truncate?.relationIds).toEqual(truncate?.relations.map((r) => r.relationId));

    const plain = await oneTransaction('TRUNCATE t_trunc_a');
    expect(only<TruncateMessage>(plain, 'truncate')[0]).toMatchObject({ cascade: false, restartIdentity: false, relations: [{ name: 't_trunc_a' }] });
  });

  it('logical decoding messages: transactional inside their transaction, non-transactional at once', async () => {
    const t = await oneTransaction(`
      BEGIN;
      INSERT INTO t_full VALUES (50, 'with message');
      SELECT pg_logical_emit_message(true, 'godwit.test', 'hello ✓');
      COMMIT;`);
    const message = only<LogicalDecodingMessage>(t, 'message')[0];
    expect(message).toMatchObject({ transactional: true, prefix: 'godwit.test', xid: undefined });
    expect(message?.content.toString('utf8')).toBe('hello ✓');
    expect(message?.lsn).toBeGreaterThan(0n);

    await runSql(source, db, `SELECT pg_logical_emit_message(false, 'godwit.nt', '\\x00ff00'::bytea)`);
    const [received] = await readUntil(stream, (m) => m.message.tag === 'message');
    const nonTransactional = received?.message as LogicalDecodingMessage;
    expect(nonTransactional.transactional).toBe(false);
    expect(nonTransactional.prefix).toBe('godwit.nt');
    expect([...nonTransactional.content]).toEqual([0, 255, 0]);
  });

  it('Origin: a transaction replayed under a replication origin names it', async () => {
    const origin = uniqueSlotName('godwit_origin');
    const t = await withSourceSession(db, async (client) => {
      await client.query('SELECT pg_replication_origin_create($1)', [origin]);
      try {
        await client.query('SELECT pg_replication_origin_session_setup($1)', [origin]);
        await client.query('BEGIN');
        await client.query(`SELECT pg_replication_origin_xact_setup('1/ABCDEF', now())`);
        await client.query(`INSERT INTO t_full VALUES (60, 'from elsewhere')`);
        await client.query('COMMIT');
        await client.query('SELECT pg_replication_origin_session_reset()');
        const [transaction] = await readTransactions(stream, 1);
        return transaction;
      } finally {
        await client.query('SELECT pg_replication_origin_drop($1)', [origin]);
      }
    });
    const originMessage = t?.messages.find((m) => m.tag === 'origin') as OriginMessage | undefined;
    expect(originMessage).toEqual({ tag: 'origin', name: origin, originLsn: 0x1_00ab_cdefn });
    expect(only<InsertMessage>(t as Transaction, 'insert')[0]?.newTuple).toEqual(['60', 'from elsewhere']);
  });

  it('binary mode: values arrive as the types\' binary form', async () => {
    const binaryConnection = await openReplication(db);
    const slot = uniqueSlotName('decode_bin');
    slots.push(slot);
    try {
      const created = await binaryConnection.createSlot(slot, { snapshot: 'nothing', temporary: true });
      const binaryStream = await binaryConnection.startReplication({
        slotName: slot,
        startLsn: created.consistentPoint,
        publicationNames: ['godwit_pub'],
        binary: true,
      });
      await runSql(source, db, `INSERT INTO t_binary VALUES (258, '\\x000102'::bytea, NULL)`);
      const [t] = await readTransactions(binaryStream, 1);
      const insert = t?.changes.find((c) => c.tag === 'insert') as InsertMessage;
      expect(insert.newTuple[0]).toEqual(Buffer.from([0, 0, 1, 2]));
      expect(insert.newTuple[1]).toEqual(Buffer.from([0, 1, 2]));
      expect(insert.newTuple[2]).toBeNull();
      await binaryStream.stop();
    } finally {
      await binaryConnection.close();
    }
  });
});
