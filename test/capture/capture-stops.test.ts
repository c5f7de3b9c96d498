// TRUNCATE and DDL on a captured table stop the capture with a typed error that says what to do
// (DESIGN.md section 5), against PostgreSQL 15: the transactions before stay in the queue and are
// acknowledged, the offending transaction (with the rows it wrote before the TRUNCATE) is neither
// in the queue nor acknowledged, and running the capture again stops at the same place.

import { afterEach, describe, expect, it } from 'vitest';
import { CaptureStoppedError } from '../../src/capture/index.js';
import { formatLsn, parseLsn, type Lsn } from '../../src/core/lsn.js';
import { query } from '../harness/index.js';
import { assertContiguous, queueHead, readQueue, setupCapture, slotConfirmed, source, startCapture, summary, waitForVsn, type CaptureSetup } from './helpers.js';

const SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, v text);
  CREATE TABLE other (id int PRIMARY KEY);
`;

let setup: CaptureSetup | undefined;

afterEach(async () => {
  await setup?.cleanup();
  setup = undefined;
});

async function expectStop(outcome: Promise<unknown>, reason: string): Promise<CaptureStoppedError> {
  const error = await outcome.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CaptureStoppedError);
  expect(error).toMatchObject({ reason });
  return error as CaptureStoppedError;
}

/** The source's WAL position now: the next transaction commits after it. */
async function walPosition(s: CaptureSetup): Promise<Lsn> {
  const [row] = await query<{ lsn: string }>(source, s.db, 'SELECT pg_current_wal_lsn()::text AS lsn');
  return parseLsn(row!.lsn);
}

/**
 * The slot is acknowledged at least to the queue's last transaction and not to the commit of the
 * stopped one (idle keepalives may move it in between, past WAL of other databases).
 */
async function expectAcknowledgedBetween(s: CaptureSetup, queueEnd: string | null, stopped: CaptureStoppedError): Promise<void> {
  const confirmed = (await slotConfirmed(s.slot))!;
  const commitLsn = parseLsn(stopped.transaction!.commitLsn);
  expect(confirmed >= parseLsn(queueEnd!), `${formatLsn(confirmed)} >= ${queueEnd}`).toBe(true);
  expect(confirmed <= commitLsn, `${formatLsn(confirmed)} <= ${formatLsn(commitLsn)}`).toBe(true);
}

describe('capture stops', () => {
  it('stops at a TRUNCATE, without the rows its transaction wrote before it, and stops there again on restart', async () => {
    const s = (setup = await setupCapture('truncate', SCHEMA, 'items, other'));
    const capture = await startCapture(s);
    await s.sql(`INSERT INTO items VALUES (1, 'a')`);
    await s.sql(`INSERT INTO other VALUES (1)`);
    await waitForVsn(s.store, 2);
    const before = await walPosition(s);
    await s.sql(`BEGIN; INSERT INTO items VALUES (2, 'b'); TRUNCATE items; COMMIT`);
    await s.sql(`INSERT INTO other VALUES (2)`);
    const error = await expectStop(capture.done, 'truncate');
    await capture.settled();
    expect(error.tables).toEqual([{ schema: 'public', name: 'items' }]);
    expect(error.message).toContain('"public"."items"');
    expect(error.hint).toMatch(/--start-clean/);

    const events = await readQueue(s.store, s.queueDir);
    assertContiguous(events);
    expect(events.map(summary).map((e) => `${e.table}:${e.op}`)).toEqual(['public.items:insert', 'public.other:insert']);
    const head = queueHead(s.store);
    expect(parseLsn(error.transaction!.commitLsn) > before).toBe(true);
    expect(error.message).toContain(`committed at ${error.transaction!.commitLsn}`);
    await expectAcknowledgedBetween(s, head.lastEndLsn, error);

    const again = await startCapture(s);
    const second = await expectStop(again.done, 'truncate');
    await again.settled();
    expect(second.transaction).toEqual(error.transaction);
    expect(queueHead(s.store)).toMatchObject({ lastVsn: 2, lastEndLsn: head.lastEndLsn });
    await expectAcknowledgedBetween(s, head.lastEndLsn, error);
  });

  it('stops at the first change after ALTER TABLE ADD COLUMN, and again on restart with the expected columns', async () => {
    const s = (setup = await setupCapture('ddl', SCHEMA, 'items, other'));
    const capture = await startCapture(s);
    await s.sql(`INSERT INTO items VALUES (1, 'a')`);
    await waitForVsn(s.store, 1);
    await s.sql(`ALTER TABLE items ADD COLUMN extra int`);
    const before = await walPosition(s);
    await s.sql(`BEGIN; INSERT INTO other VALUES (1); INSERT INTO items VALUES (2, 'b', 5); COMMIT`);
    const error = await expectStop(capture.done, 'schema-changed');
    await capture.settled();
    expect(error.message).toContain('"public"."items"');
    expect(error.message).toContain('"extra" added');

    const events = await readQueue(s.store, s.queueDir);
    expect(events.map(summary)).toEqual([{ table: 'public.items', op: 'insert', key: ['id'], new: { id: '1', v: 'a' }, old: null }]);
    const head = queueHead(s.store);
    expect(parseLsn(error.transaction!.commitLsn) > before).toBe(true);
    await expectAcknowledgedBetween(s, head.lastEndLsn, error);

    // A new run sees the new definition first; the columns the export expects (those the snapshot read) catch it.
    const expected = new Map([
      ['items', ['id', 'v']],
      ['other', ['id']],
    ]);
    const again = await startCapture(s, { expectedColumns: (table) => expected.get(table.name) });
    const second = await expectStop(again.done, 'schema-changed');
    await again.settled();
    expect(second.message).toMatch(/"extra" added, compared with the columns the export expects/);
    expect(second.transaction).toEqual(error.transaction);
    expect(queueHead(s.store)).toMatchObject({ lastVsn: 1, lastEndLsn: head.lastEndLsn });
    await expectAcknowledgedBetween(s, head.lastEndLsn, error);
  });
});
