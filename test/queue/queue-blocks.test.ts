// The writer's blocks (segment format version 3): whatever the mix of transaction sizes, buffer
// flushes in the middle of transactions, discarded transactions, events larger than the buffer,
// rotations and reopenings, every committed size the store records is the end of a block, every
// committed block's checksum matches, and the blocks hold exactly the committed events in vsn order.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter, type QueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeInput } from '../../src/core/change-event.js';
import { listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { seededRandom } from '../capture/seeded-random.js';
import { changeFor, queuePlace, type QueuePlace } from './queue-helpers.js';
import { segmentBlocks } from './segment-layout.js';

/** changeFor(vsn), sometimes with a value larger than the writer's buffer. */
function eventFor(vsn: number, big: boolean): ChangeInput {
  const change = changeFor(vsn);
  return big ? { ...change, op: 'insert', columns: ['id', 'filler', 'toasted'], newValues: [String(vsn), 'x'.repeat(3000), null], oldKey: null } : change;
}

describe('queue blocks', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('blocks');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  /** Checks the layout of every recorded segment against the committed sizes seen after each commit. */
  function checkLayout(committedSizes: Map<string, Set<number>>, lastVsn: number): void {
    const vsns: number[] = [];
    for (const segment of listQueueSegments(store, 'source-to-target')) {
      const bytes = readFileSync(join(place.queueDir, segment.fileName));
      const blocks = segmentBlocks(bytes, segment.committedSize);
      const ends = new Set([16, ...blocks.map((block) => block.offset + 8 + block.bodyBytes)]);
      for (const size of committedSizes.get(segment.fileName) ?? []) expect(ends.has(size), `${segment.fileName}: committed size ${size} is a block end`).toBe(true);
      for (const block of blocks) expect(block.checksumMatches, `block at ${block.offset}`).toBe(true);
      vsns.push(...blocks.flatMap((block) => block.records.map((record) => record.vsn)));
    }
    expect(vsns).toEqual(Array.from({ length: lastVsn }, (_, i) => i + 1));
  }

  it('records only block ends as committed sizes, and every block checks', async () => {
    const random = seededRandom(7);
    const committedSizes = new Map<string, Set<number>>();
    const big = new Set<number>();
    const open = (): QueueWriter => openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', writeBufferBytes: 1024, segmentBytes: 6000 });
    let writer = open();
    let vsn = writer.nextVsn;
    for (let round = 0; round < 300; round++) {
      const events = Math.floor(random() * 12);
      const start = vsn;
      for (let i = 0; i < events; i++) {
        const isBig = random() < 0.05;
        writer.append(eventFor(vsn, isBig));
        if (isBig) big.add(vsn);
        vsn += 1;
      }
      if (events > 0 && random() < 0.15) {
        writer.discardTransaction();
        for (let v = start; v < vsn; v++) big.delete(v);
        vsn = start;
      } else {
        writer.endTransaction(`0/${round + 1}`);
      }
      if (random() < 0.3) {
        await writer.commit();
        for (const segment of listQueueSegments(store, 'source-to-target')) {
          const sizes = committedSizes.get(segment.fileName) ?? new Set<number>();
          sizes.add(segment.committedSize);
          committedSizes.set(segment.fileName, sizes);
        }
      }
      if (random() < 0.05) {
        // A restart: what was not committed is cut off and written again.
        await writer.close();
        writer = open();
        for (let v = writer.nextVsn; v < vsn; v++) big.delete(v);
        vsn = writer.nextVsn;
      }
    }
    writer.endTransaction('0/END');
    await writer.commit();
    await writer.close();
    const lastVsn = vsn - 1;
    expect(listQueueSegments(store, 'source-to-target').length).toBeGreaterThan(3);
    expect(big.size).toBeGreaterThan(3);
    checkLayout(committedSizes, lastVsn);
    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', readBufferBytes: 2048 });
    const read: number[] = [];
    try {
      for (let got = await reader.read(50); got.length > 0; got = await reader.read(50)) {
        for (const event of got) {
          expect(event.newValues?.[1]).toEqual(eventFor(event.vsn, big.has(event.vsn)).newValues?.[1]);
          read.push(event.vsn);
        }
      }
    } finally {
      reader.close();
    }
    expect(read).toEqual(Array.from({ length: lastVsn }, (_, i) => i + 1));
  });
});
