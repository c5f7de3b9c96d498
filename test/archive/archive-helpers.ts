// Helpers for the archive tests: a real export directory whose queue is written by openQueueWriter in
// small segments, importers registered and advanced with the store functions, and file hashes.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueueStream } from '../../src/core/change-event.js';
import { openQueueWriter, type QueueWriter } from '../../src/capture/queue/segment-writer.js';
import { recordLiveExportStarted } from '../../src/state/live-export-store.js';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { changeFor } from '../queue/queue-helpers.js';

export interface ArchivePlace {
  base: string;
  exportDir: ExportDir;
  store: MigrationStore;
  /** A directory outside the export directory. */
  archiveDir: string;
  cleanup(): void;
}

/** A fresh export directory (with its store) and an archive directory next to it. */
export function archivePlace(prefix: string, options: { liveExport?: boolean } = {}): ArchivePlace {
  const base = mkdtempSync(join(tmpdir(), `godwit-archive-${prefix}-`));
  const exportDir = openExportDir(join(base, 'export'));
  const store = openStore(exportDir.storeFile);
  if (options.liveExport !== false) recordLiveExportStarted(store, 'source-to-target', 'godwit_slot', 'godwit_pub');
  const archiveDir = join(base, 'archive');
  return {
    base,
    exportDir,
    store,
    archiveDir,
    cleanup: () => {
      store.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Writes `transactions` transactions of `perTransaction` events in segments of about `segmentBytes`, commits, and leaves the writer open. */
export async function writeQueue(
  place: ArchivePlace,
  transactions: number,
  perTransaction = 10,
  segmentBytes = 4096,
  stream: QueueStream = 'source-to-target',
): Promise<QueueWriter> {
  const writer = openQueueWriter({ store: place.store, queueDir: place.exportDir.queueDir, stream, segmentBytes });
  for (let t = 0; t < transactions; t += 1) {
    for (let i = 0; i < perTransaction; i += 1) writer.append(changeFor(writer.nextVsn));
    writer.endTransaction(`${writer.nextVsn - 1}/${t + 1}`);
  }
  await writer.commit();
  return writer;
}

/** SHA-256 of a file. */
export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
