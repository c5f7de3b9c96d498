import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockError } from '../../src/core/errors.js';
import type { LogFields, Logger } from '../../src/core/logger.js';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { acquireCommandLock, heldByThisProcess, isLockHeld, listLockHolders } from '../../src/state/lock.js';
import { assertBuilt, event, repoRoot, startFixture, tempDir, type Child } from './child-helpers.js';

const COMMAND = 'export-data-from-source';

function capturingLogger(): Logger & { lines: { level: string; message: string; fields?: LogFields }[] } {
  const lines: { level: string; message: string; fields?: LogFields }[] = [];
  const at = (level: string) => (message: string, fields?: LogFields) => void lines.push({ level, message, fields });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
}

const isEvent = (name: string) => (line: string) => line.startsWith('{') && event(line)['event'] === name;
const isOutcome = (line: string) => line.startsWith('{') && ['acquired', 'refused'].includes(String(event(line)['event']));

describe('command locks', () => {
  let base: { path: string; cleanup: () => void };
  let dir: ExportDir;
  const children: Child[] = [];
  beforeEach(() => {
    assertBuilt();
    base = tempDir('lock');
    dir = openExportDir(join(base.path, 'export'));
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      child.process.kill('SIGKILL');
      await child.exited;
    }
    base.cleanup();
  });

  function holder(...extra: string[]): Child {
    const child = startFixture('state-lock-holder.mjs', [dir.root, COMMAND, ...extra]);
    children.push(child);
    return child;
  }

  it('refuses a second process with a message naming the first one', async () => {
    const first = holder();
    const acquired = event(await first.waitForLine(isEvent('acquired')));
    const info = acquired['info'] as { startedAt: string };
    const second = holder();
    const refused = event(await second.waitForLine(isOutcome));
    expect(refused).toMatchObject({ event: 'refused', name: 'LockError', exitCode: 4 });
    expect(refused['message']).toBe(
      `The command ${COMMAND} is already running for the export directory ${dir.root}: pid ${first.pid} on host ${hostname()} (godwit ${COMMAND}, started at ${info.startedAt}).`,
    );
    expect(refused['hint']).toBe(`Wait for it to finish, or stop it (kill ${first.pid}), then run the command again.`);

    // and this process is refused the same way
    let caught: unknown;
    try {
      acquireCommandLock(dir, COMMAND);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(LockError);
    expect((caught as LockError).message).toContain(`pid ${first.pid} on host`);
    expect(listLockHolders(dir)).toEqual([{ command: COMMAND, holder: acquired['info'] }]);
  });

  it('takes over the lock of a SIGKILLed process and warns about it', async () => {
    const victim = holder();
    await victim.waitForLine(isEvent('acquired'));
    victim.process.kill('SIGKILL');
    await victim.exited;
    expect(existsSync(dir.lockInfoFile(COMMAND))).toBe(true); // the note is left behind
    expect(isLockHeld(dir, COMMAND)).toBe(false);
    expect(listLockHolders(dir)).toEqual([]);

    const logger = capturingLogger();
    const lock = acquireCommandLock(dir, COMMAND, { logger });
    try {
      expect(lock.info.pid).toBe(process.pid);
      const warnings = logger.lines.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toContain(`Taking over the stale lock of ${COMMAND}: pid ${victim.pid} on host`);
      const note = JSON.parse(readFileSync(dir.lockInfoFile(COMMAND), 'utf8')) as { pid: number };
      expect(note.pid).toBe(process.pid);
      expect(isLockHeld(dir, COMMAND)).toBe(true);
    } finally {
      lock.release();
    }
  });

  it('lets the next process in once the holder releases', async () => {
    const first = holder();
    await first.waitForLine(isEvent('acquired'));
    first.process.stdin?.write('release\n');
    await first.waitForLine(isEvent('released'));
    await first.exited;
    expect(existsSync(dir.lockInfoFile(COMMAND))).toBe(false);

    const logger = capturingLogger();
    const lock = acquireCommandLock(dir, COMMAND, { logger });
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]); // a clean handover is not stale
    lock.release();
    expect(lock.held).toBe(false);
    lock.release(); // idempotent

    const next = holder();
    expect(event(await next.waitForLine(isOutcome))['event']).toBe('acquired');
  });

  it('refuses a second connection of the same process, and locks of different commands are independent', () => {
    const lock = acquireCommandLock(dir, COMMAND);
    try {
      expect(() => acquireCommandLock(dir, COMMAND)).toThrow(`pid ${process.pid} on host`);
      expect(heldByThisProcess(dir, COMMAND)).toBe(lock);
      const other = acquireCommandLock(dir, 'import-data-to-target');
      expect(listLockHolders(dir).map((held) => held.command)).toEqual(['export-data-from-source', 'import-data-to-target']);
      other.release();
      // the probe of listLockHolders did not drop our own lock (same process, same file)
      expect(() => acquireCommandLock(dir, COMMAND)).toThrow(LockError);
    } finally {
      lock.release();
    }
    expect(heldByThisProcess(dir, COMMAND)).toBeUndefined();
    acquireCommandLock(dir, COMMAND).release();
  });

  /**
   * A process that locks the lock file the way a just-started winner does, without a note, and
   * lets go after `holdMs`: the moment every other racer meets when they all lost an attempt.
   */
  async function bareHolder(holdMs: number): Promise<{ exited: Promise<void> }> {
    const script = `const D=require('better-sqlite3');const db=new D(process.argv[1]);db.pragma('locking_mode = EXCLUSIVE');db.exec('BEGIN EXCLUSIVE');console.log('locked');setTimeout(()=>process.exit(0),${holdMs});`;
    const child = spawn(process.execPath, ['-e', script, dir.lockDbFile(COMMAND)], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    children.push({ process: child } as Child);
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the bare holder exited (${String(code)}) before locking`)));
    });
    return { exited };
  }

  it('keeps trying a busy lock while its note names nobody alive, and takes it once free', async () => {
    const victim = holder();
    await victim.waitForLine(isEvent('acquired'));
    victim.process.kill('SIGKILL');
    await victim.exited; // its note stays: a stale note naming a dead process
    const bare = await bareHolder(1_000);
    const logger = capturingLogger();
    const lock = acquireCommandLock(dir, COMMAND, { logger });
    try {
      await bare.exited;
      expect(lock.info.pid).toBe(process.pid);
      expect(logger.lines.map((line) => line.message)).toEqual([expect.stringContaining(`stale lock of ${COMMAND}: pid ${victim.pid}`)]);
    } finally {
      lock.release();
    }
  });

  it('refuses a lock held by a process that never says who it is, after a bounded wait', async () => {
    mkdirSync(dir.locksDir, { recursive: true });
    writeFileSync(dir.lockDbFile(COMMAND), '');
    await bareHolder(60_000);
    const started = Date.now();
    expect(() => acquireCommandLock(dir, COMMAND)).toThrow('its lock is held by a process that has not recorded who it is');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('gives a stale lock to exactly one of several racing processes', async () => {
    for (let round = 0; round < 5; round += 1) {
      const victim = holder();
      await victim.waitForLine(isEvent('acquired'));
      victim.process.kill('SIGKILL');
      await victim.exited;

      const startAt = String(Date.now() + 700);
      const racers = [holder(startAt), holder(startAt), holder(startAt)];
      const outcomes = await Promise.all(racers.map(async (racer) => event(await racer.waitForLine(isOutcome))));
      const winners = outcomes.filter((outcome) => outcome['event'] === 'acquired');
      expect(winners).toHaveLength(1);
      const winnerPid = winners[0]?.['pid'];
      for (const outcome of outcomes.filter((o) => o['event'] === 'refused')) {
        // the losers name the winner, never the dead victim
        expect(outcome['message']).toContain(`pid ${String(winnerPid)} on host`);
        expect(outcome['message']).not.toContain(`pid ${victim.pid} `);
      }
      const winner = racers.find((racer) => racer.pid === winnerPid);
      const warned = winner?.lines.filter((line) => isEvent('log')(line)).map((line) => String(event(line)['message']));
      expect(warned).toEqual([expect.stringContaining(`stale lock of ${COMMAND}: pid ${victim.pid}`)]);
      for (const racer of racers) racer.process.kill('SIGKILL');
      await Promise.all(racers.map((racer) => racer.exited));
    }
  }, 60_000);
});
