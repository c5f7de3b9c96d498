// The archive pass on a real queue (no database): only segments every importer applied go, never the
// one being written, a lagging importer keeps its segments; policy archive copies identical bytes
// before removing the original; what a crash between the steps leaves is finished by the next pass;
// a reader started after archiving from an applied vsn still reads everything it needs.
import { copyFileSync, existsSync, mkdirSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runArchivePass } from '../../src/capture/archive/archive-pass.js';
import { QueueEventsArchivedError } from '../../src/capture/queue/queue-errors.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import type { QueueWriter } from '../../src/capture/queue/segment-writer.js';
import {
  getQueueStreamHead,
  listQueueSegments,
  markQueueSegmentArchived,
  recordQueueApplied,
  registerQueueImporter,
} from '../../src/state/queue-store.js';
import { expectedEvent } from '../queue/queue-helpers.js';
import { archivePlace, sha256, writeQueue, type ArchivePlace } from './archive-helpers.js';

const STREAM = 'source-to-target';

describe('archive pass', () => {
  let place: ArchivePlace;
  let writer: QueueWriter;
  beforeEach(async () => {
    place = archivePlace('pass');
    writer = await writeQueue(place, 60);
  });
  afterEach(async () => {
    await writer.close();
    place.cleanup();
  });

  const segments = () => listQueueSegments(place.store, STREAM);
  const fileOf = (fileName: string) => join(place.exportDir.queueDir, fileName);

  it('frees nothing while no importer is registered', async () => {
    expect(segments().length).toBeGreaterThan(5);
    const pass = await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' } });
    expect(pass.freed).toEqual([]);
    expect(segments().every((s) => s.archiveState === 'present')).toBe(true);
  });

  it('frees the fall-back stream (target-to-source) by what import data to source applied, independently of the forward stream', async () => {
    const reverse = await writeQueue(place, 40, 10, 4096, 'target-to-source');
    try {
      const back = () => listQueueSegments(place.store, 'target-to-source');
      registerQueueImporter(place.store, STREAM, 'import-data-to-target');
      registerQueueImporter(place.store, 'target-to-source', 'import-data-to-source');
      const forwardAt = segments()[1]!.lastVsn!;
      const backAt = back()[2]!.lastVsn!;
      recordQueueApplied(place.store, STREAM, 'import-data-to-target', forwardAt);
      recordQueueApplied(place.store, 'target-to-source', 'import-data-to-source', backAt);
      const pass = await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' } });
      expect(pass.freed.map((f) => [f.segment.stream, f.segment.segmentNo])).toEqual([
        ...segments().slice(0, 2).map((s) => [STREAM, s.segmentNo]),
        ...back().slice(0, 3).map((s) => ['target-to-source', s.segmentNo]),
      ]);
      for (const s of back()) expect(existsSync(fileOf(s.fileName))).toBe(s.segmentNo > back()[2]!.segmentNo);
      // Both streams' reader starts after the applied vsn still read everything they need.
      const reader = openQueueReader({ store: place.store, queueDir: place.exportDir.queueDir, stream: 'target-to-source', fromVsn: backAt + 1 });
      expect((await reader.read(1))[0]?.vsn).toBe(backAt + 1);
      reader.close();
    } finally {
      await reverse.close();
    }
  });

  it('deletes only what every importer applied; a lagging importer keeps its segments; never the open segment', async () => {
    registerQueueImporter(place.store, STREAM, 'fast');
    registerQueueImporter(place.store, STREAM, 'slow');
    const all = segments();
    const head = getQueueStreamHead(place.store, STREAM).lastVsn;
    const slowAt = all[3]!.lastVsn!; // the slow importer applied the first four segments exactly
    recordQueueApplied(place.store, STREAM, 'fast', head);
    recordQueueApplied(place.store, STREAM, 'slow', slowAt);

    const pass = await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' } });
    expect(pass.freed.map((f) => f.segment.segmentNo)).toEqual(all.slice(0, 4).map((s) => s.segmentNo));
    for (const s of segments()) {
      const gone = s.segmentNo <= all[3]!.segmentNo;
      expect(s.archiveState).toBe(gone ? 'deleted' : 'present');
      expect(existsSync(fileOf(s.fileName))).toBe(!gone);
    }

    // Everything applied by both: every older segment goes, the newest (written or continued next) stays.
    recordQueueApplied(place.store, STREAM, 'slow', head);
    const open = segments().at(-1)!;
    await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' } });
    const after = segments();
    expect(after.filter((s) => s.archiveState === 'present').map((s) => s.segmentNo)).toEqual([open.segmentNo]);
    expect(readdirSync(place.exportDir.queueDir)).toEqual([open.fileName]);

    // The writer goes on in the open segment; readers from the applied vsn read everything new.
    for (let i = 0; i < 5; i += 1) writer.append({ ...expectedEvent(writer.nextVsn) });
    writer.endTransaction(`${writer.nextVsn - 1}/999`);
    await writer.commit();
    const reader = openQueueReader({ store: place.store, queueDir: place.exportDir.queueDir, stream: STREAM, fromVsn: head + 1 });
    const events = await reader.read(100);
    reader.close();
    expect(events.map((e) => e.vsn)).toEqual([head + 1, head + 2, head + 3, head + 4, head + 5]);
  });

  it('never frees the newest segment, even when it is closed and applied', async () => {
    await writer.close();
    writer = await writeQueue(place, 0); // reopens: nothing new
    registerQueueImporter(place.store, STREAM, 'only');
    recordQueueApplied(place.store, STREAM, 'only', getQueueStreamHead(place.store, STREAM).lastVsn);
    await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' } });
    const newest = segments().at(-1)!;
    expect(newest.archiveState).toBe('present');
    expect(existsSync(fileOf(newest.fileName))).toBe(true);
  });

  it('archives identical bytes, then removes the original; a reader from an applied vsn reads everything it needs', async () => {
    registerQueueImporter(place.store, STREAM, 'imp');
    const all = segments();
    const appliedVsn = all[5]!.lastVsn! + 3; // inside segment 7: segments 1..6 may go
    recordQueueApplied(place.store, STREAM, 'imp', appliedVsn);
    const hashes = new Map(all.map((s) => [s.fileName, sha256(fileOf(s.fileName))]));
    mkdirSync(place.archiveDir);

    const printed: string[] = [];
    const pass = await runArchivePass({
      store: place.store,
      queueDir: place.exportDir.queueDir,
      policy: { kind: 'archive', archiveDir: place.archiveDir },
      onFreed: (f) => printed.push(f.segment.fileName),
    });
    expect(pass.freed).toHaveLength(6);
    expect(printed).toEqual(all.slice(0, 6).map((s) => s.fileName));
    const migrationDir = join(place.archiveDir, place.store.getMigrationId());
    for (const s of segments()) {
      if (s.segmentNo <= all[5]!.segmentNo) {
        expect(s.archiveState).toBe('archived');
        expect(s.archivePath).toBe(join(migrationDir, s.fileName));
        expect(sha256(s.archivePath!)).toBe(hashes.get(s.fileName));
        expect(existsSync(fileOf(s.fileName))).toBe(false);
      } else {
        expect(s.archiveState).toBe('present');
        expect(sha256(fileOf(s.fileName))).toBe(hashes.get(s.fileName));
      }
    }
    expect(readdirSync(migrationDir).sort()).toEqual(all.slice(0, 6).map((s) => s.fileName));

    // The importer restarting from its applied vsn reads on to the head without a gap.
    const head = getQueueStreamHead(place.store, STREAM).lastVsn;
    const reader = openQueueReader({ store: place.store, queueDir: place.exportDir.queueDir, stream: STREAM, fromVsn: appliedVsn + 1 });
    const vsns: number[] = [];
    for (let batch = await reader.read(50); batch.length > 0; batch = await reader.read(50)) {
      for (const event of batch) {
        expect(event).toEqual(expectedEvent(event.vsn));
        vsns.push(event.vsn);
      }
    }
    reader.close();
    expect(vsns).toEqual(Array.from({ length: head - appliedVsn }, (_, i) => appliedVsn + 1 + i));

    // A reader that needs an archived event is refused with the typed error.
    const early = openQueueReader({ store: place.store, queueDir: place.exportDir.queueDir, stream: STREAM, fromVsn: 1 });
    await expect(early.read(10)).rejects.toBeInstanceOf(QueueEventsArchivedError);
    early.close();
  });

  it('finishes what a crash between the steps left', async () => {
    registerQueueImporter(place.store, STREAM, 'imp');
    recordQueueApplied(place.store, STREAM, 'imp', getQueueStreamHead(place.store, STREAM).lastVsn);
    const [first, second] = segments();
    // policy archive killed after recording the copy, before deleting the original:
    mkdirSync(join(place.archiveDir, place.store.getMigrationId()), { recursive: true });
    const copy = join(place.archiveDir, place.store.getMigrationId(), first!.fileName);
    copyFileSync(fileOf(first!.fileName), copy);
    markQueueSegmentArchived(place.store, STREAM, first!.segmentNo, 'archived', copy);
    // policy delete killed after deleting the file, before recording it:
    unlinkSync(fileOf(second!.fileName));

    const pass = await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' } });
    expect(pass.leftoversRemoved).toBe(1);
    expect(existsSync(fileOf(first!.fileName))).toBe(false);
    expect(existsSync(copy)).toBe(true);
    expect(pass.freed[0]).toMatchObject({ action: 'already-gone', bytes: 0 });
    expect(segments()[1]!.archiveState).toBe('deleted');
  });

  it('frees nothing while the file system is not over the threshold', async () => {
    registerQueueImporter(place.store, STREAM, 'imp');
    recordQueueApplied(place.store, STREAM, 'imp', getQueueStreamHead(place.store, STREAM).lastVsn);
    const kept = await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' }, fsUtilizationThreshold: 100 });
    expect(kept).toMatchObject({ freed: [], belowThreshold: true });
    const freed = await runArchivePass({ store: place.store, queueDir: place.exportDir.queueDir, policy: { kind: 'delete' }, fsUtilizationThreshold: 0 });
    expect(freed.freed.length).toBe(segments().length - 1);
  });
});
