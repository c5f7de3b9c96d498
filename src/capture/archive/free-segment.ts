// Freeing one change segment, in an order that survives a crash at any point:
//
// - policy delete: unlink the file and fsync data/queue/, THEN mark it 'deleted' in the store. A crash
//   in between leaves a 'present' row whose file is gone; only archive changes looks at it (every
//   importer is past it, so no reader opens it) and the next pass finds the file missing and marks it.
// - policy archive: copy to <archive dir>/<migration id>/<file>.partial, fsync it, rename it to its
//   name, fsync that directory, THEN mark it 'archived' with that path, THEN unlink the original and
//   fsync data/queue/. A crash leaves the original or a complete durable copy (or both), and the store
//   never points at a missing copy; the next pass removes an original whose copy is recorded.

import { constants } from 'node:fs';
import { copyFile, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateError, describeError } from '../../core/errors.js';
import { listQueueSegments, markQueueSegmentArchived, type QueueSegment } from '../../state/queue-store.js';
import type { MigrationStore } from '../../state/store.js';
import { QUEUE_STREAMS } from '../../core/change-event.js';
import { syncDirectory } from '../queue/segment-files.js';

/** Tests only: milliseconds to wait after each durable step, so a SIGKILL can land between them. */
export const ARCHIVE_STEP_PAUSE_ENV = 'GODWIT_TEST_ARCHIVE_STEP_PAUSE_MS';

/** What freeing one segment did. */
export interface FreedSegment {
  segment: QueueSegment;
  action: 'deleted' | 'archived' | 'already-gone';
  /** Bytes removed from data/queue/ (0 when the file was already gone). */
  bytes: number;
  /** Where the copy is (policy archive). */
  archivePath: string | null;
}

/** The directory archived segments of this migration go to: <archive dir>/<migration id>/. */
export function migrationArchiveDir(archiveDir: string, migrationId: string): string {
  return join(archiveDir, migrationId);
}

/** Deletes a segment file that every importer applied, then records it 'deleted'. */
export async function deleteSegment(store: MigrationStore, queueDir: string, segment: QueueSegment): Promise<FreedSegment> {
  const path = join(queueDir, segment.fileName);
  const bytes = await fileSize(path);
  if (bytes !== undefined) {
    await removeFile(path);
    await syncDirectory(queueDir);
    await testPause();
  }
  markQueueSegmentArchived(store, segment.stream, segment.segmentNo, 'deleted', null);
  return { segment, action: bytes === undefined ? 'already-gone' : 'deleted', bytes: bytes ?? 0, archivePath: null };
}

/** Copies a segment file durably into `targetDir`, records the copy, then deletes the original. */
export async function archiveSegment(store: MigrationStore, queueDir: string, targetDir: string, segment: QueueSegment): Promise<FreedSegment> {
  const source = join(queueDir, segment.fileName);
  const bytes = await fileSize(source);
  if (bytes === undefined) {
    // Only a crash of an earlier `--policy delete` run (between its unlink and its record) leaves this.
    markQueueSegmentArchived(store, segment.stream, segment.segmentNo, 'deleted', null);
    return { segment, action: 'already-gone', bytes: 0, archivePath: null };
  }
  const target = join(targetDir, segment.fileName);
  const partial = `${target}.partial`;
  try {
    // A directory created here needs its own entry made durable too.
    if ((await mkdir(targetDir, { recursive: true })) !== undefined) await syncDirectory(dirname(targetDir));
    await copyFile(source, partial, constants.COPYFILE_FICLONE);
    const handle = await open(partial, 'r+');
    try {
      await handle.sync();
      const copied = (await handle.stat()).size;
      if (copied !== bytes) throw new Error(`the copy has ${copied} bytes, the segment ${bytes}`);
    } finally {
      await handle.close();
    }
    await rename(partial, target);
  } catch (error) {
    throw new StateError(`Could not copy the change segment ${source} to ${target}: ${describeError(error)}.`, {
      cause: error,
      hint: 'Check that the archive directory is writable and has room; the segment stays in data/queue until it is copied.',
    });
  }
  await syncDirectory(targetDir);
  await testPause();
  markQueueSegmentArchived(store, segment.stream, segment.segmentNo, 'archived', target);
  await testPause();
  await removeFile(source);
  await syncDirectory(queueDir);
  await testPause();
  return { segment, action: 'archived', bytes, archivePath: target };
}

/**
 * Removes the originals a crash left behind: files still in data/queue/ whose segment the store
 * already records as archived (its copy exists) or deleted. Returns how many were removed.
 */
export async function removeLeftOriginals(store: MigrationStore, queueDir: string): Promise<number> {
  let removed = 0;
  for (const stream of QUEUE_STREAMS) {
    for (const segment of listQueueSegments(store, stream)) {
      if (segment.archiveState === 'present') continue;
      const path = join(queueDir, segment.fileName);
      if ((await fileSize(path)) === undefined) continue;
      if (segment.archiveState === 'archived' && (segment.archivePath === null || (await fileSize(segment.archivePath)) === undefined)) {
        // The copy the store names is gone (moved by hand?): keep the only remaining bytes.
        continue;
      }
      await removeFile(path);
      removed += 1;
    }
  }
  if (removed > 0) await syncDirectory(queueDir);
  return removed;
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StateError(`Could not read ${path}: ${describeError(error)}.`, { cause: error });
  }
}

async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new StateError(`Could not delete the change segment ${path}: ${describeError(error)}.`, { cause: error });
  }
}

async function testPause(): Promise<void> {
  const ms = Number(process.env[ARCHIVE_STEP_PAUSE_ENV] ?? 0);
  if (ms > 0) await sleep(ms);
}
