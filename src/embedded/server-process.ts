// The server process behind an EmbeddedPostgres instance: start with a deadline, stop reliably
// (also when it already died), and stop without the event loop for signal and exit handlers.

import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EmbeddedPostgresInstance } from './load-embedded-postgres.js';

/** Starts the server; false when it exited or did not get ready in time (it is stopped then). */
export async function startInstance(instance: EmbeddedPostgresInstance, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    // embedded-postgres rejects with no reason when the server exits before it is ready.
    const started = await Promise.race([instance.start().then(() => true, () => false), timedOut]);
    if (!started) await stopInstance(instance);
    return started;
  } finally {
    clearTimeout(timer);
  }
}

// embedded-postgres keeps its child process private and its stop() waits for an 'exit' event that
// never comes when the server already died; look at the child to stop (or forget) it reliably.
function childOf(instance: EmbeddedPostgresInstance): ChildProcess | undefined {
  return Reflect.get(instance, 'process') as ChildProcess | undefined;
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Stops the server: fast shutdown, then immediate shutdown, then kill; then forgets the process. */
export async function stopInstance(instance: EmbeddedPostgresInstance): Promise<void> {
  const child = childOf(instance);
  if (child === undefined) return;
  if (!hasExited(child)) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const stopped = instance.stop().catch(() => undefined);
    if (!(await settlesWithin(stopped, 30_000))) {
      child.kill('SIGQUIT'); // immediate shutdown
      if (!(await settlesWithin(exited, 5_000))) child.kill('SIGKILL');
      await settlesWithin(exited, 5_000);
    }
  }
  Reflect.set(instance, 'process', undefined);
}

/** Immediate shutdown (SIGQUIT to the postmaster: no checkpoint, like a crash); the instance can be started again. */
export async function crashInstance(instance: EmbeddedPostgresInstance): Promise<void> {
  const child = childOf(instance);
  if (child === undefined) return;
  if (!hasExited(child)) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGQUIT');
    if (!(await settlesWithin(exited, 10_000))) child.kill('SIGKILL');
    await settlesWithin(exited, 5_000);
  }
  Reflect.set(instance, 'process', undefined);
}

/**
 * Stops the server without yielding to the event loop, for signal and exit handlers.
 * Escalates fast shutdown -> immediate shutdown -> kill, watching postmaster.pid, which the server
 * removes when it has shut down (the child's exit event cannot be seen without the event loop).
 */
export function stopInstanceSync(instance: EmbeddedPostgresInstance, dataDir: string): void {
  const child = childOf(instance);
  if (child === undefined || hasExited(child)) return;
  stopSyncWith(dataDir, (signal) => child.kill(signal));
}

/** Like stopInstanceSync for a server known only by its data directory (one still starting, say). */
export function stopDataDirServerSync(dataDir: string): void {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8'), 10);
  } catch {
    return; // no server running there
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  stopSyncWith(dataDir, (signal) => {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  });
}

function stopSyncWith(dataDir: string, send: (signal: NodeJS.Signals) => void): void {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  for (const [signal, waitMs] of [['SIGINT', 10_000], ['SIGQUIT', 5_000], ['SIGKILL', 0]] as const) {
    send(signal);
    if (waitUntilSync(() => !existsSync(pidFile), waitMs)) return;
  }
}

function waitUntilSync(condition: () => boolean, timeoutMs: number): boolean {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (condition()) return true;
    Atomics.wait(sleeper, 0, 0, 20);
  }
  return condition();
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
