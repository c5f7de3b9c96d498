// Loads one batch exactly once (invariant 3): one transaction whose first statement records the
// batch in godwit_metadata.imported_batches (first, so that YugabyteDB does not commit the COPY
// every 20000 rows: DESIGN.md section 10), then COPY streaming the batch's byte range of the chunk
// file, then COMMIT. A unique violation on the bookkeeping row means the batch is already loaded.
// Conflicts (40001, 40P01) and lost connections retry the whole transaction with backoff; a COMMIT
// whose outcome is unknown is checked against the bookkeeping row before it is tried again.

import { setTimeout as sleep } from 'node:timers/promises';
import { GodwitError, describeError } from '../../core/errors.js';
import type { SnapshotFileFormat } from '../../engines/snapshot-engine.js';
import { quoteIdent } from '../../core/identifiers.js';
import type { Logger } from '../../core/logger.js';
import { BOOKKEEPING_SCHEMA } from '../../engines/bookkeeping-schema.js';
import { batchId, type BatchRange } from './batch-plan.js';
import { BatchReader } from './batch-reader.js';
import {
  CommitOutcomeUnknown,
  commitOrUnknown,
  isConnectionLoss,
  isRetryableConflict,
  withSession,
  type LoaderSession,
  type LoaderSessions,
} from '../../engines/loader-sessions.js';

/** Everything needed to load one batch of one chunk. */
export interface BatchJob {
  migrationId: string;
  tableKey: string;
  schema: string;
  table: string;
  columns: readonly string[];
  chunkId: string;
  /** Absolute path of the chunk file, and how users see it (`data/...`). */
  path: string;
  displayName: string;
  format: SnapshotFileFormat;
  batch: BatchRange;
}

/** How a batch ended. */
export type BatchOutcome = 'loaded' | 'already-loaded';

/** A batch the target refused (missing table or column, wrong type, constraint): nothing of it is committed. */
export class BatchLoadError extends GodwitError {
  constructor(
    readonly job: BatchJob,
    readonly serverError: { code?: string; message: string; where?: string; column?: string },
  ) {
    const { batch } = job;
    const rows = `rows ${batch.firstRow}-${batch.firstRow + batch.rowCount - 1}`;
    const where = serverError.where === undefined ? '' : ` (${serverError.where})`;
    const column = serverError.column === undefined ? '' : `, column ${quoteIdent(serverError.column)}`;
    const code = serverError.code === undefined ? '' : ` [SQLSTATE ${serverError.code}]`;
    super(
      `Loading table ${job.tableKey}${column}, batch ${batchId(job.chunkId, batch.batchNo)} (${rows} of ${job.displayName}) failed: ` +
        `${serverError.message}${where}${code}. Nothing of this batch was committed.`,
      {
        hint:
          `The target table must have the columns ${job.columns.map(quoteIdent).join(', ')} with the source's types. ` +
          'Fix the target table (import schema creates it as on the source), then run import data to target again: loaded batches are kept.',
      },
    );
  }
}

/** Retry policy for conflicts and lost connections. */
export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_BATCH_RETRY: RetryOptions = { attempts: 8, baseDelayMs: 200, maxDelayMs: 10_000 };

const INSERT_BOOKKEEPING = `INSERT INTO ${BOOKKEEPING_SCHEMA}.imported_batches (migration_id, table_name, batch_id, row_count) VALUES ($1, $2, $3, $4)`;

/** The COPY statement of a table: root table, explicit columns in file order, the file's format. */
export function copySql(job: Pick<BatchJob, 'schema' | 'table' | 'columns' | 'format'>): string {
  const format = job.format === 'binary' ? ' (FORMAT binary)' : '';
  return `COPY ${quoteIdent(job.schema)}.${quoteIdent(job.table)} (${job.columns.map(quoteIdent).join(', ')}) FROM STDIN${format}`;
}

/** Loads one batch with retries; resolves once it is committed on the target (by us or by an earlier run). */
export async function loadBatch(sessions: LoaderSessions, job: BatchJob, logger: Logger, retry: RetryOptions = DEFAULT_BATCH_RETRY): Promise<BatchOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withSession(sessions, (session) => loadOnce(session, job));
    } catch (caught) {
      let error: unknown = caught;
      if (error instanceof CommitOutcomeUnknown) {
        // The COMMIT was sent and the connection broke: the bookkeeping row says whether it happened.
        if (await isBatchRecorded(sessions, job).catch(() => false)) return 'loaded';
        error = error.cause;
      }
      const retryable = isRetryableConflict(error) || isConnectionLoss(error);
      if (!retryable) throw toBatchError(job, error);
      if (attempt >= retry.attempts) {
        throw new GodwitError(`Loading batch ${batchId(job.chunkId, job.batch.batchNo)} of table ${job.tableKey} failed ${attempt} times: ${describeError(error)}`, {
          cause: error,
          hint: 'Check that the target is reachable and healthy, then run import data to target again: loaded batches are kept.',
        });
      }
      const delayMs = Math.min(retry.baseDelayMs * 2 ** (attempt - 1), retry.maxDelayMs) * (0.5 + Math.random() / 2);
      logger.warn(`batch ${batchId(job.chunkId, job.batch.batchNo)} of ${job.tableKey}: ${describeError(error)}; retrying in ${Math.round(delayMs)} ms`, {
        attempt,
        code: (error as { code?: string }).code,
      });
      await sleep(delayMs);
    }
  }
}

async function loadOnce(session: LoaderSession, job: BatchJob): Promise<BatchOutcome> {
  const { batch } = job;
  await session.query(`BEGIN; ${session.transactionSettings}`);
  try {
    try {
      await session.query(INSERT_BOOKKEEPING, [job.migrationId, job.tableKey, batchId(job.chunkId, batch.batchNo), batch.rowCount]);
    } catch (error) {
      if ((error as { code?: string }).code === '23505') {
        await session.query('ROLLBACK');
        return 'already-loaded';
      }
      throw error;
    }
    if (batch.end > batch.start) {
      await session.copyIn(
        copySql(job),
        new BatchReader({ path: job.path, displayName: job.displayName, format: job.format, start: batch.start, end: batch.end, segments: batch.segments }),
      );
    }
  } catch (error) {
    if (!isConnectionLoss(error)) await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await commitOrUnknown(session);
  return 'loaded';
}

/** True when the target's bookkeeping holds the batch (it is committed). */
export async function isBatchRecorded(sessions: LoaderSessions, job: BatchJob): Promise<boolean> {
  return withSession(sessions, async (session) => {
    const { rows } = await session.query(
      `SELECT 1 FROM ${BOOKKEEPING_SCHEMA}.imported_batches WHERE migration_id = $1 AND table_name = $2 AND batch_id = $3`,
      [job.migrationId, job.tableKey, batchId(job.chunkId, job.batch.batchNo)],
    );
    return rows.length > 0;
  });
}

function toBatchError(job: BatchJob, error: unknown): Error {
  if (error instanceof GodwitError) return error;
  const e = error as { code?: unknown; where?: unknown; column?: unknown };
  if (typeof e.code !== 'string') return error instanceof Error ? error : new Error(String(error));
  return new BatchLoadError(job, {
    code: e.code,
    message: describeError(error),
    where: typeof e.where === 'string' ? e.where : undefined,
    column: typeof e.column === 'string' ? e.column : undefined,
  });
}
