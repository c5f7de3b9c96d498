// Backpressure against PostgreSQL 15: while the consumer reads nothing, the client holds only a
// bounded number of bytes and the server stops sending (its sent position stalls far behind the
// end of WAL); when the consumer reads again, every change of the backlog arrives, in order, read in
// the backlog mode (copy-both-query.ts).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLsn, parseLsn } from '../../src/core/lsn.js';
import type { ReplicationConnection } from '../../src/engines/postgres/replication/index.js';
import { createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import { dropSlots, eventually, nextWithin, openReplication, slotRow, source, uniqueSlotName } from './helpers.js';

const TRANSACTIONS = 2_000;
const ROWS_PER_TRANSACTION = 100;
const ROWS = TRANSACTIONS * ROWS_PER_TRANSACTION;
/** The consumer pauses 10 times, each time until the server has filled the socket buffers and waits. */
const PAUSE_EVERY_INSERTS = 20_000;

let db: string;
const slots: string[] = [];
let connection: ReplicationConnection | undefined;

beforeAll(async () => {
  db = await createDatabase(source, 'repl_backpressure');
  await runSql(source, db, `
    CREATE TABLE load (id int PRIMARY KEY, payload text);
    CREATE PUBLICATION godwit_pub FOR TABLE load;`);
});

afterAll(async () => {
  await connection?.close();
  await dropSlots(slots);
  if (db) await dropDatabase(source, db);
});

/**
 * Waits until the walsender stops sending (its sent position holds still between polls): the socket
 * buffers between it and the paused consumer are full, whatever the machine's pace, so the reads
 * after the pause find the server ahead.
 */
async function untilServerWaits(pid: number): Promise<void> {
  let before = (await positions(pid)).sent;
  for (let polls = 0; polls < 200; polls++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = await positions(pid);
    if (now.sent === before || now.sent >= now.current) return;
    before = now.sent;
  }
  throw new Error('the walsender never stopped sending while the consumer read nothing');
}

async function positions(pid: number): Promise<{ sent: bigint; current: bigint }> {
  const [row] = await query<{ sent: string; current: string }>(
    source,
    'postgres',
    'SELECT sent_lsn::text AS sent, pg_current_wal_lsn()::text AS current FROM pg_stat_replication WHERE pid = $1',
    [pid],
  );
  if (row === undefined) throw new Error('the walsender is gone');
  return { sent: parseLsn(row.sent), current: parseLsn(row.current) };
}

describe('backpressure', () => {
  it('a consumer that stops reading stops the server; nothing piles up in the client', async () => {
    connection = await openReplication(db);
    const slot = uniqueSlotName('backpressure');
    slots.push(slot);
    const created = await connection.createSlot(slot, { snapshot: 'nothing' });
    const stream = await connection.startReplication({ slotName: slot, startLsn: created.consistentPoint, publicationNames: ['godwit_pub'] });
    const [walsender] = await query<{ pid: number }>(source, 'postgres', 'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);

    // About 60 MB of pgoutput messages in 2,000 transactions, written while nobody reads.
    await runSql(source, db, `
      DO $$
      BEGIN
        FOR t IN 0..${TRANSACTIONS - 1} LOOP
          INSERT INTO load SELECT g, repeat('p', 250) FROM generate_series(t * ${ROWS_PER_TRANSACTION} + 1, (t + 1) * ${ROWS_PER_TRANSACTION}) g;
          COMMIT;
        END LOOP;
      END $$;`);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stalled = await positions(walsender!.pid);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const later = await positions(walsender!.pid);
    // The server is blocked: it has not sent the backlog and does not advance.
    expect(stalled.sent).toBeLessThan(stalled.current);
    expect(formatLsn(later.sent)).toBe(formatLsn(stalled.sent));
    // The client holds at most about one socket read.
    expect(stream.stats.bufferedBytes).toBeLessThan(1024 * 1024);
    expect(stream.stats.xlogDataMessages).toBe(0);

    // The consumer pauses now and then, until the server waits, so that the server is ahead whatever
    // the machine's pace: the socket buffers are full and the reads after each pause are big ones.
    let inserts = 0;
    let lastId = 0;
    let inOrder = true;
    let maxBuffered = 0;
    let commits = 0;
    let lastEnd = 0n;
    const pauses: number[] = [];
    const deadline = Date.now() + 120_000;
    while (commits < TRANSACTIONS) {
      const next = await nextWithin(stream, Math.max(1, deadline - Date.now()));
      if (next === undefined) throw new Error(`the stream ended after ${commits} transactions`);
      if (next.kind !== 'xlogdata') continue;
      maxBuffered = Math.max(maxBuffered, stream.stats.bufferedBytes);
      const m = next.message;
      if (m.tag === 'insert') {
        inserts++;
        const id = Number(m.newTuple[0]);
        if (id !== lastId + 1) inOrder = false;
        lastId = id;
        if (inserts % PAUSE_EVERY_INSERTS === 0) {
          pauses.push(stream.stats.backlogReads);
          await untilServerWaits(walsender!.pid);
        }
      }
      if (m.tag === 'commit') {
        commits++;
        lastEnd = m.endLsn;
      }
    }
    expect(inserts).toBe(ROWS);
    expect(inOrder).toBe(true);
    // The backlog is read in the backlog mode (no gather wait between big reads).
    console.log(`backpressure: ${stream.stats.backlogReads} reads in the backlog mode (${pauses.join(', ')} at each pause), at most ${maxBuffered} bytes buffered`);
    expect(stream.stats.backlogReads).toBeGreaterThan(10);
    expect(maxBuffered).toBeLessThan(2 * 1024 * 1024);

    stream.confirmFlushed(lastEnd);
    await eventually(async () => {
      expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(lastEnd));
    });
    await stream.stop();
  });
});
