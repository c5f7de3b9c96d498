// Restarting capture against PostgreSQL 15 while a workload keeps writing: after a graceful stop, and
// after a crash between the queue commit and the acknowledgement (the slot is then behind the queue,
// the server sends those transactions again, and the new run skips them whole). Either way the queue
// holds every committed transaction exactly once, in commit order, with contiguous vsns.

import { afterEach, describe, expect, it } from 'vitest';
import type { QueueDurablePoint } from '../../src/capture/queue/segment-writer.js';
import { parseLsn } from '../../src/core/lsn.js';
import { assertContiguous, queueHead, readQueue, setupCapture, slotConfirmed, startCapture, waitForVsn, type CaptureSetup, type RunningCapture } from './helpers.js';
import { queueTransactions, Workload } from './workload.js';

const SCHEMA = `CREATE TABLE items (id int PRIMARY KEY, v text)`;

let setup: CaptureSetup | undefined;

afterEach(async () => {
  await setup?.cleanup();
  setup = undefined;
});

/** The queue holds exactly the workload's transactions, in its commit order, vsn 1..n. */
async function expectExactly(s: CaptureSetup, workload: Workload): Promise<number> {
  await waitForVsn(s.store, workload.eventCount, 60_000);
  const events = await readQueue(s.store, s.queueDir);
  assertContiguous(events);
  const queued = queueTransactions(events).map(({ xid, events: list }) => ({ xid, events: list }));
  expect(queued.length).toBe(workload.committed.length);
  expect(queued).toEqual(workload.committed);
  return events.length;
}

describe('capture restart', () => {
  it('a graceful stop and a restart under a running workload: no duplicate, no gap', async () => {
    const s = (setup = await setupCapture('restart', SCHEMA, 'items'));
    const workload = new Workload(s.db, 'items', 42);
    workload.start();
    let capture = await startCapture(s);
    for (let round = 0; round < 4; round += 1) {
      await waitForVsn(s.store, queueHead(s.store).lastVsn + 100, 60_000);
      const result = await capture.stop();
      expect(result.end).toBe('aborted');
      // The stop acknowledged what it made durable.
      expect((await slotConfirmed(s.slot))! >= parseLsn(result.durable.endLsn!)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100)); // transactions pile up while nothing captures
      capture = await startCapture(s);
    }
    await workload.stop();
    const total = await expectExactly(s, workload);
    await capture.stop();
    console.log(`capture restart: ${workload.committed.length} transactions, ${total} events over 5 runs`);
  }, 120_000);

  it('a crash between the queue commit and the acknowledgement: the next run skips what the server sends again', async () => {
    const s = (setup = await setupCapture('ackcrash', SCHEMA, 'items'));
    const workload = new Workload(s.db, 'items', 7);
    workload.start();
    let skipped = 0;
    for (let round = 0; round < 3; round += 1) {
      let commits = 0;
      let crashedAt: QueueDurablePoint | undefined;
      const running: RunningCapture = await startCapture(s, {
        afterQueueCommit: (point) => {
          commits += 1;
          if (commits < 3 || point.endLsn === null) return;
          crashedAt = point;
          running.connection.destroy(); // the socket closes as in a crash: no CopyDone, no status update
          throw new Error('simulated crash between the queue commit and the acknowledgement');
        },
      });
      const outcome = await running.settled();
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(/simulated crash/);
      // The queue holds the last commit; the slot was not told.
      expect(queueHead(s.store).lastEndLsn).toBe(crashedAt?.endLsn);
      expect((await slotConfirmed(s.slot))! < parseLsn(crashedAt!.endLsn!)).toBe(true);

      const next = await startCapture(s);
      await waitForVsn(s.store, queueHead(s.store).lastVsn + 30, 60_000);
      const result = await next.stop();
      expect(result.metrics.skippedTransactions).toBeGreaterThan(0);
      skipped += result.metrics.skippedTransactions;
    }
    await workload.stop();
    const final = await startCapture(s);
    const total = await expectExactly(s, workload);
    await final.stop();
    console.log(`capture ack crash: 3 crashes after the queue commit, ${skipped} transactions sent again and skipped, ${total} events exactly once`);
  }, 120_000);
});
