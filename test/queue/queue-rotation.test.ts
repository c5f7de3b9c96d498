// Segments rotate by size at transaction boundaries only, every segment's bookkeeping matches its
// file, and a reader starting anywhere crosses segments in vsn order.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SEGMENT_HEADER_SIZE } from '../../src/capture/queue/segment-format.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter, type QueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { getQueueStreamHead, listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, expectedEvent, queuePlace, type QueuePlace } from './queue-helpers.js';

/** Appends `count` events as one transaction ending at an LSN derived from its last vsn. */
function appendTransaction(writer: QueueWriter, count: number): void {
  for (let i = 0; i < count; i += 1) writer.append(changeFor(writer.nextVsn));
  writer.endTransaction(`0/${(writer.nextVsn - 1).toString(16)}`);
}

async function readAll(store: MigrationStore, queueDir: string, fromVsn: number, batch = 1000): Promise<ChangeEvent[]> {
  const reader = openQueueReader({ store, queueDir, stream: 'source-to-target', fromVsn });
  const events: ChangeEvent[] = [];
  for (let got = await reader.read(batch); got.length > 0; got = await reader.read(batch)) events.push(...got);
  reader.close();
  return events;
}

describe('change queue segments', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('rotation');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  it('rotates by size at transaction boundaries and keeps a huge transaction whole', async () => {
    const segmentBytes = 2 * 1024;
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', segmentBytes, writeBufferBytes: 1024 });
    const transactionSizes = [3, 1, 7, 20, 2, 5, 400, 1, 9, 30, 4, 4, 4, 60, 2];
    for (const [i, size] of transactionSizes.entries()) {
      appendTransaction(writer, size);
      if (i % 3 === 2) await writer.commit();
    }
    writer.endTransaction('0/EMPTY'); // an empty transaction moves the end LSN only
    const total = transactionSizes.reduce((a, b) => a + b, 0);
    expect(await writer.commit()).toEqual({ lastVsn: total, endLsn: '0/EMPTY' });
    await writer.close();

    const segments = listQueueSegments(store, 'source-to-target');
    expect(segments.length).toBeGreaterThan(4);
    const files = readdirSync(place.queueDir).sort();
    expect(files).toEqual(segments.map((segment) => segment.fileName));
    let nextVsn = 1;
    let transactionEnds = new Set<number>();
    let end = 0;
    for (const size of transactionSizes) transactionEnds = new Set([...transactionEnds, (end += size)]);
    segments.forEach((segment, i) => {
      expect(segment.segmentNo).toBe(i + 1);
      expect(statSync(join(place.queueDir, segment.fileName)).size).toBe(segment.committedSize);
      expect(segment.firstVsn).toBe(nextVsn);
      expect(segment.lastVsn! - segment.firstVsn! + 1).toBe(segment.eventCount);
      // Rotation happens only where a transaction ends.
      expect(transactionEnds.has(segment.lastVsn!)).toBe(true);
      expect(segment.lastEndLsn).toBe(`0/${segment.lastVsn!.toString(16)}`);
      const last = i === segments.length - 1;
      expect(segment.closedAt === null).toBe(last);
      // A closed segment went past the limit by at most its last transaction.
      if (!last) expect(segment.committedSize).toBeGreaterThanOrEqual(segmentBytes);
      nextVsn = segment.lastVsn! + 1;
    });
    expect(nextVsn).toBe(total + 1);
    // The 400-event transaction is far larger than a segment and stayed in one.
    const big = segments.find((segment) => segment.eventCount >= 400);
    expect(big?.committedSize).toBeGreaterThan(4 * segmentBytes);
    expect(getQueueStreamHead(store, 'source-to-target')).toMatchObject({ lastVsn: total, lastEndLsn: '0/EMPTY' });

    for (const fromVsn of [1, 2, 16, 33, 34, 250, total, total + 1, total + 50]) {
      const events = await readAll(store, place.queueDir, fromVsn, 7);
      const expected = Array.from({ length: Math.max(0, total - fromVsn + 1) }, (_, i) => expectedEvent(fromVsn + i));
      expect(events).toEqual(expected);
    }
  });

  it('continues a reopened queue in the same segment and numbering', async () => {
    const first = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    appendTransaction(first, 5);
    await first.commit();
    await first.close();
    const second = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    expect(second.nextVsn).toBe(6);
    expect(second.durablePoint).toEqual({ lastVsn: 5, endLsn: '0/5' });
    appendTransaction(second, 3);
    expect(await second.commit()).toEqual({ lastVsn: 8, endLsn: '0/8' });
    // A commit with nothing new changes nothing.
    expect(await second.commit()).toEqual({ lastVsn: 8, endLsn: '0/8' });
    await second.close();
    expect(listQueueSegments(store, 'source-to-target')).toHaveLength(1);
    expect(await readAll(store, place.queueDir, 1)).toEqual(Array.from({ length: 8 }, (_, i) => expectedEvent(i + 1)));
  });

  it('keeps the two streams apart', async () => {
    const forward = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    const reverse = openQueueWriter({ store, queueDir: place.queueDir, stream: 'target-to-source' });
    appendTransaction(forward, 4);
    reverse.append(changeFor(1));
    reverse.endTransaction('reverse-1');
    await Promise.all([forward.commit(), reverse.commit()]);
    await Promise.all([forward.close(), reverse.close()]);
    expect(getQueueStreamHead(store, 'source-to-target')).toMatchObject({ lastVsn: 4, lastEndLsn: '0/4' });
    expect(getQueueStreamHead(store, 'target-to-source')).toMatchObject({ lastVsn: 1, lastEndLsn: 'reverse-1' });
    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'target-to-source' });
    expect(await reader.read()).toEqual([expectedEvent(1, 'target-to-source')]);
    reader.close();
    expect(readdirSync(place.queueDir).sort()).toEqual(['source-to-target.0000000001.seg', 'target-to-source.0000000001.seg']);
    expect(statSync(join(place.queueDir, 'target-to-source.0000000001.seg')).size).toBeGreaterThan(SEGMENT_HEADER_SIZE);
  });
});
