// Gathers the planner's statistics of every loaded table once its indexes and keys are built, as
// pgcopydb does (pg_restore does not): an application switched to the target right after an offline
// copy would otherwise plan its first queries blind until autovacuum gets to each table. Tables are
// analyzed side by side, largest first; ANALYZE of a partitioned table also covers its partitions.

import { describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { withSession, type LoaderSessions } from '../../engines/loader-sessions.js';

/** Runs ANALYZE on each of `tableKeys` (`"schema"."name"`, largest first) with every session; returns how many were analyzed. */
export async function analyzeTables(sessions: LoaderSessions, tableKeys: readonly string[], logger: Logger, signal: AbortSignal): Promise<number> {
  const queue = [...tableKeys];
  let analyzed = 0;
  const worker = async (): Promise<void> => {
    for (let table = queue.shift(); table !== undefined; table = queue.shift()) {
      signal.throwIfAborted();
      const started = Date.now();
      try {
        await withSession(sessions, (session) => session.query(`ANALYZE ${table}`));
        analyzed++;
        logger.debug(`analyzed ${table} in ${Date.now() - started} ms`);
      } catch (error) {
        // Statistics only guide the planner, and autovacuum gathers them too: a failure is worth a warning, not the import.
        logger.warn(`could not analyze ${table}: ${describeError(error)}; autovacuum will gather its statistics later, or run ANALYZE ${table} yourself`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(sessions.size, queue.length)) }, worker));
  return analyzed;
}
