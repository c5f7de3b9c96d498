// A 200,000-row transaction (about 200 MB of row data) through capture with bounded memory: the
// server spills it to disk while decoding (logical_decoding_work_mem set to 1 MB in the walsender
// session) and sends it at its commit; the queue writer writes the events to the segment file as they
// come, before the transaction ends, and one queue commit makes them durable. Memory is checked
// roughly, through the resident set size sampled while capture runs.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertContiguous, queueHead, readQueue, setupCapture, startCapture, waitForVsn, type CaptureSetup } from './helpers.js';

/** CAPTURE_ROWS changes the size (to see that memory does not grow with it). */
const ROWS = Number(process.env.CAPTURE_ROWS ?? 200_000);
/**
 * The row values alone are ~200 MB (1 KB each), so holding the transaction could not fit. Measured here:
 * RSS grows by about 20 MB (heap peak about 21 MB) for 200k and for 400k rows alike: it does not grow
 * with the transaction. The limit leaves room for a busy machine's garbage collector.
 */
const MAX_GROWTH_MB = 80;

const rssMb = (): number => process.memoryUsage.rss() / (1024 * 1024);

let setup: CaptureSetup;

beforeAll(async () => {
  setup = await setupCapture('large', `CREATE TABLE big (id int PRIMARY KEY, payload text)`, 'big');
});

afterAll(async () => {
  await setup?.cleanup();
});

describe('a large transaction', () => {
  it(`captures a ${ROWS}-row transaction with bounded memory`, async () => {
    const capture = await startCapture(setup, { groupCommit: { maxEvents: 10_000, maxDelayMs: 100 } }, [`SET logical_decoding_work_mem = '1MB'`]);
    global.gc?.();
    const baseline = rssMb();
    let peak = baseline;
    let heapPeak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb());
      heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed / 1048576);
    }, 50);
    try {
      await setup.sql(`INSERT INTO big SELECT g, repeat(md5(g::text), 32) || g FROM generate_series(1, ${ROWS}) g`);
      await waitForVsn(setup.store, ROWS, 240_000);
    } finally {
      clearInterval(sampler);
    }
    const result = await capture.stop();
    expect(result.metrics).toMatchObject({ eventsThisRun: ROWS, transactionsThisRun: 1 });
    expect(queueHead(setup.store).lastVsn).toBe(ROWS);

    const events = await readQueue(setup.store, setup.queueDir);
    assertContiguous(events);
    expect(events).toHaveLength(ROWS);
    const commitLsn = events[0]?.commitLsn;
    let wrong = 0;
    for (const event of events) {
      const id = Number(event.newValues?.[0]);
      if (event.commitLsn !== commitLsn || event.op !== 'insert' || id !== event.vsn || (event.newValues?.[1] as string).length !== 1024 + String(id).length) wrong += 1;
    }
    expect(wrong).toBe(0);
    console.log(`capture large transaction: ${ROWS} events in one transaction; RSS ${baseline.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB while capturing, heap peak ${heapPeak.toFixed(0)} MB`);
    expect((ROWS * 1024) / (1024 * 1024)).toBeGreaterThan(MAX_GROWTH_MB);
    expect(peak - baseline).toBeLessThan(MAX_GROWTH_MB);
  }, 300_000);
});
