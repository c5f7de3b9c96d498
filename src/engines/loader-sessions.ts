// The database sessions the snapshot import works with, as an interface: the pipeline runs SQL and
// streams COPY data through it and never sees a concrete driver (postgres-loader-sessions.ts is the
// node-postgres one). Every transaction on a session handed out starts with the session's
// transactionSettings, which prepare it for loading (invariant 8).

import type { SqlSession } from './sql-session.js';

/** The bytes of one COPY FROM STDIN, read on demand into the driver's buffers. */
export interface CopySource {
  /** Fills `target` from `offset` on (at most to its end); returns how many bytes, 0 at the end. Throws when the data is damaged. */
  readInto(target: Buffer, offset: number): number;
  /** Releases what the source holds (open files); called once the COPY ended, however it ended. */
  close(): void;
  /** The number of bytes in all, when known up front: small sources get small buffers. */
  readonly size?: number;
}

/** One session borrowed from the set; give it back with release(). */
export interface LoaderSession extends SqlSession {
  /**
   * The SET LOCAL statements each transaction on this session runs right after BEGIN (semicolon
   * separated, no trailing one): what loading needs (invariant 8's replica role, asynchronous commit)
   * holds for that transaction only. Session settings would not do: behind a pooler in transaction
   * mode (PgBouncer) the next transaction may run on another server connection, and the settings
   * stay on the one they were made on, for the pooler's other clients (the application's writes
   * after cutover) to inherit.
   */
  readonly transactionSettings: string;
  /** Runs `COPY ... FROM STDIN` with the bytes of `data` (in the format the statement names); rejects with the server's error or the source's. */
  copyIn(copySql: string, data: CopySource): Promise<void>;
  /**
   * Runs `text` (statements separated by semicolons) in one round trip, its `COPY ... FROM STDIN`
   * statements taking the bytes of `copyData` in order; rejects with the server's first error (the
   * statements after it did not run). Optional: without it, COPYs run one at a time with copyIn.
   */
  scriptWithCopies?(text: string, copyData: readonly Buffer[]): Promise<void>;
  /** Returns the session; with an error it is closed instead of reused (connection lost, unknown state). */
  release(broken?: Error): void;
}

/** A bounded set of sessions on the target, `size` of them at most. */
export interface LoaderSessions {
  readonly size: number;
  /**
   * True when a COPY FROM STDIN inside a transaction commits or rolls back with it (PostgreSQL). False
   * on YugabyteDB, whose COPY commits every yb_default_copy_from_rows_per_transaction rows by itself.
   */
  readonly copyInTransactions: boolean;
  acquire(): Promise<LoaderSession>;
  end(): Promise<void>;
}

/** Runs `fn` with a borrowed session, returning it (or discarding it after a connection failure) afterwards. */
export async function withSession<T>(sessions: LoaderSessions, fn: (session: LoaderSession) => Promise<T>): Promise<T> {
  const session = await sessions.acquire();
  try {
    const result = await fn(session);
    session.release();
    return result;
  } catch (error) {
    session.release(isConnectionLoss(error) ? (error as Error) : undefined);
    throw error;
  }
}

/**
 * withSession for work that may simply run again (reads, checks, a durability barrier): while the
 * connection is lost (a target restarting, a network cut) it waits and tries again, with backoff, for
 * up to about a minute before giving up with the last error.
 */
export async function withSessionRetrying<T>(sessions: LoaderSessions, fn: (session: LoaderSession) => Promise<T>, onRetry?: (error: unknown, delayMs: number) => void): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withSession(sessions, fn);
    } catch (error) {
      if (!isConnectionLoss(error) || attempt >= 10) throw error;
      const delayMs = Math.min(200 * 2 ** (attempt - 1), 10_000);
      onRetry?.(error, delayMs);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** SQLSTATEs after which the whole transaction is simply tried again (serialization failure, restart read, deadlock). */
const RETRYABLE_CODES = new Set(['40001', '40P01']);

/** True for a serialization failure or deadlock: the transaction did nothing and may run again. */
export function isRetryableConflict(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && RETRYABLE_CODES.has(code);
}

/** True when the connection itself failed (reset, terminated, server shutting down): the outcome of an open COMMIT is unknown. */
export function isConnectionLoss(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
  if (e?.cause !== undefined && e.cause !== error && isConnectionLoss(e.cause)) return true;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection (?:is )?closed|Client has encountered a connection error|not queryable/i.test(message);
}

/** A COMMIT sent on a connection that broke before its answer came: it may or may not have happened. */
export class CommitOutcomeUnknown extends Error {}

/**
 * Sends COMMIT; a lost connection becomes CommitOutcomeUnknown, so the caller asks the target's
 * bookkeeping whether it committed before it tries the transaction again (exactly once).
 */
export async function commitOrUnknown(session: SqlSession): Promise<void> {
  try {
    await session.query('COMMIT');
  } catch (error) {
    if (isConnectionLoss(error)) throw new CommitOutcomeUnknown('commit outcome unknown', { cause: error });
    throw error;
  }
}
