// The loaders commit each batch with synchronous_commit = off (much faster), so a commit the target
// acknowledged can still be lost if the target crashes before its WAL is flushed: the batch and its
// bookkeeping row vanish together, but this run already counted it as loaded. Before the load may be
// called complete, one synchronous commit flushes the WAL up to it (and with it every commit
// acknowledged before), and the target's bookkeeping, now durable, is compared with the plan: what
// is missing is loaded again.

import { withSessionRetrying, type LoaderSessions } from '../../engines/loader-sessions.js';
import { parseBatchId } from './batch-plan.js';
import { readImportedBatches } from './imported-batches.js';

/**
 * Makes every batch commit the target acknowledged so far durable and returns the batches the target
 * records for this migration: after it returns, only these are certain to survive a crash.
 */
export async function confirmDurableBatches(sessions: LoaderSessions, migrationId: string): Promise<Map<string, number>> {
  return withSessionRetrying(sessions, async (session) => {
    // A transaction with an xid commits with a commit record; with synchronous_commit = on the commit
    // waits until the WAL is flushed up to that record, which lies after every earlier commit.
    await session.query('BEGIN');
    try {
      await session.query('SET LOCAL synchronous_commit = on');
      await session.query('SELECT txid_current()');
      await session.query('COMMIT');
    } catch (error) {
      await session.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return readImportedBatches(session, migrationId);
  });
}

/** Chunks of `planned` (chunk id -> number of batches) for which `recorded` lacks a batch. */
export function chunksMissingBatches(planned: ReadonlyMap<string, number>, recorded: ReadonlyMap<string, number>): string[] {
  const counts = new Map<string, number>();
  for (const id of recorded.keys()) {
    const parsed = parseBatchId(id);
    if (parsed !== undefined) counts.set(parsed.chunkId, (counts.get(parsed.chunkId) ?? 0) + 1);
  }
  return [...planned].filter(([chunkId, batches]) => (counts.get(chunkId) ?? 0) < batches).map(([chunkId]) => chunkId);
}
