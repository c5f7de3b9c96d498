// The queue's bookkeeping in the store: migration 4's tables, importers and what `archive changes`
// may free, archived segments as readers meet them, and the guard against a second writer.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QueueEventsArchivedError } from '../../src/capture/queue/queue-errors.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter } from '../../src/capture/queue/segment-writer.js';
import { StateError } from '../../src/core/errors.js';
import {
  getQueueStreamHead,
  listQueueImporters,
  listQueueSegments,
  markQueueSegmentArchived,
  recordQueueApplied,
  recordQueueCommit,
  registerQueueImporter,
  segmentsAppliedByAllImporters,
} from '../../src/state/queue-store.js';
import { STORE_MIGRATIONS, type MigrationStore } from '../../src/state/store.js';
import { changeFor, expectedEvent, queuePlace, type QueuePlace } from './queue-helpers.js';

describe('change queue bookkeeping', () => {
  let place: QueuePlace;
  let store: MigrationStore;
  beforeEach(() => {
    place = queuePlace('store');
    store = place.openStore();
  });
  afterEach(() => {
    store.close();
    place.cleanup();
  });

  /** Writes `segments` closed segments of 3 one-event transactions each, plus an open one. */
  async function writeSegments(segments: number): Promise<void> {
    const writer = openQueueWriter({ store, queueDir: place.queueDir, stream: 'source-to-target', segmentBytes: 250 });
    for (let vsn = 1; listQueueSegments(store, 'source-to-target').length <= segments; vsn += 1) {
      writer.append(changeFor(vsn));
      writer.endTransaction(`0/${vsn.toString(16)}`);
      await writer.commit();
    }
    await writer.close();
  }

  it('is migration 4 and starts both streams empty', () => {
    expect(STORE_MIGRATIONS.at(3)?.version).toBe(4);
    expect(store.schemaVersion()).toBe(STORE_MIGRATIONS.length);
    for (const stream of ['source-to-target', 'target-to-source'] as const) {
      expect(getQueueStreamHead(store, stream)).toMatchObject({ stream, lastVsn: 0, lastEndLsn: null });
      expect(listQueueSegments(store, stream)).toEqual([]);
    }
  });

  it('frees only closed segments that every registered importer applied', async () => {
    await writeSegments(4);
    const segments = listQueueSegments(store, 'source-to-target');
    const closed = segments.filter((segment) => segment.closedAt !== null);
    expect(closed.length).toBeGreaterThanOrEqual(4);
    // No importer registered: nothing may go.
    expect(segmentsAppliedByAllImporters(store, 'source-to-target')).toEqual([]);
    registerQueueImporter(store, 'source-to-target', 'target');
    registerQueueImporter(store, 'source-to-target', 'source-replica');
    registerQueueImporter(store, 'source-to-target', 'target'); // idempotent
    expect(listQueueImporters(store, 'source-to-target').map((importer) => [importer.importer, importer.appliedVsn])).toEqual([
      ['source-replica', 0],
      ['target', 0],
    ]);
    const second = closed[1];
    recordQueueApplied(store, 'source-to-target', 'target', second?.lastVsn ?? 0);
    expect(segmentsAppliedByAllImporters(store, 'source-to-target')).toEqual([]);
    recordQueueApplied(store, 'source-to-target', 'source-replica', (second?.lastVsn ?? 0) + 1);
    expect(segmentsAppliedByAllImporters(store, 'source-to-target').map((segment) => segment.segmentNo)).toEqual([1, 2]);
    // Applied positions never move back.
    recordQueueApplied(store, 'source-to-target', 'target', 1);
    expect(listQueueImporters(store, 'source-to-target').find((importer) => importer.importer === 'target')?.appliedVsn).toBe(second?.lastVsn);
    // The segment being written is never offered, even when everything is applied.
    const last = segments.at(-1);
    recordQueueApplied(store, 'source-to-target', 'target', 1_000_000);
    recordQueueApplied(store, 'source-to-target', 'source-replica', 1_000_000);
    const freeable = segmentsAppliedByAllImporters(store, 'source-to-target').map((segment) => segment.segmentNo);
    expect(freeable).toEqual(closed.map((segment) => segment.segmentNo));
    expect(freeable).not.toContain(last?.segmentNo);
    expect(() => recordQueueApplied(store, 'source-to-target', 'nobody', 5)).toThrow(StateError);
  });

  it('skips archived segments a reader no longer needs, and refuses when it needs one', async () => {
    await writeSegments(3);
    const [first, second] = listQueueSegments(store, 'source-to-target');
    for (const segment of [first, second]) {
      rmSync(join(place.queueDir, segment?.fileName ?? ''));
      markQueueSegmentArchived(store, 'source-to-target', segment?.segmentNo ?? 0, 'deleted', null);
    }
    expect(segmentsAppliedByAllImporters(store, 'source-to-target')).toEqual([]);
    expect(listQueueSegments(store, 'source-to-target')[0]).toMatchObject({ archiveState: 'deleted', archivePath: null });
    const fromVsn = (second?.lastVsn ?? 0) + 1;
    const head = getQueueStreamHead(store, 'source-to-target').lastVsn;
    const reader = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', fromVsn });
    const events = await reader.read(1000);
    reader.close();
    expect(events).toEqual(Array.from({ length: head - fromVsn + 1 }, (_, i) => expectedEvent(fromVsn + i)));
    const early = openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', fromVsn: 1 });
    await expect(early.read()).rejects.toThrow(QueueEventsArchivedError);
    early.close();
    // Only a closed segment can be archived.
    const open = listQueueSegments(store, 'source-to-target').at(-1);
    expect(() => markQueueSegmentArchived(store, 'source-to-target', open?.segmentNo ?? 0, 'archived', '/elsewhere')).toThrow(StateError);
  });

  it('refuses a commit that moves the queue backwards (two writers on one stream)', async () => {
    await writeSegments(1);
    const head = getQueueStreamHead(store, 'source-to-target');
    expect(() => recordQueueCommit(store, 'source-to-target', [], { lastVsn: head.lastVsn - 1, lastEndLsn: 'x' })).toThrow(/second exporter/);
    const last = listQueueSegments(store, 'source-to-target').at(-1);
    expect(() =>
      recordQueueCommit(
        store,
        'source-to-target',
        [{ segmentNo: last?.segmentNo ?? 0, fileName: last?.fileName ?? '', committedSize: 16, eventCount: 0, firstVsn: null, lastVsn: null, lastEndLsn: null, closed: false }],
        { lastVsn: head.lastVsn, lastEndLsn: head.lastEndLsn },
      ),
    ).toThrow(/second exporter/);
    expect(getQueueStreamHead(store, 'source-to-target')).toEqual(head);
  });
});
