// The end marker in the capture pipeline, against PostgreSQL 15: a sentinel row of this migration
// becomes a `marker` event and the capture ends right after its transaction is durable and
// acknowledged; other migrations' marker rows are not captured, and nothing committed after the
// marker reaches the queue. When the marker's transaction was made durable but not acknowledged (a
// crash in between), the server sends it again: the next run skips it (writing nothing) and still
// ends at it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKER_TABLE, isEndMarkerRow, writeEndMarker } from '../../src/cutover/end-marker.js';
import { withClient } from '../harness/index.js';
import { queueHead, readQueue, setupCapture, slotConfirmed, source, startCapture, type CaptureSetup } from '../capture/helpers.js';
import { parseLsn } from '../../src/core/lsn.js';

const MIGRATION = '6f1c2d3e-4a5b-4c6d-8e7f-001122334455';
const OTHER_MIGRATION = '00000000-0000-4000-8000-000000000001';
const MARKER_ID = '4242';

const SCHEMA = `
  CREATE TABLE items (id int PRIMARY KEY, name text);
  CREATE SCHEMA godwit_metadata;
  CREATE TABLE godwit_metadata.stream_markers (
    migration_id uuid NOT NULL, marker_id bigint NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (migration_id, marker_id));`;

let setup: CaptureSetup;
beforeAll(async () => {
  setup = await setupCapture('endmarker', SCHEMA, 'items, godwit_metadata.stream_markers');
});
afterAll(async () => {
  await setup?.cleanup();
});

const endMarker = { table: MARKER_TABLE, isEnd: (change: Parameters<typeof isEndMarkerRow>[0]) => isEndMarkerRow(change, MIGRATION, MARKER_ID) };

async function marker(migrationId: string, markerId: string): Promise<void> {
  await withClient(source, setup.db, (client) => writeEndMarker(client, migrationId, markerId, 'to-target'));
}

describe('end marker capture', () => {
  it('ends the capture right after the marker is durable and acknowledged; a resent marker ends it again without writing', async () => {
    // First run: crashes (the hook throws) after the marker's queue commit, before its acknowledgement.
    let crash = false;
    const first = await startCapture(setup, {
      endMarker,
      afterQueueCommit: () => {
        if (crash) throw new Error('simulated crash between the queue commit and the acknowledgement');
      },
    });
    await setup.sql(`INSERT INTO items VALUES (1, 'before')`);
    await marker(OTHER_MIGRATION, MARKER_ID); // another migration's marker on the same database: not ours
    await setup.sql(`INSERT INTO items VALUES (2, 'before too')`);
    const beforeMarker = await (async () => {
      for (let i = 0; i < 300 && queueHead(setup.store).lastVsn < 2; i++) await new Promise((r) => setTimeout(r, 50));
      return queueHead(setup.store);
    })();
    expect(beforeMarker.lastVsn).toBe(2);
    crash = true;
    await marker(MIGRATION, MARKER_ID);
    await marker(MIGRATION, MARKER_ID); // idempotent: the same id is one row
    await setup.sql(`INSERT INTO items VALUES (3, 'after the marker')`);
    const outcome = await first.settled();
    expect(outcome).toBeInstanceOf(Error);
    const events = await readQueue(setup.store, setup.queueDir);
    expect(events.map((e) => [e.vsn, e.op, `${e.table.schema}.${e.table.name}`])).toEqual([
      [1, 'insert', 'public.items'],
      [2, 'insert', 'public.items'],
      [3, 'marker', 'godwit_metadata.stream_markers'],
    ]);
    const acknowledgedBefore = await slotConfirmed(setup.slot);
    expect(acknowledgedBefore === undefined || acknowledgedBefore < parseLsn(queueHead(setup.store).lastEndLsn ?? '0/0')).toBe(true);

    // Second run: the server sends the marker's transaction again; it is skipped and the capture ends there.
    const second = await startCapture(setup, { endMarker });
    const result = await second.done;
    await second.settled();
    expect(result.end).toBe('marker');
    expect(queueHead(setup.store).lastVsn).toBe(3);
    expect((await readQueue(setup.store, setup.queueDir)).map((e) => e.vsn)).toEqual([1, 2, 3]);
    // Acknowledged up to the marker's end, not beyond: the row written after it is not in the queue.
    expect(await slotConfirmed(setup.slot)).toBe(parseLsn(queueHead(setup.store).lastEndLsn ?? '0/0'));
  }, 60_000);
});
