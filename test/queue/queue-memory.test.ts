// A transaction of a million events is written and read back with bounded memory: the writer flushes
// its fixed buffer to the file before the transaction ends, and the reader holds one batch at a time.
// Memory is checked roughly, through the process's resident set size.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, queuePlace, type QueuePlace } from './queue-helpers.js';

const EVENTS = 1_000_000;
/** Holding the transaction in memory would take 400 MB and more; V8 lets garbage grow the heap by some tens of MB. */
const MAX_GROWTH_MB = 200;

const rssMb = (): number => process.memoryUsage.rss() / (1024 * 1024);

describe('change queue memory', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('memory');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  it('writes and reads a one-million-event transaction with bounded memory', async () => {
    const baseline = rssMb();
    let peak = baseline;
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    for (let vsn = 1; vsn <= EVENTS; vsn += 1) {
      writer.append(changeFor(vsn));
      if (vsn % 50_000 === 0) peak = Math.max(peak, rssMb());
    }
    writer.endTransaction('0/BIG');
    expect(await writer.commit()).toEqual({ lastVsn: EVENTS, endLsn: '0/BIG' });
    await writer.close();
    const writePeak = peak;
    const [segment] = listQueueSegments(store, 'source-to-target');
    // One transaction: one segment, whatever the size limit.
    expect(listQueueSegments(store, 'source-to-target')).toHaveLength(1);
    expect(segment?.eventCount).toBe(EVENTS);

    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    let read = 0;
    let nextVsn = 1;
    for (let batch = await reader.read(5000); batch.length > 0; batch = await reader.read(5000)) {
      for (const event of batch) {
        if (event.vsn !== nextVsn) throw new Error(`vsn ${event.vsn} after ${nextVsn - 1}`);
        nextVsn += 1;
      }
      read += batch.length;
      if (read % 100_000 === 0) peak = Math.max(peak, rssMb());
    }
    reader.close();
    expect(read).toBe(EVENTS);
    const fileMb = (segment?.committedSize ?? 0) / (1024 * 1024);
    console.log(
      `queue memory test: ${EVENTS} events (${fileMb.toFixed(0)} MB on disk) in one transaction; RSS ${baseline.toFixed(0)} MB before, ` +
        `peak ${writePeak.toFixed(0)} MB writing, ${peak.toFixed(0)} MB overall`,
    );
    expect(peak - baseline).toBeLessThan(MAX_GROWTH_MB);
    // Writing a million events grew RSS by 77-100 MB (V8's heap growing with the test's own garbage), and
    // by 29 MB for three million after that: the writer holds nothing per event. Holding them would be 400 MB+.
    expect(writePeak - baseline).toBeLessThan((MAX_GROWTH_MB * 3) / 4);
    expect(fileMb).toBeGreaterThan(MAX_GROWTH_MB / 2);
  }, 180_000);
});
