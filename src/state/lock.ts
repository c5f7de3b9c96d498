// Per-command locks in metainfo/locks/, so that a second copy of a running command refuses to start
// (two exporters on one replication slot, or two importers on one queue, would corrupt a migration).
//
// The lock itself is an OS-level lock the kernel drops when the process dies, however it dies: an
// SQLite connection to `<command>.lock.db` that holds an EXCLUSIVE transaction for as long as the
// lock is held (SQLite takes POSIX fcntl locks, and also arbitrates between connections of one
// process). Nothing is ever written to that file, and it is never deleted: deleting it while held
// would let a second process lock a fresh inode. Beside it, `<command>.lock` is a JSON note of who
// holds the lock, only for messages: a note whose lock is free is stale and is simply replaced.

import { hostname } from 'node:os';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { LockError, StateError, describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { assertCommandName, type ExportDir } from './export-dir.js';
import { GODWIT_VERSION } from '../core/version.js';

/**
 * How long one attempt waits for the lock file (SQLite's busy timeout). Not zero: two processes
 * racing for a free lock both take SQLite's SHARED step first, and with no wait at all both could
 * give up at once.
 */
export const LOCK_WAIT_MS = 300;
/**
 * How long an acquire keeps trying while no live process is known to hold the lock. Racing
 * processes can all lose their attempts (each steps back while another holds SHARED, and under load
 * a descheduled racer makes the others' waits run out), so a busy lock whose note names nobody alive
 * is tried again; a note naming a live holder refuses at once. Also how long a refused process
 * waits for a fresh holder to write its note.
 */
const UNKNOWN_HOLDER_RETRY_MS = 3_000;

/** What the holder of a command lock writes about itself. */
export interface LockInfo {
  command: string;
  pid: number;
  host: string;
  startedAt: string;
  godwitVersion: string;
}

/** A lock this process holds; release it when the command ends (the kernel also drops it on death). */
export interface CommandLock {
  readonly command: string;
  readonly info: LockInfo;
  readonly held: boolean;
  release(): void;
}

/** A lock some process holds right now; `holder` is undefined when it has not said who it is. */
export interface HeldLock {
  command: string;
  holder: LockInfo | undefined;
}

export interface AcquireLockOptions {
  logger?: Logger;
  clock?: () => Date;
  waitMs?: number;
}

/** Takes the lock of `command` in `dir` for this process, or throws LockError naming the holder. */
export function acquireCommandLock(dir: ExportDir, command: string, options: AcquireLockOptions = {}): CommandLock {
  assertCommandName(command);
  const logger = options.logger ?? silentLogger;
  mkdirSync(dir.locksDir, { recursive: true });
  const db = lockExclusively(dir, command, options.waitMs ?? LOCK_WAIT_MS);
  const previous = readLockInfo(dir, command);
  if (previous !== undefined) {
    logger.warn(`Taking over the stale lock of ${command}: ${describeHolder(previous)} is no longer running.`, {
      lockFile: dir.lockInfoFile(command),
      previous,
    });
  }
  const info: LockInfo = {
    command,
    pid: process.pid,
    host: hostname(),
    startedAt: (options.clock ?? (() => new Date()))().toISOString(),
    godwitVersion: GODWIT_VERSION,
  };
  try {
    writeLockInfo(dir, command, info);
  } catch (error) {
    db.close();
    throw new StateError(`Cannot write the lock note ${dir.lockInfoFile(command)}: ${describeError(error)}`, { cause: error });
  }
  return new HeldCommandLock(dir, command, info, db);
}

/** Every command lock held right now in `dir` (by any process, this one included), for warnings. */
export function listLockHolders(dir: ExportDir): HeldLock[] {
  let names: string[];
  try {
    names = readdirSync(dir.locksDir);
  } catch {
    return [];
  }
  const held: HeldLock[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith('.lock.db')) continue;
    const command = name.slice(0, -'.lock.db'.length);
    if (isLockHeld(dir, command)) held.push({ command, holder: readLockInfo(dir, command) });
  }
  return held;
}

/** True when some process holds the lock of `command` (probes without taking it for more than an instant). */
export function isLockHeld(dir: ExportDir, command: string): boolean {
  assertCommandName(command);
  let db: Database.Database;
  try {
    db = new Database(dir.lockDbFile(command), { fileMustExist: true });
  } catch {
    return false;
  }
  try {
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    db.exec('ROLLBACK');
    return false;
  } catch (error) {
    if (isBusy(error)) return true;
    throw new StateError(`Cannot inspect the lock ${dir.lockDbFile(command)}: ${describeError(error)}`, { cause: error });
  } finally {
    db.close();
  }
}

/** One line naming a lock holder, for refusals and warnings. */
export function describeHolder(info: LockInfo): string {
  return `pid ${info.pid} on host ${info.host} (godwit ${info.command}, started at ${info.startedAt})`;
}

/** Locks this process holds, by lock file: lets start-clean see that the lock it needs is already ours. */
const heldHere = new Map<string, CommandLock>();

/** The lock of `command` if this very process holds it (through acquireCommandLock), else undefined. */
export function heldByThisProcess(dir: ExportDir, command: string): CommandLock | undefined {
  return heldHere.get(dir.lockDbFile(command));
}

class HeldCommandLock implements CommandLock {
  readonly command: string;
  readonly info: LockInfo;
  private readonly dir: ExportDir;
  private db: Database.Database | undefined;
  private readonly onExit = (): void => this.release();

  constructor(dir: ExportDir, command: string, info: LockInfo, db: Database.Database) {
    this.dir = dir;
    this.command = command;
    this.info = info;
    this.db = db;
    heldHere.set(dir.lockDbFile(command), this);
    process.on('exit', this.onExit);
  }

  get held(): boolean {
    return this.db !== undefined;
  }

  release(): void {
    const db = this.db;
    if (db === undefined) return;
    this.db = undefined;
    heldHere.delete(this.dir.lockDbFile(this.command));
    process.off('exit', this.onExit);
    // The note goes first: once the OS lock is free another process may write its own note.
    const note = readLockInfo(this.dir, this.command);
    if (note !== undefined && note.pid === this.info.pid && note.startedAt === this.info.startedAt) {
      rmSync(this.dir.lockInfoFile(this.command), { force: true });
    }
    db.close();
  }
}

function openLockDb(file: string): Database.Database {
  try {
    return new Database(file);
  } catch (error) {
    throw new StateError(`Cannot open the lock file ${file}: ${describeError(error)}`, { cause: error });
  }
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

function lockedError(dir: ExportDir, command: string, holder: LockInfo | undefined): LockError {
  if (holder === undefined) {
    return new LockError(
      `The command ${command} is already running for the export directory ${dir.root} (its lock is held by a process that has not recorded who it is).`,
      { hint: `Wait for it to finish, or stop it, then run the command again. Lock file: ${dir.lockDbFile(command)}` },
    );
  }
  const where = holder.host === hostname() ? '' : ` on host ${holder.host}`;
  return new LockError(
    `The command ${command} is already running for the export directory ${dir.root}: ${describeHolder(holder)}.`,
    { hint: `Wait for it to finish, or stop it (kill ${holder.pid}${where}), then run the command again.` },
  );
}

/**
 * Opens the lock file and holds it in an EXCLUSIVE transaction, or throws LockError. While the lock
 * is busy and its note names no live process (a racer that has just won and not yet written its
 * note, or racers that all lost their attempt), it tries again after a random pause, so that
 * exactly one of several starters wins and the others name it.
 */
function lockExclusively(dir: ExportDir, command: string, waitMs: number): Database.Database {
  const deadline = Date.now() + UNKNOWN_HOLDER_RETRY_MS;
  for (;;) {
    const db = openLockDb(dir.lockDbFile(command));
    try {
      db.pragma(`busy_timeout = ${waitMs}`);
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      return db;
    } catch (error) {
      db.close();
      if (!isBusy(error)) {
        throw new StateError(`Cannot take the lock ${dir.lockDbFile(command)}: ${describeError(error)}`, { cause: error });
      }
    }
    const holder = liveHolder(dir, command);
    if (holder !== undefined || Date.now() >= deadline) throw lockedError(dir, command, holder);
    sleepSync(20 + Math.floor(Math.random() * 80));
  }
}

/** The note of the lock's holder when it names a process still running (a dead one's note is stale). */
function liveHolder(dir: ExportDir, command: string): LockInfo | undefined {
  const info = readLockInfo(dir, command);
  return info !== undefined && (info.host !== hostname() || processAlive(info.pid)) ? info : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The note of whoever holds the lock of `command`, if it wrote one (for messages). */
export function readLockInfo(dir: ExportDir, command: string): LockInfo | undefined {
  let text: string;
  try {
    text = readFileSync(dir.lockInfoFile(command), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<LockInfo>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return undefined;
    return {
      command: typeof parsed.command === 'string' ? parsed.command : command,
      pid: parsed.pid,
      host: parsed.host,
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : 'an unknown time',
      godwitVersion: typeof parsed.godwitVersion === 'string' ? parsed.godwitVersion : 'unknown',
    };
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so a reader never sees half a note. */
function writeLockInfo(dir: ExportDir, command: string, info: LockInfo): void {
  const file = dir.lockInfoFile(command);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(temporary, file);
}
