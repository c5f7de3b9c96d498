// What `godwit archive changes` does (loaded only when it runs): checks its settings, then repeats an
// archive pass every few seconds until the migration ends or SIGINT/SIGTERM (exit status 0 either way),
// printing every segment it freed. It never reads standard input.

import { setTimeout as sleep } from 'node:timers/promises';
import { runArchivePass, type ArchivePolicy } from '../../capture/archive/archive-pass.js';
import { checkArchiveDir, sameFileSystem } from '../../capture/archive/archive-dir.js';
import type { FreedSegment } from '../../capture/archive/free-segment.js';
import { fsUtilizationPercent } from '../../capture/archive/fs-utilization.js';
import { migrationEnded } from '../../capture/archive/migration-end.js';
import { QUEUE_STREAMS } from '../../core/change-event.js';
import { StateError, UsageError } from '../../core/errors.js';
import { getLiveExport } from '../../state/live-export-store.js';
import type { CommandContext } from '../command-context.js';

/** How long to wait between passes. */
export const ARCHIVE_INTERVAL_MS = 5_000;
/** Tests only: another interval between passes, in milliseconds. */
export const ARCHIVE_INTERVAL_ENV = 'GODWIT_TEST_ARCHIVE_INTERVAL_MS';

/** The action of `godwit archive changes` (the spec is in archive-changes.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, exportDir, terminal, settings, signal, logger } = context;
  if (store === undefined || exportDir === undefined) throw new Error('archive changes runs in an export directory');
  const policyName = settings.options.string('policy');
  const archiveDirGiven = settings.options.string('archive-dir');
  const threshold = settings.options.int('fs-utilization-threshold');
  let policy: ArchivePolicy;
  if (policyName === 'archive') {
    if (archiveDirGiven === undefined) {
      throw new UsageError('--policy archive needs --archive-dir DIR: where to move the applied change segments.', {
        hint: 'Give --archive-dir (outside the export directory), or use --policy delete to delete them.',
      });
    }
    policy = { kind: 'archive', archiveDir: checkArchiveDir(exportDir.root, archiveDirGiven) };
  } else {
    if (archiveDirGiven !== undefined) {
      throw new UsageError(`--archive-dir is only used with --policy archive, but --policy is ${policyName ?? 'delete'}.`, {
        hint: 'Give --policy archive to keep copies of the segments there, or leave out --archive-dir to delete them.',
      });
    }
    policy = { kind: 'delete' };
  }
  // Refuse rather than wait: without a live export this directory will never have change segments
  // (a snapshot-only migration, or a mistyped --export-dir), and a silent wait would hide that.
  if (!QUEUE_STREAMS.some((stream) => getLiveExport(store, stream) !== undefined)) {
    throw new StateError(`The export directory ${exportDir.root} has no live export: there are no change segments to archive.`, {
      hint: 'Start `godwit export data from source --export-type snapshot-and-changes` with this --export-dir first, then run archive changes.',
    });
  }

  const where = policy.kind === 'archive' ? `move them to ${policy.archiveDir}` : 'delete them';
  const when = threshold === undefined ? '' : ` while the file system of ${exportDir.root} is more than ${threshold}% used`;
  terminal.print(`archive changes: will ${where} once every importer has applied them${when}; stop with Ctrl-C.`);
  if (policy.kind === 'archive' && sameFileSystem(exportDir.queueDir, policy.archiveDir)) {
    terminal.print(`archive changes: note: ${policy.archiveDir} is on the same file system as the export directory, so moving segments there frees no space.`);
  }

  const intervalMs = Number(process.env[ARCHIVE_INTERVAL_ENV] ?? ARCHIVE_INTERVAL_MS) || ARCHIVE_INTERVAL_MS;
  let segments = 0;
  let bytes = 0;
  let waitingNoted = false;
  const onFreed = (freed: FreedSegment): void => {
    segments += 1;
    bytes += freed.bytes;
    terminal.print(describeFreed(freed));
    logger.info('change segment freed', { file: freed.segment.fileName, action: freed.action, bytes: freed.bytes, archivePath: freed.archivePath });
  };
  let ended = false;
  while (!signal.aborted) {
    if (migrationEnded(exportDir.storeFile, store)) {
      ended = true;
      break;
    }
    const pass = await runArchivePass({ store, queueDir: exportDir.queueDir, policy, fsUtilizationThreshold: threshold, onFreed, signal });
    if (pass.leftoversRemoved > 0) terminal.print(`archive changes: removed ${pass.leftoversRemoved} segment file(s) an interrupted run had already archived or deleted.`);
    if (pass.belowThreshold && !waitingNoted && threshold !== undefined) {
      const used = await fsUtilizationPercent(exportDir.queueDir);
      terminal.print(`archive changes: the file system is ${used.toFixed(1)}% used, not more than ${threshold}%: keeping applied segments for now.`);
    }
    waitingNoted = pass.belowThreshold;
    try {
      await sleep(intervalMs, undefined, { signal });
    } catch {
      break;
    }
  }
  const total = `${segments} segment(s), ${formatMb(bytes)} freed in this run`;
  if (ended) {
    terminal.print(`archive changes: the migration has ended; ${total}.`);
  } else {
    const why = signal.reason instanceof Error ? signal.reason.message.replace(/\.$/, '') : 'stopped';
    terminal.print(`archive changes: stopped (${why}); ${total}. Run the same command to continue.`);
  }
}

function describeFreed(freed: FreedSegment): string {
  const { segment } = freed;
  const range = segment.firstVsn === null ? 'no events' : `vsn ${segment.firstVsn}-${segment.lastVsn ?? segment.firstVsn}`;
  switch (freed.action) {
    case 'deleted':
      return `archive changes: deleted ${segment.fileName} (${range}, ${formatMb(freed.bytes)})`;
    case 'archived':
      return `archive changes: archived ${segment.fileName} (${range}, ${formatMb(freed.bytes)}) to ${freed.archivePath ?? '?'}`;
    case 'already-gone':
      return `archive changes: ${segment.fileName} (${range}) was already deleted by an interrupted run; recorded it`;
  }
}

function formatMb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}
