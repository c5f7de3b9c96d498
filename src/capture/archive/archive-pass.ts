// One pass of `archive changes`: finish what a killed earlier pass left, then free (delete or archive)
// every segment every importer applied, oldest first, stream by stream, while the export directory's
// file system is over the threshold. The command repeats passes until the migration ends.

import type { QueueStream } from '../../core/change-event.js';
import { QUEUE_STREAMS } from '../../core/change-event.js';
import type { MigrationStore } from '../../state/store.js';
import { archiveSegment, deleteSegment, migrationArchiveDir, removeLeftOriginals, type FreedSegment } from './free-segment.js';
import { overThreshold } from './fs-utilization.js';
import { segmentsToFree, stillFreeable } from './select-segments.js';

/** What to do with applied segments. */
export type ArchivePolicy = { kind: 'delete' } | { kind: 'archive'; archiveDir: string };

export interface ArchivePassOptions {
  store: MigrationStore;
  /** data/queue/ of the export directory. */
  queueDir: string;
  policy: ArchivePolicy;
  /** Free only while the file system of `queueDir` is more than this many percent used; undefined: always. */
  fsUtilizationThreshold?: number;
  streams?: readonly QueueStream[];
  /** Called after each freed segment (the command prints it). */
  onFreed?: (freed: FreedSegment) => void;
  /** Stops between segments when aborted. */
  signal?: AbortSignal;
}

export interface ArchivePassResult {
  freed: FreedSegment[];
  /** Originals of already archived or deleted segments that an interrupted pass left and this one removed. */
  leftoversRemoved: number;
  /** True when the pass stopped because the file system was not over the threshold (segments may remain). */
  belowThreshold: boolean;
}

/** Runs one pass; see the file comment. */
export async function runArchivePass(options: ArchivePassOptions): Promise<ArchivePassResult> {
  const { store, queueDir, policy } = options;
  const leftoversRemoved = await removeLeftOriginals(store, queueDir);
  const freed: FreedSegment[] = [];
  const targetDir = policy.kind === 'archive' ? migrationArchiveDir(policy.archiveDir, store.getMigrationId()) : undefined;
  for (const stream of options.streams ?? QUEUE_STREAMS) {
    for (const segment of segmentsToFree(store, stream)) {
      if (options.signal?.aborted === true) return { freed, leftoversRemoved, belowThreshold: false };
      if (!(await overThreshold(queueDir, options.fsUtilizationThreshold))) return { freed, leftoversRemoved, belowThreshold: true };
      if (!stillFreeable(store, segment)) continue;
      const result =
        targetDir === undefined ? await deleteSegment(store, queueDir, segment) : await archiveSegment(store, queueDir, targetDir, segment);
      freed.push(result);
      options.onFreed?.(result);
    }
  }
  return { freed, leftoversRemoved, belowThreshold: false };
}
