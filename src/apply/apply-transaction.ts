// Runs one apply transaction exactly once (invariant 3): BEGIN, the body (bookkeeping first, then the
// changes), COMMIT. Serialization failures, deadlocks (40001, 40P01; YugabyteDB's "restart read
// required" is 40001 too) and lost connections retry the whole transaction with backoff; a COMMIT whose
// outcome is unknown (the connection broke while it was on the way) is resolved by asking the target
// whether the bookkeeping moved before trying again (DESIGN.md section 10).
//
// A transaction commits with synchronous_commit = on whatever the session says, unless it asks for an
// asynchronous commit (channel transactions, when the target can run the durability barrier of
// durable-progress.ts, which then decides what is recorded as applied).

import { setTimeout as sleep } from 'node:timers/promises';
import { GodwitError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { CommitOutcomeUnknown, commitOrUnknown, isConnectionLoss, isRetryableConflict, withSession, type LoaderSession, type LoaderSessions } from '../engines/loader-sessions.js';
import type { SqlSession } from '../engines/sql-session.js';
import { BufferCopySource, type CopyPart } from './apply-copy.js';

/** A piece of a script transaction: SQL text, or a COPY (apply-copy.ts) between two texts. */
export type ScriptPart = string | CopyPart;

/** Retry policy for conflicts and lost connections. */
export interface ApplyRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_APPLY_RETRY: ApplyRetry = { attempts: 10, baseDelayMs: 100, maxDelayMs: 10_000 };

/** Test hook: milliseconds to wait after the last statement and before COMMIT (crash tests kill there). */
export const SLEEP_BEFORE_COMMIT_ENV = 'GODWIT_TEST_APPLY_SLEEP_BEFORE_COMMIT_MS';

/** What one transaction does, and how to tell afterwards that it committed. */
export interface ApplyTransaction {
  /** Shown in logs and errors: `channel 3, vsn 120-180`. */
  label: string;
  /** The statements, run one after the other (with parameters); or: */
  body?(session: SqlSession): Promise<void>;
  /**
   * The statements as one SQL text without parameters: sent with BEGIN and COMMIT as one text, so the
   * whole transaction costs one round trip. Used instead of `body` when given. As parts, each COPY
   * takes a round trip of its own between the texts around it, in order.
   */
  script?: string | readonly ScriptPart[];
  /** Commit with synchronous_commit = off (script transactions only; see durable-progress.ts). */
  asynchronousCommit?: boolean;
  /** Asked on a fresh session after a COMMIT with unknown outcome: true when the bookkeeping shows it committed. */
  committed(session: SqlSession): Promise<boolean>;
}

/** Runs `transaction` until it is committed (by this call or, after an unknown outcome, by the attempt before). */
export async function runApplyTransaction(sessions: LoaderSessions, transaction: ApplyTransaction, logger: Logger, retry: ApplyRetry = DEFAULT_APPLY_RETRY): Promise<void> {
  // Once a COMMIT's outcome is unknown, the transaction runs again only after the target said it did
  // not commit: run blindly, it would meet its own bookkeeping moved on and look like a second importer.
  let outcomeUnknown = false;
  for (let attempt = 1; ; attempt++) {
    try {
      if (outcomeUnknown) {
        if (await withSession(sessions, (session) => transaction.committed(session))) return;
        outcomeUnknown = false;
      }
      await withSession(sessions, (session) => once(session, transaction));
      return;
    } catch (caught) {
      let error: unknown = caught;
      if (error instanceof CommitOutcomeUnknown) {
        outcomeUnknown = true;
        error = error.cause;
      }
      if (!(isRetryableConflict(error) || isConnectionLoss(error))) throw error;
      if (attempt >= retry.attempts) {
        throw new GodwitError(`Applying changes (${transaction.label}) failed ${attempt} times: ${describeError(error)}`, {
          cause: error,
          hint: 'Check that the target is reachable and healthy, then run import data to target again: applied changes are kept.',
        });
      }
      const delayMs = Math.min(retry.baseDelayMs * 2 ** (attempt - 1), retry.maxDelayMs) * (0.5 + Math.random() / 2);
      logger.warn(`apply ${transaction.label}: ${describeError(error)}; retrying in ${Math.round(delayMs)} ms`, { attempt, code: (error as { code?: string }).code });
      await sleep(delayMs);
    }
  }
}

/** BEGIN with the session's settings for loading (the replica role) and the transaction's commit mode. */
function beginText(session: LoaderSession, asynchronousCommit: boolean): string {
  return `BEGIN; ${session.transactionSettings}; SET LOCAL synchronous_commit = ${asynchronousCommit ? 'off' : 'on'}`;
}

async function once(session: LoaderSession, transaction: ApplyTransaction): Promise<void> {
  const begin = beginText(session, transaction.asynchronousCommit === true);
  if (typeof transaction.script === 'string') return onceAsScript(session, transaction.script, begin);
  if (transaction.script !== undefined) return onceAsParts(session, transaction.script, begin);
  await session.query(beginText(session, false));
  try {
    await transaction.body?.(session);
    const pause = Number(process.env[SLEEP_BEFORE_COMMIT_ENV] ?? 0);
    if (pause > 0) await sleep(pause);
  } catch (error) {
    if (!isConnectionLoss(error)) await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await commitOrUnknown(session);
}

/**
 * BEGIN, the parts and COMMIT: the texts between two COPYs go as one text, BEGIN with the first and
 * COMMIT with the last. Failures are handled as in onceAsScript.
 */
async function onceAsParts(session: LoaderSession, parts: readonly ScriptPart[], begin: string): Promise<void> {
  const pause = Number(process.env[SLEEP_BEFORE_COMMIT_ENV] ?? 0);
  if (pause === 0 && session.scriptWithCopies !== undefined) return onceAsOneText(session, parts, begin);
  let texts = [begin];
  try {
    for (const part of parts) {
      if (typeof part === 'string') {
        texts.push(part);
        continue;
      }
      if (texts.length > 0) await session.query(texts.join(';\n'));
      texts = [];
      await session.copyIn(part.copySql, new BufferCopySource(part.data));
    }
    if (pause > 0) {
      if (texts.length > 0) await session.query(texts.join(';\n'));
      await sleep(pause);
      await session.query('COMMIT');
    } else {
      texts.push('COMMIT');
      await session.query(texts.join(';\n'));
    }
  } catch (error) {
    if (isConnectionLoss(error)) throw new CommitOutcomeUnknown('commit outcome unknown', { cause: error });
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * BEGIN, the parts and COMMIT as one text whose COPYs take their data from the same write: one round
 * trip (script-with-copies.ts). Failures are handled as in onceAsScript.
 */
async function onceAsOneText(session: LoaderSession, parts: readonly ScriptPart[], begin: string): Promise<void> {
  const texts = [begin];
  const copyData: Buffer[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      texts.push(part);
    } else {
      texts.push(part.copySql);
      copyData.push(part.data);
    }
  }
  texts.push('COMMIT');
  try {
    await session.scriptWithCopies?.(texts.join(';\n'), copyData);
  } catch (error) {
    if (isConnectionLoss(error)) throw new CommitOutcomeUnknown('commit outcome unknown', { cause: error });
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** BEGIN, the script and COMMIT as one text (a lost connection leaves the outcome unknown: the COMMIT may have run). */
async function onceAsScript(session: SqlSession, script: string, begin: string): Promise<void> {
  const pause = Number(process.env[SLEEP_BEFORE_COMMIT_ENV] ?? 0);
  try {
    if (pause > 0) {
      await session.query(`${begin}; ${script}`);
      await sleep(pause);
      await session.query('COMMIT');
    } else {
      await session.query(`${begin}; ${script}; COMMIT`);
    }
  } catch (error) {
    if (isConnectionLoss(error)) throw new CommitOutcomeUnknown('commit outcome unknown', { cause: error });
    // A failed statement leaves the transaction block open and aborted (a failed COMMIT ended it: harmless).
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
