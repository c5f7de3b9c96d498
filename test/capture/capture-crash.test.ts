// Capture under SIGKILL against PostgreSQL 15: a child process captures while two workloads write
// (two tables, concurrent transactions), and is killed at random moments many times, half of them
// while it sleeps between a queue commit and its acknowledgement; each time it is started again.
//
// The truth comes from the server, independently of godwit's decoder: a test_decoding slot created
// next to godwit's lists every committed transaction with its end LSN, in commit order.
// - After every kill (invariant 2): every transaction ending at or before the slot's confirmed
//   position is in the queue.
// - At the end (invariants 1 and 3): the queue holds every committed transaction exactly once, in
//   commit order, with the events its workload recorded, and vsns 1..n without gaps.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLsn, type Lsn } from '../../src/core/lsn.js';
import { query } from '../harness/index.js';
import { assertContiguous, queueHead, readQueue, setupCapture, sleep, slotConfirmed, source, startTsChild, uniqueSuffix, waitForVsn, type CaptureSetup } from './helpers.js';
import { seededRandom } from './seeded-random.js';
import { queueTransactions, Workload, type CommittedTransaction } from './workload.js';

const ROUNDS = 24;
const ACK_DELAY_MS = 150;

let setup: CaptureSetup;
let referenceSlot: string;

beforeAll(async () => {
  setup = await setupCapture('crash', `CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY, v text)`, 'a, b');
  referenceSlot = `ref_${uniqueSuffix()}`;
  await query(source, setup.db, `SELECT pg_create_logical_replication_slot($1, 'test_decoding')`, [referenceSlot]);
});

afterAll(async () => {
  await setup?.cleanup(); // drops the database with both slots
});

/** Committed transactions with their end LSNs, in commit order, as the server's test_decoding sees them. */
async function reference(): Promise<{ xid: number; endLsn: Lsn }[]> {
  const rows = await query<{ lsn: string; xid: string; data: string }>(
    source,
    setup.db,
    `SELECT lsn::text, xid::text, data FROM pg_logical_slot_peek_changes($1, NULL, NULL, 'skip-empty-xacts', '1', 'include-xids', '1')`,
    [referenceSlot],
  );
  return rows.filter((row) => row.data.startsWith('COMMIT')).map((row) => ({ xid: Number(row.xid), endLsn: parseLsn(row.lsn) }));
}

function childEnv(seed: number, ackDelayMs: number): Record<string, string> {
  return {
    GODWIT_CAPTURE_CHILD: JSON.stringify({
      host: source.host,
      port: source.port,
      user: source.user,
      password: source.password,
      db: setup.db,
      slot: setup.slot,
      publication: setup.publication,
      storeFile: setup.storeFile,
      queueDir: setup.queueDir,
      ackDelayMs,
      seed,
    }),
  };
}

describe('capture under SIGKILL', () => {
  it('holds every committed change exactly once, in commit order, after many kills', async () => {
    const workloads = [new Workload(setup.db, 'a', 11), new Workload(setup.db, 'b', 12, 1_000_000)];
    for (const workload of workloads) workload.start(3);
    const random = seededRandom(2024);
    let killsBetweenCommitAndAck = 0;
    let restartsThatSkipped = 0;
    let lastHead = 0;
    try {
      for (let round = 0; round < ROUNDS; round += 1) {
        const aimAtAck = round % 2 === 1;
        const child = startTsChild('capture-crash-child.ts', childEnv(1 + round * 7919, aimAtAck ? ACK_DELAY_MS : 0));
        const ready = await child.waitForLine((l) => l.startsWith('ready'));
        expect(Number(ready.split(' ')[1]), `round ${round}`).toBe(lastHead);
        await child.waitForLine((l) => l === 'streaming');
        if (aimAtAck) {
          // Kill while it sleeps after the n-th queue commit, before that commit's acknowledgement.
          const n = 1 + Math.floor(random() * 4);
          await child.waitForLine(() => child.lines.filter((l) => l.startsWith('durable')).length >= n);
        } else {
          await sleep(Math.floor(random() * 1500));
        }
        child.process.kill('SIGKILL');
        const exit = await child.exited;
        expect(exit.signal, `round ${round}: ${child.stderr()}`).toBe('SIGKILL');
        if (child.lines.some((l) => l.startsWith('skipped'))) restartsThatSkipped += 1;

        // Invariant 2 after the kill: everything the slot was told is in the queue.
        const head = queueHead(setup.store);
        const confirmed = (await slotConfirmed(setup.slot)) ?? 0n;
        if (head.lastEndLsn !== null && confirmed < parseLsn(head.lastEndLsn)) killsBetweenCommitAndAck += 1;
        const queued = new Set(queueTransactions(await readQueue(setup.store, setup.queueDir)).map((tx) => tx.xid));
        const missing = (await reference()).filter((tx) => tx.endLsn <= confirmed && !queued.has(tx.xid));
        expect(missing, `round ${round}: acknowledged but not in the queue`).toEqual([]);
        lastHead = head.lastVsn;
      }
    } finally {
      for (const workload of workloads) await workload.stop();
    }

    // A last run catches up and stops gracefully on SIGUSR2 (the graceful stop).
    const expectedEvents = workloads.reduce((sum, workload) => sum + workload.eventCount, 0);
    const child = startTsChild('capture-crash-child.ts', childEnv(99, 0));
    await child.waitForLine((l) => l === 'streaming');
    if (child.lines.some((l) => l.startsWith('skipped'))) restartsThatSkipped += 1;
    await waitForVsn(setup.store, expectedEvents, 120_000);
    child.process.kill('SIGUSR2');
    const exit = await child.exited;
    expect(exit.code, child.stderr()).toBe(0);
    expect(child.lines.at(-1)).toMatch(/^stopped /);

    const events = await readQueue(setup.store, setup.queueDir);
    assertContiguous(events);
    expect(events).toHaveLength(expectedEvents);
    const byXid = new Map<number, CommittedTransaction>();
    for (const workload of workloads) for (const tx of workload.committed) byXid.set(tx.xid, tx);
    const committedInOrder = (await reference()).map((tx) => byXid.get(tx.xid) ?? { xid: tx.xid, events: [] });
    const queued = queueTransactions(events).map(({ xid, events: list }) => ({ xid, events: list }));
    expect(queued.length).toBe(committedInOrder.length);
    expect(queued).toEqual(committedInOrder);

    const transactions = committedInOrder.length;
    console.log(
      `capture crash test: ${ROUNDS} kills (${killsBetweenCommitAndAck} with the queue ahead of the slot), ${restartsThatSkipped} restarts skipped transactions sent again; ` +
        `${transactions} transactions, ${events.length} events exactly once in commit order`,
    );
    expect(killsBetweenCommitAndAck).toBeGreaterThanOrEqual(ROUNDS / 4);
    expect(restartsThatSkipped).toBeGreaterThan(0);
  }, 600_000);
});
