// Commands of one migration may be started side by side (as a DBA does in several terminals): a
// command that needs another one's result waits while that other command is running, instead of
// failing on a half-made state (import data before import schema created the tables, export data
// before export schema recorded the source catalog). Nothing waits for a command that is not running.

import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../core/errors.js';
import type { ExportDir } from './export-dir.js';
import { describeHolder, isLockHeld, readLockInfo } from './lock.js';

/** How often a waiting command looks again (a lock probe costs well under a millisecond). */
const POLL_MS = 50;

/**
 * Waits while `command` (a command slug such as `import-schema`) holds its lock in `dir`, or until
 * `enough()` says what is needed of it is there; calls `onWait` once with a line to show when it has
 * to wait. An abort ends the wait with a UsageError.
 */
export async function waitWhileRunning(
  dir: ExportDir,
  command: string,
  signal: AbortSignal,
  onWait: (line: string) => void,
  enough: () => boolean = () => false,
): Promise<void> {
  let said = false;
  while (isLockHeld(dir, command) && !enough()) {
    if (!said) {
      const holder = readLockInfo(dir, command);
      onWait(`waiting for \`${command.replace(/-/g, ' ')}\` to finish${holder === undefined ? '' : ` (${describeHolder(holder)})`}`);
      said = true;
    }
    try {
      await sleep(POLL_MS, undefined, { signal });
    } catch {
      throw new UsageError(`Interrupted while waiting for \`${command.replace(/-/g, ' ')}\` to finish; nothing was changed, run the same command again.`);
    }
  }
}
