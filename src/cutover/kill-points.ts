// Test hook for the cutover crash tests: SIGKILL of the exporter or importer at named points of the
// cutover (after a step is recorded, or between a change on a database and its record), set through
// the environment by the tests. A real process has no such variable and never stops here.

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Comma-separated points where the process kills itself (state names such as MARKER_QUEUED, or steps such as before-marker). */
export const CUTOVER_KILL_ENV = 'GODWIT_TEST_CUTOVER_KILL_AT';
/** A directory where each point, once killed at, leaves a file: the restarted process goes past it. */
export const CUTOVER_KILL_DONE_DIR_ENV = 'GODWIT_TEST_CUTOVER_KILL_DONE_DIR';

/**
 * Kills this process with SIGKILL when the test asked for `point` (once per point when a done-directory
 * is given); exists only so the crash tests can prove every cutover step resumes.
 */
export function cutoverKillPoint(point: string): void {
  const points = process.env[CUTOVER_KILL_ENV];
  if (points === undefined || !points.split(',').includes(point)) return;
  const doneDir = process.env[CUTOVER_KILL_DONE_DIR_ENV];
  if (doneDir !== undefined) {
    const file = join(doneDir, point);
    if (existsSync(file)) return;
    writeFileSync(file, `${process.pid}\n`);
  }
  process.kill(process.pid, 'SIGKILL');
}
