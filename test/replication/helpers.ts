// Shared by the replication tests: replication connections to the harness's PostgreSQL 15 source,
// unique slot names, reading a stream until a condition with a deadline, grouping messages into
// transactions, and polling the server's view of a slot.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { expect } from 'vitest';
import { parseLsn, type Lsn } from '../../src/core/lsn.js';
import type { Logger } from '../../src/core/logger.js';
import {
  ReplicationConnection,
  type CommitMessage,
  type PgoutputMessage,
  type ReplicationMessage,
  type ReplicationStream,
  type StreamCommitMessage,
  type XLogDataMessage,
} from '../../src/engines/postgres/replication/index.js';
import { adminConfig, databaseSettings, query, servers, type HarnessServer } from '../harness/index.js';

export const source: HarnessServer = servers().source;

/** A slot name no other test uses. */
export function uniqueSlotName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A replication connection (walsender, database mode) to `database` on the source. */
export function openReplication(database: string, logger?: Logger): Promise<ReplicationConnection> {
  return ReplicationConnection.open(databaseSettings(source, database), {
    applicationName: 'godwit replication test',
    logger,
    retry: { attempts: 1 },
  });
}

/** Runs SQL in one session that stays open (origins, session settings, several statements). */
export async function withSourceSession<T>(database: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(adminConfig(source, database));
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Reads the stream until `done` says so for an XLogData message; keepalives are skipped. Fails after `timeoutMs`. */
export async function readUntil(
  stream: ReplicationStream,
  done: (message: XLogDataMessage, all: XLogDataMessage[]) => boolean,
  timeoutMs = 30_000,
): Promise<XLogDataMessage[]> {
  const all: XLogDataMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new Error(`timed out; got ${all.length} messages: ${summary(all)}`);
    const message = await nextWithin(stream, remaining);
    if (message === undefined) throw new Error(`the stream ended; got ${all.length} messages: ${summary(all)}`);
    if (message.kind !== 'xlogdata') continue;
    all.push(message);
    if (done(message, all)) return all;
  }
}

/** The next message of any kind, or a timeout error. */
export async function nextWithin(stream: ReplicationStream, timeoutMs: number): Promise<ReplicationMessage | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no message within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([stream.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A transaction as the stream delivered it (non-streamed: Begin ... Commit). */
export interface Transaction {
  xid: number;
  messages: PgoutputMessage[];
  /** Changes only (insert, update, delete, truncate, message). */
  changes: PgoutputMessage[];
  commit: CommitMessage | StreamCommitMessage;
  /** walStart of every message, in order. */
  walStarts: Lsn[];
}

const CHANGE_TAGS = new Set(['insert', 'update', 'delete', 'truncate', 'message']);

/** Reads `count` complete non-streamed transactions (Begin ... Commit); other messages in between are ignored. */
export async function readTransactions(stream: ReplicationStream, count: number, timeoutMs = 30_000): Promise<Transaction[]> {
  const transactions: Transaction[] = [];
  let current: { xid: number; messages: PgoutputMessage[]; walStarts: Lsn[] } | undefined;
  await readUntil(
    stream,
    (m) => {
      const message = m.message;
      if (message.tag === 'begin') {
        current = { xid: message.xid, messages: [], walStarts: [] };
        return false;
      }
      if (current === undefined) return false;
      if (message.tag === 'commit') {
        transactions.push({
          xid: current.xid,
          messages: current.messages,
          changes: current.messages.filter((x) => CHANGE_TAGS.has(x.tag)),
          commit: message,
          walStarts: current.walStarts,
        });
        current = undefined;
        return transactions.length >= count;
      }
      current.messages.push(message);
      current.walStarts.push(m.walStart);
      return false;
    },
    timeoutMs,
  );
  return transactions;
}

/** The first column of every insert of a transaction (the test tables put the id there). */
export function insertedIds(transactions: Transaction[]): string[] {
  return transactions.flatMap((t) => t.changes.flatMap((c) => (c.tag === 'insert' ? [String(c.newTuple[0])] : [])));
}

/** The server's view of a slot. */
export async function slotRow(slotName: string): Promise<{ confirmedFlushLsn: Lsn | undefined; active: boolean; walStatus: string | null }> {
  const rows = await query<{ confirmed_flush_lsn: string | null; active: boolean; wal_status: string | null }>(
    source,
    'postgres',
    'SELECT confirmed_flush_lsn::text, active, wal_status FROM pg_replication_slots WHERE slot_name = $1',
    [slotName],
  );
  const row = rows[0];
  if (row === undefined) throw new Error(`slot ${slotName} does not exist`);
  return {
    confirmedFlushLsn: row.confirmed_flush_lsn === null ? undefined : parseLsn(row.confirmed_flush_lsn),
    active: row.active,
    walStatus: row.wal_status,
  };
}

/** Polls until `check` passes (it throws while not), or fails with its last error. */
export async function eventually(check: () => Promise<void>, timeoutMs = 10_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Waits until the slot is no longer held by a walsender (after a stop or a kill). */
export async function waitSlotInactive(slotName: string): Promise<void> {
  await eventually(async () => {
    expect((await slotRow(slotName)).active).toBe(false);
  });
}

/** Drops slots left by a test, ending their walsenders first. */
export async function dropSlots(names: string[]): Promise<void> {
  if (names.length === 0) return;
  const client = new pg.Client(adminConfig(source));
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = ANY($1) AND active_pid IS NOT NULL', [names]);
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1)', [names]);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await client.end();
  }
}

function summary(messages: XLogDataMessage[]): string {
  return messages.map((m) => m.message.tag).join(',').slice(0, 2000);
}
