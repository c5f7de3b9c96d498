// Invariant 2 at the engine level, against PostgreSQL 15: the server learns only the flush position
// the owner confirmed (never one taken from keepalives or received data, never advanced by the
// timer), a restart from a confirmed position redelivers exactly the transactions after it, a lost
// connection is a resumable typed error, and keepalives that ask for a reply are answered so a short
// wal_sender_timeout does not end the stream.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLsn, type Lsn } from '../../src/core/lsn.js';
import { ReplicationError, type ReplicationConnection } from '../../src/engines/postgres/replication/index.js';
import { adminConfig, createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import {
  dropSlots,
  eventually,
  insertedIds,
  nextWithin,
  openReplication,
  readTransactions,
  slotRow,
  source,
  uniqueSlotName,
  waitSlotInactive,
} from './helpers.js';

let db: string;
const slots: string[] = [];
const connections: ReplicationConnection[] = [];

beforeAll(async () => {
  db = await createDatabase(source, 'repl_ack');
  await runSql(source, db, `
    CREATE TABLE items (id int PRIMARY KEY, note text);
    CREATE PUBLICATION godwit_pub FOR TABLE items;`);
});

afterAll(async () => {
  for (const connection of connections) await connection.close();
  await dropSlots(slots);
  if (db) await dropDatabase(source, db);
});

async function open(): Promise<ReplicationConnection> {
  const connection = await openReplication(db);
  connections.push(connection);
  return connection;
}

async function newSlot(connection: ReplicationConnection, prefix: string): Promise<{ slot: string; start: Lsn }> {
  const slot = uniqueSlotName(prefix);
  slots.push(slot);
  const created = await connection.createSlot(slot, { snapshot: 'nothing' });
  return { slot, start: created.consistentPoint };
}

async function insertEach(ids: number[]): Promise<void> {
  // One transaction per row.
  for (const id of ids) await runSql(source, db, `INSERT INTO items VALUES (${id}, 'row ${id}')`);
}

async function expectConfirmed(slot: string, lsn: Lsn): Promise<void> {
  await eventually(async () => {
    expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(lsn));
  });
}

async function walsenderPid(slot: string): Promise<number> {
  let pid: number | undefined;
  await eventually(async () => {
    const rows = await query<{ active_pid: number | null }>(source, 'postgres', 'SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    pid = rows[0]?.active_pid ?? undefined;
    expect(pid).toBeDefined();
  });
  return pid as number;
}

describe('acknowledgement', () => {
  it('reports to the server only what the owner confirmed, whatever keepalives and the timer do', async () => {
    const connection = await open();
    const { slot, start } = await newSlot(connection, 'ack_only');
    // The server asks for a reply every 0.5 s; the client repeats its status every 100 ms.
    await connection.client.query(`SET wal_sender_timeout = '1s'`);
    const stream = await connection.startReplication({
      slotName: slot,
      startLsn: start,
      publicationNames: ['godwit_pub'],
      timing: { statusIntervalMs: 100 },
    });
    await insertEach([1, 2, 3]);
    const [first, second, third] = await readTransactions(stream, 3);
    expect(insertedIds([first!, second!, third!])).toEqual(['1', '2', '3']);

    // Everything received, nothing confirmed: the slot stays at its creation point.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(stream.stats.statusUpdatesSent).toBeGreaterThan(5);
    expect(stream.stats.keepalives).toBeGreaterThan(0);
    expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(start));

    // The owner confirms the first transaction: exactly that, and it stays there.
    stream.confirmFlushed(first!.commit.endLsn);
    await expectConfirmed(slot, first!.commit.endLsn);
    const [reported] = await query<{ flush_lsn: string | null }>(
      source,
      'postgres',
      'SELECT flush_lsn::text FROM pg_stat_replication WHERE pid = (SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1)',
      [slot],
    );
    expect(reported?.flush_lsn).toBe(formatLsn(first!.commit.endLsn));
    // Messages keep arriving (newer WAL, keepalives): the confirmed position does not follow them.
    await insertEach([4]);
    await readTransactions(stream, 1);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(first!.commit.endLsn));

    // Lower positions never move it back.
    stream.confirmFlushed(start);
    expect(stream.confirmedFlushLsn).toBe(first!.commit.endLsn);
    await stream.stop();
  });

  it('a restart from the confirmed position redelivers exactly the transactions after it', async () => {
    const connection = await open();
    const { slot, start } = await newSlot(connection, 'ack_restart');
    const options = { slotName: slot, publicationNames: ['godwit_pub'] };

    let stream = await connection.startReplication({ ...options, startLsn: start });
    await insertEach([101, 102, 103]);
    const round1 = await readTransactions(stream, 3);
    expect(insertedIds(round1)).toEqual(['101', '102', '103']);
    stream.confirmFlushed(round1[0]!.commit.endLsn);
    await stream.stop();
    await expectConfirmed(slot, round1[0]!.commit.endLsn);

    // A walsender serves one logical stream per session: the restart takes a new connection.
    await expect(connection.startReplication({ ...options, startLsn: round1[0]!.commit.endLsn })).rejects.toMatchObject({
      reason: 'not-supported',
    });
    stream = await (await open()).startReplication({ ...options, startLsn: round1[0]!.commit.endLsn });
    await insertEach([104]);
    const round2 = await readTransactions(stream, 3);
    expect(insertedIds(round2)).toEqual(['102', '103', '104']);
    expect(round2.map((t) => t.xid)).toEqual([round1[1]!.xid, round1[2]!.xid, round2[2]!.xid]);
    stream.confirmFlushed(round2[1]!.commit.endLsn); // up to 103
    await expectConfirmed(slot, round2[1]!.commit.endLsn);

    // A crash: the socket closes without CopyDone. 0/0 lets the server start at its confirmed position.
    stream.destroy();
    await waitSlotInactive(slot);
    const second = await open();
    stream = await second.startReplication({ ...options, startLsn: 0n });
    await insertEach([105]);
    const round3 = await readTransactions(stream, 2);
    expect(insertedIds(round3)).toEqual(['104', '105']);
    await stream.stop();
  });

  it('a terminated walsender is a resumable connection-lost error, and the stream resumes from the slot', async () => {
    const connection = await open();
    const { slot, start } = await newSlot(connection, 'ack_lost');
    const stream = await connection.startReplication({ slotName: slot, startLsn: start, publicationNames: ['godwit_pub'] });
    await insertEach([201, 202]);
    const [first] = await readTransactions(stream, 2);
    stream.confirmFlushed(first!.commit.endLsn);
    await expectConfirmed(slot, first!.commit.endLsn);

    // The consumer keeps reading (keepalives) while the server ends the session.
    const pending = (async (): Promise<unknown> => {
      try {
        for (;;) await stream.next();
      } catch (error) {
        return error;
      }
    })();
    await runSql(source, 'postgres', `SELECT pg_terminate_backend(${await walsenderPid(slot)})`);
    const error = await pending;
    expect(error).toBeInstanceOf(ReplicationError);
    expect(error).toMatchObject({ reason: 'connection-lost', resumable: true, exitCode: 3 });
    await expect(stream.next()).rejects.toBe(error);
    await stream.stop(); // never throws, even on a dead connection

    await waitSlotInactive(slot);
    const again = await open();
    const resumed = await again.startReplication({ slotName: slot, startLsn: first!.commit.endLsn, publicationNames: ['godwit_pub'] });
    await insertEach([203]);
    expect(insertedIds(await readTransactions(resumed, 2))).toEqual(['202', '203']);
    await resumed.stop();
  });

  it('answers keepalives, so a short wal_sender_timeout does not end an idle stream', async () => {
    // Control: the same setting ends a session that never answers (a plain pg client streaming without replies).
    const mute = new pg.Client({ ...adminConfig(source, db), replication: 'database' } as pg.ClientConfig);
    mute.on('error', () => undefined);
    await mute.connect();
    const muteConnection = await open();
    const muteSlot = await newSlot(muteConnection, 'ack_mute');
    await muteConnection.close();
    await mute.query(`SET wal_sender_timeout = '1s'`);
    const started = Date.now();
    const muteOutcome = await mute
      .query(`START_REPLICATION SLOT ${muteSlot.slot} LOGICAL ${formatLsn(muteSlot.start)} (proto_version '1', publication_names 'godwit_pub')`)
      .then(
        () => 'ended normally',
        (error: unknown) => String(error),
      );
    expect(muteOutcome).toMatch(/terminated|timeout/i);
    expect(Date.now() - started).toBeLessThan(15_000);
    await mute.end().catch(() => undefined);

    const connection = await open();
    const { slot, start } = await newSlot(connection, 'ack_alive');
    await connection.client.query(`SET wal_sender_timeout = '1s'`);
    // The periodic status is rare here: only the keepalive replies can keep the session alive.
    const stream = await connection.startReplication({
      slotName: slot,
      startLsn: start,
      publicationNames: ['godwit_pub'],
      timing: { statusIntervalMs: 60_000, receiveTimeoutMs: 0 },
    });
    const pid = await walsenderPid(slot);
    const replyTime = async (): Promise<number> => {
      const [row] = await query<{ t: string | null }>(source, 'postgres', 'SELECT extract(epoch FROM reply_time)::text AS t FROM pg_stat_replication WHERE pid = $1', [pid]);
      return Number(row?.t ?? 0);
    };
    // Idle for 4 s while the consumer waits for data, as an idle capture does.
    const idleUntil = Date.now() + 4_000;
    let firstReply: number | undefined;
    while (Date.now() < idleUntil) {
      await nextWithin(stream, 500).catch(() => undefined);
      if (firstReply === undefined && Date.now() > idleUntil - 2_000) firstReply = await replyTime();
    }
    expect(firstReply).toBeGreaterThan(0);
    expect(await replyTime()).toBeGreaterThan(firstReply!);
    expect(stream.stats.keepaliveReplies).toBeGreaterThan(2);
    expect(stream.stats.statusUpdatesSent).toBe(stream.stats.keepaliveReplies + 1); // + the one at start
    // Still the same session, still streaming.
    expect(await walsenderPid(slot)).toBe(pid);
    await insertEach([301]);
    expect(insertedIds(await readTransactions(stream, 1))).toEqual(['301']);
    await stream.stop();
  });

  // SIGSTOP of the walsender, which runs as the postgres OS user, needs root; CI runs as root.
  it.skipIf(process.getuid?.() !== 0)('a server that goes silent is a lost connection after the receive timeout', async () => {
    const connection = await open();
    const { slot, start } = await newSlot(connection, 'ack_silent');
    const stream = await connection.startReplication({
      slotName: slot,
      startLsn: start,
      publicationNames: ['godwit_pub'],
      timing: { receiveTimeoutMs: 2_000 },
    });
    const pid = await walsenderPid(slot);
    // Freeze the walsender (the harness runs the server as another OS user; root may signal it).
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const error = await (async (): Promise<unknown> => {
        try {
          for (;;) await stream.next();
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toMatchObject({ reason: 'connection-lost', resumable: true });
      expect((error as Error).message).toContain('sent nothing on the replication stream');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await stream.stop();
  });

  it('keeps a short wal_sender_timeout session alive while the consumer is busy (status interval follows the server)', async () => {
    const connection = await open();
    const { slot, start } = await newSlot(connection, 'ack_busy');
    await connection.client.query(`SET wal_sender_timeout = '1s'`);
    const stream = await connection.startReplication({ slotName: slot, startLsn: start, publicationNames: ['godwit_pub'] });
    const pid = await walsenderPid(slot);
    await insertEach([401, 402]);
    // The consumer reads nothing for 3 s: no keepalive is even seen, only the timer speaks.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(stream.stats.statusUpdatesSent).toBeGreaterThanOrEqual(6);
    expect(await walsenderPid(slot)).toBe(pid);
    expect(insertedIds(await readTransactions(stream, 2))).toEqual(['401', '402']);
    // Still nothing confirmed.
    expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(start));
    await stream.stop();
  });
});
