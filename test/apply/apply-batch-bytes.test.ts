// The apply's byte budget (apply-engine.ts, DEFAULT_APPLY_BATCH_BYTES): a channel's queue and each of
// its transactions hold events up to a number of bytes, not only up to a number of events, so that
// wide rows do not fill the importer's memory (and its garbage collector's work) with thousands of
// queued values. Without the budget, the 30 rows below go in 2 transactions.
import { describe, expect, it } from 'vitest';
import type { ChangeInput } from '../../src/core/change-event.js';
import { query, servers } from '../harness/index.js';
import { applyQueue, ins, newMigrationId, writeTransactions } from './apply-helpers.js';
import { applyFixture } from './apply-fixture.js';

const WIDE = { schema: 'public', name: 'wide' };
const ROWS = 30;
const PAYLOAD = 40_000;

describe('apply byte budget', () => {
  const { target } = servers();
  const fx = applyFixture(target, 'apply_bytes', 'CREATE TABLE wide (id int PRIMARY KEY, payload text NOT NULL)');

  it('cuts channel transactions at the byte budget and applies every row whole', async () => {
    const transactions: ChangeInput[][] = [];
    for (let id = 1; id <= ROWS; id++) transactions.push([ins(WIDE, ['id'], ['id', 'payload'], [String(id), `${id}:`.padEnd(PAYLOAD, String.fromCharCode(97 + (id % 26)))])]);
    const last = await writeTransactions(fx.store, fx.place.queueDir, transactions);
    // 40 kB events, a 100 kB budget: three events per transaction (the third one crosses it).
    const progress = await applyQueue(fx.store, fx.place.queueDir, fx.sessions, newMigrationId(), last, { channels: 1, batchSize: 1000, batchBytes: 100_000 });
    expect(progress.appliedThroughVsn).toBe(last);
    expect(progress.eventsApplied).toBe(ROWS);
    expect(progress.transactions).toBeGreaterThanOrEqual(ROWS / 3);
    const rows = await query<{ n: number; bytes: number; ok: boolean }>(
      target,
      fx.db,
      `SELECT count(*)::int AS n, sum(length(payload))::int AS bytes, bool_and(payload LIKE id || ':%') AS ok FROM wide`,
    );
    expect(rows).toEqual([{ n: ROWS, bytes: ROWS * PAYLOAD, ok: true }]);
  });
});
