// Channel transactions may commit asynchronously (synchronous_commit = off), as PostgreSQL's own apply
// worker does by default: a commit then returns before its WAL is flushed, and the next batch starts at
// once. Exactly-once is not at stake: the data and the channel's last applied vsn commit together, so a
// crash of the target that loses the last commits loses both, and the apply resumes from what the target
// holds. What must never run ahead of the target's durable state is what godwit records elsewhere: the
// applied vsn in the store (`archive changes` deletes queue segments up to it) and the cutover's "every
// change is applied". So progress is recorded only through a durability barrier: one small transaction
// committed synchronously that writes WAL (a transactional logical decoding message, which every
// capture ignores) and reads the channel rows. When its COMMIT returns, WAL is flushed (and, with
// synchronous standbys, replicated) past every commit it could see, so the rows it read are durable.
// The barrier needs pg_logical_emit_message; where the target lacks it (YugabyteDB commits durably
// anyway), channel transactions stay synchronous.

import { GodwitError } from '../core/errors.js';
import type { SqlSession } from '../engines/sql-session.js';
import { readChannelRows, type ChannelRow, type ChannelScope } from './channel-bookkeeping.js';

const BARRIER_STATEMENTS = ['BEGIN', 'SET LOCAL synchronous_commit = on', "SELECT pg_logical_emit_message(true, 'godwit', 'durability barrier')"];

/** SQLSTATEs meaning the target cannot run the barrier: no such function, not supported, not allowed. */
const BARRIER_UNAVAILABLE = new Set(['42883', '0A000', '42501']);

/**
 * Runs the durability barrier and returns the channel rows it read: every row is on disk (the last
 * applied vsns a crash of the target cannot take back).
 */
export async function durableChannelRows(session: SqlSession, scope: ChannelScope): Promise<ChannelRow[]> {
  try {
    for (const statement of BARRIER_STATEMENTS) await session.query(statement);
    const rows = await readChannelRows(session, scope);
    await session.query('COMMIT');
    return rows;
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** True when the target can run the durability barrier, so channel transactions may commit asynchronously. */
export async function canCommitAsynchronously(session: SqlSession, scope: ChannelScope): Promise<boolean> {
  try {
    await durableChannelRows(session, scope);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && BARRIER_UNAVAILABLE.has(code)) return false;
    throw error;
  }
}

/**
 * A channel row found behind the vsn its importer had committed: the target lost asynchronously
 * committed transactions (it crashed and restarted). The apply starts again from the target's rows.
 */
export class TargetLostCommitsError extends GodwitError {
  constructor(
    readonly channel: number,
    readonly expected: number,
    readonly found: number,
  ) {
    super(`Apply channel ${channel} is at vsn ${found} on the target, behind the vsn ${expected} it had committed: the target lost its last asynchronous commits (it restarted).`, {
      hint: 'Run the same command again: the apply resumes from what the target holds.',
    });
  }
}
