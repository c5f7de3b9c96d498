// The effects of `end migration`, each safe to repeat so that a crash anywhere is cured by running
// the command again: stop godwit processes still running for the export directory, copy the backups,
// and finally empty the export directory (while this process still holds its own lock, whose files
// go last).

import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StateError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ExportDir } from '../state/export-dir.js';
import { isLockHeld, type CommandLock, type HeldLock } from '../state/lock.js';
import type { DirectoryBackup } from './end-plan.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Stops the godwit commands still holding their lock: SIGTERM (they stop at a safe point), and SIGKILL
 * for those still running after `graceMs`. Only processes on this host can be signalled; a holder on
 * another host (or one that has not said who it is) is an error naming it.
 */
export async function stopRunningCommands(dir: ExportDir, running: readonly HeldLock[], logger: Logger, graceMs = 20_000): Promise<void> {
  const here = hostname();
  for (const held of running) {
    if (held.holder === undefined || held.holder.host !== here) {
      const who = held.holder === undefined ? 'a process that has not said who it is' : `pid ${held.holder.pid} on host ${held.holder.host}`;
      throw new StateError(`\`godwit ${held.command.replaceAll('-', ' ')}\` is running for this export directory (${who}); end migration cannot stop it from here. Nothing was removed.`, {
        hint: 'Stop it where it runs, then run end migration again.',
      });
    }
  }
  for (const held of running) {
    logger.info(`stopping godwit ${held.command} (pid ${held.holder?.pid}) with SIGTERM`);
    signalProcess(held.holder?.pid as number, 'SIGTERM');
  }
  const stillHeld = (): HeldLock[] => running.filter((h) => isLockHeld(dir, h.command));
  const deadline = Date.now() + graceMs;
  while (stillHeld().length > 0 && Date.now() < deadline) await sleep(200);
  for (const held of stillHeld()) {
    logger.warn(`godwit ${held.command} (pid ${held.holder?.pid}) did not stop within ${graceMs / 1000} s; sending SIGKILL`);
    signalProcess(held.holder?.pid as number, 'SIGKILL');
  }
  const killDeadline = Date.now() + 10_000;
  while (stillHeld().length > 0 && Date.now() < killDeadline) await sleep(200);
  const left = stillHeld();
  if (left.length > 0) {
    throw new StateError(`These godwit commands still hold their lock after SIGKILL: ${left.map((h) => h.command).join(', ')}. Nothing was removed.`, {
      hint: 'Find and stop them (ps, systemctl), then run end migration again.',
    });
  }
}

/** Copies one directory into the backup (replacing an earlier partial copy); a missing source is skipped and reported. */
export function copyBackup(copy: DirectoryBackup, logger: Logger): boolean {
  if (!existsSync(copy.from)) {
    logger.info(`no ${copy.what} to back up (${copy.from} does not exist)`);
    return false;
  }
  try {
    rmSync(copy.to, { recursive: true, force: true });
    mkdirSync(copy.to, { recursive: true });
    cpSync(copy.from, copy.to, { recursive: true, errorOnExist: false, force: true });
  } catch (error) {
    throw new StateError(`Cannot back up the ${copy.what} from ${copy.from} to ${copy.to}: ${describeError(error)}. Nothing was removed.`, {
      cause: error,
      hint: 'Free space or fix the permissions of the backup directory, then run end migration again.',
    });
  }
  logger.info(`backed up ${copy.what} to ${copy.to}`);
  return true;
}

/** Writes report files (name -> content) into `dir`. */
export function writeReportFiles(dir: string, files: Readonly<Record<string, string>>, logger: Logger): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), content);
    logger.info(`saved ${join(dir, name)}`);
  }
}

/**
 * Empties the export directory: everything but the locks first, then this command's own lock is
 * released and the metainfo directory (locks included) goes last, so no other godwit command can
 * start in a half-emptied directory while this one still works in it.
 */
export function emptyExportDir(dir: ExportDir, ownLock: CommandLock | undefined): void {
  for (const entry of readdirSync(dir.root)) {
    const path = join(dir.root, entry);
    if (path === dir.metainfoDir) {
      for (const inner of readdirSync(path)) {
        if (join(path, inner) !== dir.locksDir) rmSync(join(path, inner), { recursive: true, force: true });
      }
      continue;
    }
    rmSync(path, { recursive: true, force: true });
  }
  ownLock?.release();
  rmSync(dir.metainfoDir, { recursive: true, force: true });
}
