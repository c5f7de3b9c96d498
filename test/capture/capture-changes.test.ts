// Row changes from PostgreSQL 15 into the queue: inserts, updates and deletes with NULLs and quoted
// names, an UPDATE that leaves a TOASTed value unchanged (UNCHANGED, never NULL), a primary-key
// change (the old key travels), and a row moving between partitions of a table published through its
// root (a DELETE and an INSERT of the root). Each transaction's events share its commit LSN and xid,
// in commit order, with contiguous vsns; the metrics count what is durable.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptureMetrics } from '../../src/capture/index.js';
import { UNCHANGED } from '../../src/core/change-event.js';
import { parseLsn } from '../../src/core/lsn.js';
import { query } from '../harness/index.js';
import { assertContiguous, eventually, queueHead, readQueue, setupCapture, slotConfirmed, source, startCapture, summary, waitForVsn, type CaptureSetup } from './helpers.js';

const SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, name text, qty int);
  CREATE TABLE docs (id int PRIMARY KEY, body text, counter int);
  ALTER TABLE docs ALTER COLUMN body SET STORAGE EXTERNAL;
  CREATE TABLE measurements (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
  CREATE TABLE measurements_eu PARTITION OF measurements FOR VALUES IN ('eu');
  CREATE TABLE measurements_us PARTITION OF measurements FOR VALUES IN ('us');
  CREATE SCHEMA "Sales Data";
  CREATE TABLE "Sales Data"."Customer Accounts" ("Id" int PRIMARY KEY, "Straße" text);
  CREATE TABLE not_published (id int PRIMARY KEY);
`;

let setup: CaptureSetup;

beforeAll(async () => {
  setup = await setupCapture('changes', SCHEMA, `items, docs, measurements, "Sales Data"."Customer Accounts"`);
});

afterAll(async () => {
  await setup?.cleanup();
});

describe('capture of row changes', () => {
  it('turns inserts, updates and deletes into queue events, whole transactions in commit order', async () => {
    const progress: CaptureMetrics[] = [];
    const capture = await startCapture(setup, { onProgress: (metrics) => progress.push(metrics) });
    const big = 'toast-'.repeat(20_000); // 120 kB stored out of line, uncompressed (STORAGE EXTERNAL)
    await setup.sql(`INSERT INTO items VALUES (1, 'a''b, "c"', 10), (2, NULL, 20)`);
    await setup.sql(`BEGIN; UPDATE items SET qty = 11 WHERE id = 1; DELETE FROM items WHERE id = 2; COMMIT`);
    await setup.sql(`UPDATE items SET id = 100 WHERE id = 1`);
    await setup.sql(`INSERT INTO docs VALUES (1, '${big}', 0)`);
    await setup.sql(`UPDATE docs SET counter = 1 WHERE id = 1`);
    await setup.sql(`INSERT INTO not_published VALUES (1)`);
    await setup.sql(`INSERT INTO measurements VALUES (1, 'eu', 'x')`);
    await setup.sql(`UPDATE measurements SET region = 'us' WHERE id = 1`);
    await setup.sql(`INSERT INTO "Sales Data"."Customer Accounts" VALUES (7, 'Grüße')`);
    await waitForVsn(setup.store, 11);
    const result = await capture.stop();

    const events = await readQueue(setup.store, setup.queueDir);
    assertContiguous(events);
    expect(events.map(summary)).toEqual([
      { table: 'public.items', op: 'insert', key: ['id'], new: { id: '1', name: `a'b, "c"`, qty: '10' }, old: null },
      { table: 'public.items', op: 'insert', key: ['id'], new: { id: '2', name: null, qty: '20' }, old: null },
      { table: 'public.items', op: 'update', key: ['id'], new: { id: '1', name: `a'b, "c"`, qty: '11' }, old: null },
      { table: 'public.items', op: 'delete', key: ['id'], new: null, old: ['2'] },
      { table: 'public.items', op: 'update', key: ['id'], new: { id: '100', name: `a'b, "c"`, qty: '11' }, old: ['1'] },
      { table: 'public.docs', op: 'insert', key: ['id'], new: { id: '1', body: big, counter: '0' }, old: null },
      { table: 'public.docs', op: 'update', key: ['id'], new: { id: '1', body: UNCHANGED, counter: '1' }, old: null },
      { table: 'public.measurements', op: 'insert', key: ['id', 'region'], new: { id: '1', region: 'eu', v: 'x' }, old: null },
      { table: 'public.measurements', op: 'delete', key: ['id', 'region'], new: null, old: ['1', 'eu'] },
      { table: 'public.measurements', op: 'insert', key: ['id', 'region'], new: { id: '1', region: 'us', v: 'x' }, old: null },
      { table: 'Sales Data.Customer Accounts', op: 'insert', key: ['Id'], new: { Id: '7', Straße: 'Grüße' }, old: null },
    ]);

    // Transactions: [1,2] [3,4] [5] [6] [7] [8] [9,10] [11]; one commit LSN and xid each, increasing.
    const groups = [[1, 2], [3, 4], [5], [6], [7], [8], [9, 10], [11]];
    const commitLsns = groups.map((vsns) => {
      const first = events[(vsns[0] as number) - 1]!;
      for (const vsn of vsns) expect({ lsn: events[vsn - 1]!.commitLsn, xid: events[vsn - 1]!.xid }).toEqual({ lsn: first.commitLsn, xid: first.xid });
      return parseLsn(first.commitLsn);
    });
    for (let i = 1; i < commitLsns.length; i += 1) expect(commitLsns[i]! > commitLsns[i - 1]!).toBe(true);
    for (const event of events) expect(Math.abs((event.commitTimeMs ?? 0) - Date.now())).toBeLessThan(120_000);

    // The slot was told the end of the last transaction, and the queue recorded the same end.
    const head = queueHead(setup.store);
    expect(result.durable).toEqual({ lastVsn: 11, endLsn: head.lastEndLsn });
    await eventually(async () => expect((await slotConfirmed(setup.slot))! >= parseLsn(head.lastEndLsn!)).toBe(true));

    // Metrics: durable figures only, per table.
    expect(result.metrics).toMatchObject({ totalEvents: 11, eventsThisRun: 11, transactionsThisRun: 8, skippedTransactions: 0 });
    expect(result.metrics.tables).toEqual([
      { table: { schema: 'public', name: 'items' }, inserts: 2, updates: 2, deletes: 1 },
      { table: { schema: 'public', name: 'docs' }, inserts: 1, updates: 1, deletes: 0 },
      { table: { schema: 'public', name: 'measurements' }, inserts: 2, updates: 0, deletes: 1 },
      { table: { schema: 'Sales Data', name: 'Customer Accounts' }, inserts: 1, updates: 0, deletes: 0 },
    ]);
    expect(progress.length).toBeGreaterThan(0);
    for (let i = 1; i < progress.length; i += 1) expect(progress[i]!.totalEvents).toBeGreaterThanOrEqual(progress[i - 1]!.totalEvents);
    expect(result.metrics.lastCommitTimeMs).toBe(events[10]!.commitTimeMs);
  });

  it('acknowledges keepalive positions while idle, so the slot follows unrelated writes', async () => {
    const capture = await startCapture(setup);
    const before = await slotConfirmed(setup.slot);
    // Writes the publication does not cover: no transaction reaches capture, only keepalives move.
    for (let i = 0; i < 4; i += 1) await setup.sql(`INSERT INTO not_published VALUES (${100 + i})`);
    const [row] = await query<{ lsn: string }>(source, setup.db, 'SELECT pg_current_wal_lsn()::text AS lsn');
    await setup.sql(`INSERT INTO not_published VALUES (200)`);
    await eventually(async () => expect((await slotConfirmed(setup.slot))! > parseLsn(row!.lsn)).toBe(true), 30_000);
    expect((await slotConfirmed(setup.slot))! > before!).toBe(true);
    const result = await capture.stop();
    expect(result.metrics.eventsThisRun).toBe(0);
  });
});
