// A reader sees only what commit() recorded, never bytes a writer has written but not committed, and
// follows new commits (across segments, from another store connection) as they happen.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openQueueReader, type QueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter, type QueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, expectedEvent, queuePlace, sleep, type QueuePlace } from './queue-helpers.js';

/** Appends and commits the one-event transaction of `vsn`. */
async function commitOne(writer: QueueWriter, vsn: number): Promise<void> {
  writer.append(changeFor(vsn));
  writer.endTransaction(`0/${vsn}`);
  await writer.commit();
}

/** A wait for events with nothing coming ends, empty, when its signal aborts. */
async function expectAbortEndsWait(reader: QueueReader): Promise<void> {
  const abort = new AbortController();
  const idle = reader.next(10, abort.signal);
  setTimeout(() => abort.abort(), 30);
  expect(await idle).toEqual([]);
}

describe('change queue reader', () => {
  let place: QueuePlace;
  let writerStore: MigrationStore;
  let readerStore: MigrationStore;
  beforeEach(() => {
    place = queuePlace('follow');
    writerStore = place.openStore();
    readerStore = place.openStore();
  });
  afterEach(() => {
    writerStore.close();
    readerStore.close();
    place.cleanup();
  });

  it('never returns events that are written but not committed', async () => {
    const writer = openQueueWriter({ store: writerStore, queueDir: place.queueDir, stream: 'source-to-target', writeBufferBytes: 256 });
    const reader = openQueueReader({ store: readerStore, queueDir: place.queueDir, stream: 'source-to-target' });
    expect(await reader.read()).toEqual([]);
    for (let vsn = 1; vsn <= 3; vsn += 1) writer.append(changeFor(vsn));
    writer.endTransaction('0/3');
    await writer.commit();
    // A large open transaction: its bytes reach the file (the buffer is tiny) but are not committed.
    for (let vsn = 4; vsn <= 200; vsn += 1) writer.append(changeFor(vsn));
    // A transaction that ended but was not committed yet.
    const segment = listQueueSegments(readerStore, 'source-to-target')[0];
    expect(statSync(join(place.queueDir, segment?.fileName ?? '')).size).toBeGreaterThan(segment?.committedSize ?? 0);
    expect(await reader.read()).toEqual([1, 2, 3].map((vsn) => expectedEvent(vsn)));
    writer.endTransaction('0/200');
    expect(await reader.read()).toEqual([]);
    // commit() while another transaction is open commits up to the last transaction end only.
    writer.append(changeFor(201));
    expect(await writer.commit()).toEqual({ lastVsn: 200, endLsn: '0/200' });
    const next = await reader.read(1000);
    expect(next.map((event) => event.vsn)).toEqual(Array.from({ length: 197 }, (_, i) => i + 4));
    expect(await reader.read()).toEqual([]);
    reader.close();
    await writer.close();
  });

  it('follows commits as they are recorded, across segment rotations', async () => {
    const writer = openQueueWriter({ store: writerStore, queueDir: place.queueDir, stream: 'source-to-target', segmentBytes: 2048 });
    const reader = openQueueReader({ store: readerStore, queueDir: place.queueDir, stream: 'source-to-target', pollIntervalMs: 5 });
    const total = 600;
    const received: ChangeEvent[] = [];
    const abort = new AbortController();
    const consuming = (async () => {
      for await (const batch of reader.follow(50, abort.signal)) {
        received.push(...batch);
        if (received.length >= total) abort.abort();
      }
    })();
    for (let vsn = 1; vsn <= total; vsn += 1) {
      writer.append(changeFor(vsn));
      if (vsn % 6 === 0) writer.endTransaction(`0/${vsn.toString(16)}`);
      if (vsn % 60 === 0) {
        await writer.commit();
        await sleep(2);
      }
    }
    const timeout = setTimeout(() => abort.abort(), 20_000);
    await consuming;
    clearTimeout(timeout);
    expect(listQueueSegments(writerStore, 'source-to-target').length).toBeGreaterThan(5);
    expect(received).toEqual(Array.from({ length: total }, (_, i) => expectedEvent(i + 1)));
    expect(reader.nextVsn).toBe(total + 1);
    reader.close();
    await writer.close();
  });

  it('waits in next() until a commit arrives, and returns empty when aborted', async () => {
    const writer = openQueueWriter({ store: writerStore, queueDir: place.queueDir, stream: 'source-to-target' });
    const reader = openQueueReader({ store: readerStore, queueDir: place.queueDir, stream: 'source-to-target', pollIntervalMs: 10 });
    const waiting = reader.next(10);
    await sleep(50);
    await commitOne(writer, 1);
    expect(await waiting).toEqual([expectedEvent(1)]);
    await expectAbortEndsWait(reader);
    reader.close();
    await writer.close();
  });

  it('wakes in next() at the commit, not at its next poll, and an abort still ends the wait', async () => {
    const writer = openQueueWriter({ store: writerStore, queueDir: place.queueDir, stream: 'source-to-target' });
    // Polling once a minute: only the store change signal can end the wait within the test's time.
    const reader = openQueueReader({ store: readerStore, queueDir: place.queueDir, stream: 'source-to-target', pollIntervalMs: 60_000 });
    expect(await reader.read()).toEqual([]);
    for (let round = 1; round <= 2; round++) {
      const waiting = reader.next(10);
      // The polls come at 5, 15, 35 ... 635, 1275 ms, then at 2555 ms: a commit at 1300 ms waits 1.2 s for one.
      await sleep(1300);
      const committedAt = Date.now();
      await commitOne(writer, round);
      expect(await waiting).toEqual([expectedEvent(round)]);
      expect(Date.now() - committedAt).toBeLessThan(400);
    }
    await expectAbortEndsWait(reader);
    reader.close();
    await writer.close();
  });
});
