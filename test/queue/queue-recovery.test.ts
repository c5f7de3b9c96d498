// What a crash leaves behind is repaired on open: bytes past the committed size are cut off, segment
// files the store never recorded are deleted, numbering continues after the last durable vsn; an
// abandoned transaction can be discarded in place.
import { appendFileSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { getQueueStreamHead, listQueueSegments } from '../../src/state/queue-store.js';
import type { MigrationStore } from '../../src/state/store.js';
import { changeFor, expectedEvent, queuePlace, type QueuePlace } from './queue-helpers.js';

async function readAll(store: MigrationStore, queueDir: string): Promise<ChangeEvent[]> {
  const reader = openQueueReader({ store, queueDir, stream: 'source-to-target' });
  const events: ChangeEvent[] = [];
  for (let got = await reader.read(); got.length > 0; got = await reader.read()) events.push(...got);
  reader.close();
  return events;
}

describe('change queue recovery', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('recovery');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  it('truncates a torn tail on reopen and numbers on from the last durable vsn', async () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', writeBufferBytes: 512 });
    for (let vsn = 1; vsn <= 10; vsn += 1) writer.append(changeFor(vsn));
    writer.endTransaction('0/A');
    await writer.commit();
    // A transaction that ended but was never committed, then half of an open one, both flushed.
    for (let vsn = 11; vsn <= 30; vsn += 1) writer.append(changeFor(vsn));
    writer.endTransaction('0/1E');
    for (let vsn = 31; vsn <= 60; vsn += 1) writer.append(changeFor(vsn));
    // "Crash": the writer is abandoned without close or commit; a torn record ends the file.
    const [segment] = listQueueSegments(store, 'source-to-target');
    const file = join(place.queueDir, segment?.fileName ?? '');
    appendFileSync(file, Buffer.from([0x12, 0x34, 0x56]));
    expect(statSync(file).size).toBeGreaterThan(segment?.committedSize ?? 0);
    // Readers already ignore the tail.
    expect(await readAll(store, place.queueDir)).toEqual(Array.from({ length: 10 }, (_, i) => expectedEvent(i + 1)));

    const reopened = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target' });
    expect(statSync(file).size).toBe(segment?.committedSize);
    expect(reopened.durablePoint).toEqual({ lastVsn: 10, endLsn: '0/A' });
    expect(reopened.nextVsn).toBe(11);
    for (let vsn = 11; vsn <= 15; vsn += 1) expect(reopened.append(changeFor(vsn))).toBe(vsn);
    reopened.endTransaction('0/F');
    expect(await reopened.commit()).toEqual({ lastVsn: 15, endLsn: '0/F' });
    await reopened.close();
    expect(await readAll(store, place.queueDir)).toEqual(Array.from({ length: 15 }, (_, i) => expectedEvent(i + 1)));
  });

  it('deletes segment files the store never recorded and reopens a closed segment\'s successor fresh', async () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', segmentBytes: 600 });
    let vsn = 1;
    while (listQueueSegments(store, 'source-to-target').filter((segment) => segment.closedAt !== null).length < 2) {
      writer.append(changeFor(vsn));
      writer.endTransaction(`0/${vsn.toString(16)}`);
      vsn += 1;
      await writer.commit();
    }
    const durable = vsn - 1;
    // The next transaction opens a new segment file; the crash comes before its commit.
    writer.append(changeFor(vsn));
    writer.endTransaction('0/LOST');
    const recorded = listQueueSegments(store, 'source-to-target').map((segment) => segment.fileName);
    const files = readdirSync(place.queueDir).sort();
    expect(files.length).toBe(recorded.length + 1);
    // A leftover from an even older crash, further ahead.
    writeFileSync(join(place.queueDir, 'source-to-target.0000000099.seg'), 'junk');
    writeFileSync(join(place.queueDir, 'unrelated.txt'), 'kept');

    const reopened = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', segmentBytes: 600 });
    expect(readdirSync(place.queueDir).sort()).toEqual([...recorded, 'unrelated.txt'].sort());
    expect(reopened.durablePoint.lastVsn).toBe(durable);
    reopened.append(changeFor(vsn));
    reopened.endTransaction(`0/${vsn.toString(16)}`);
    await reopened.commit();
    await reopened.close();
    expect(await readAll(store, place.queueDir)).toEqual(Array.from({ length: vsn }, (_, i) => expectedEvent(i + 1)));
    expect(existsSync(join(place.queueDir, 'source-to-target.0000000099.seg'))).toBe(false);
  });

  it('discards an abandoned transaction, flushed or not, and reuses its vsns', async () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', writeBufferBytes: 300 });
    writer.append(changeFor(1));
    writer.endTransaction('0/1');
    for (let vsn = 2; vsn <= 40; vsn += 1) writer.append(changeFor(vsn)); // flushed to the file several times
    writer.discardTransaction();
    expect(writer.inTransaction).toBe(false);
    expect(writer.nextVsn).toBe(2);
    writer.append(changeFor(2)); // only buffered
    writer.discardTransaction();
    for (let vsn = 2; vsn <= 4; vsn += 1) writer.append(changeFor(vsn));
    writer.endTransaction('0/4');
    expect(await writer.commit()).toEqual({ lastVsn: 4, endLsn: '0/4' });
    await writer.close();
    const [segment] = listQueueSegments(store, 'source-to-target');
    expect(statSync(join(place.queueDir, segment?.fileName ?? '')).size).toBe(segment?.committedSize);
    expect(await readAll(store, place.queueDir)).toEqual([1, 2, 3, 4].map((n) => expectedEvent(n)));
    expect(getQueueStreamHead(store, 'source-to-target').lastVsn).toBe(4);
  });

  it('discards a transaction that began in a fresh segment without losing the segment header', async () => {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', writeBufferBytes: 300, segmentBytes: 100 });
    writer.append(changeFor(1));
    writer.endTransaction('0/1'); // rotates: the next append starts segment 2
    for (let vsn = 2; vsn <= 30; vsn += 1) writer.append(changeFor(vsn));
    writer.discardTransaction();
    writer.append(changeFor(2));
    writer.endTransaction('0/2');
    await writer.commit();
    await writer.close();
    expect(listQueueSegments(store, 'source-to-target').map((segment) => [segment.firstVsn, segment.lastVsn])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(await readAll(store, place.queueDir)).toEqual([expectedEvent(1), expectedEvent(2)]);
  });
});
