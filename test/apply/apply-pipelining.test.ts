// A channel plans its next transaction while the one before runs on the target (apply-channel.ts),
// assuming that one commits: the prepared transaction records `from` = the running one's `to`, and the
// bookkeeping refuses it if that is not what the target holds. These tests make the running
// transaction fail while the next one waits: once in a way that is retried (its connection killed
// while it waits for a lock), once for good (a row the target refuses). Either way each event is
// applied exactly once, and nothing of the prepared transaction lands before the one it follows.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { ChangeInput } from '../../src/core/change-event.js';
import { adminConfig, query, runSql, servers } from '../harness/index.js';
import { applyQueue, ins, newMigrationId, testQueues, writeTransactions } from './apply-helpers.js';
import { applyFixture } from './apply-fixture.js';

const ITEMS = { schema: 'public', name: 'items' };
const BATCH = 10;
const EVENTS = 3 * BATCH;

/** One single-insert transaction per event; `bad` ids get a value the CHECK constraint refuses. */
function insertTransactions(firstId: number, bad: ReadonlySet<number> = new Set()): ChangeInput[][] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const id = firstId + i;
    return [ins(ITEMS, ['id'], ['id', 'v'], [String(id), bad.has(id) ? 'bad' : `v${id}`])];
  });
}

async function itemsBetween(server: Parameters<typeof query>[0], db: string, low: number, high: number): Promise<{ n: number; ok: boolean | null }> {
  const rows = await query<{ n: number; ok: boolean | null }>(server, db, `SELECT count(*)::int AS n, bool_and(v = 'v' || id) AS ok FROM items WHERE id BETWEEN ${low} AND ${high}`);
  return rows[0] as { n: number; ok: boolean | null };
}

describe('apply channel pipelining', () => {
  const { target } = servers();
  const fx = applyFixture(target, 'apply_pipe', "CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL CONSTRAINT not_bad CHECK (v <> 'bad'))");
  // Each test its own queue (the fixture's sessions and database are shared).
  const queues = testQueues('apply-pipe');
  afterAll(() => queues.close());

  it('commits the prepared transaction after the one before it was retried on a new connection', async () => {
    const { place, store } = queues.fresh();
    const last = await writeTransactions(store, place.queueDir, insertTransactions(1));
    const blocker = new pg.Client(adminConfig(target, fx.db));
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const applying = applyQueue(store, place.queueDir, fx.sessions, newMigrationId(), last, {
        channels: 1,
        batchSize: BATCH,
        retry: { attempts: 5, baseDelayMs: 20, maxDelayMs: 100 },
      });
      applying.catch(() => undefined);
      // The channel's first transaction waits for the lock (and its next one is planned meanwhile): kill its session.
      let waiting: number | undefined;
      for (let i = 0; i < 400 && waiting === undefined; i++) {
        const rows = await query<{ pid: number }>(target, fx.db, "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        waiting = rows[0]?.pid;
        if (waiting === undefined) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(waiting, 'a channel transaction waiting for the lock').toBeDefined();
      await query(target, fx.db, `SELECT pg_terminate_backend(${waiting})`);
      await blocker.query('ROLLBACK');
      const progress = await applying;
      expect(progress.appliedThroughVsn).toBe(last);
      expect(progress.eventsApplied).toBe(EVENTS);
      expect(progress.transactions).toBeGreaterThanOrEqual(EVENTS / BATCH);
    } finally {
      await blocker.end();
    }
    expect(await itemsBetween(target, fx.db, 1, EVENTS)).toEqual({ n: EVENTS, ok: true });
  });

  it('runs nothing of the prepared transaction when the one before fails, and applies everything once when run again', async () => {
    const firstId = 1001;
    // The 15th event is refused by the target: its transaction fails, and the channel with it.
    const badId = firstId + 14;
    const { place, store } = queues.fresh();
    const last = await writeTransactions(store, place.queueDir, insertTransactions(firstId, new Set([badId])));
    const migrationId = newMigrationId();
    const options = { channels: 1, batchSize: BATCH };
    await expect(applyQueue(store, place.queueDir, fx.sessions, migrationId, last, options)).rejects.toThrow(/not_bad/);
    // What landed is the transactions before the failed one: ids below the bad one, without a gap.
    const landed = (await query<{ n: number; top: number | null }>(target, fx.db, `SELECT count(*)::int AS n, max(id) AS top FROM items WHERE id >= ${firstId}`))[0];
    expect(landed?.top ?? firstId - 1).toBeLessThan(badId);
    expect(landed?.n).toBe((landed?.top ?? firstId - 1) - firstId + 1);

    await runSql(target, fx.db, 'ALTER TABLE items DROP CONSTRAINT not_bad');
    const progress = await applyQueue(store, place.queueDir, fx.sessions, migrationId, last, options);
    expect(progress.appliedThroughVsn).toBe(last);
    const rows = await query<{ n: number; bad: number }>(
      target,
      fx.db,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE v <> 'v' || id)::int AS bad FROM items WHERE id BETWEEN ${firstId} AND ${firstId + EVENTS - 1}`,
    );
    expect(rows).toEqual([{ n: EVENTS, bad: 1 }]);
  });
});
