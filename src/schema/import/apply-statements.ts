// Applies planned schema statements to a database one by one, in order: an object that already
// exists is skipped with --ignore-exist, a failure stops the import (naming file, line and object)
// or, with --continue-on-error, is collected for the report.

import { GodwitError, describeError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isAlreadyExistsError, type DatabaseErrorFields, type SqlSession } from '../../engines/sql-session.js';
import type { PlannedStatement } from './plan-import.js';

/** How to treat failures. */
export interface ApplyOptions {
  ignoreExist: boolean;
  continueOnError: boolean;
  logger: Logger;
  /** Called after each statement, for progress output. */
  onStatement?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /**
   * Each statement in a transaction of its own that sets the session settings with SET LOCAL first:
   * for sessions that may pass a pooler in transaction mode (the import's index and key builds), where
   * session-level settings (pg_dump's empty search_path!) would stay on a pooled server connection
   * for the application, and need not hold for the next statement.
   */
  eachInTransaction?: boolean;
}

/** A statement that failed, with the server's error. */
export interface FailedStatement {
  statement: PlannedStatement;
  error: DatabaseErrorFields;
}

/** What happened to each statement. */
export interface ApplyResult {
  applied: number;
  skippedExisting: PlannedStatement[];
  failed: FailedStatement[];
}

/** A statement failed and the import stopped there; everything before it is applied. */
export class SchemaStatementError extends GodwitError {
  constructor(
    readonly statement: PlannedStatement,
    readonly serverError: DatabaseErrorFields,
    hint: string,
  ) {
    const object = statement.objectName === undefined ? statement.kind : `${statement.kind} ${statement.objectName}`;
    super(`schema/${statement.path}, line ${statement.line} (${object}): ${serverError.message}`, { hint });
  }
}

function errorFields(error: unknown): DatabaseErrorFields {
  const e = error as Partial<DatabaseErrorFields>;
  return {
    code: typeof e.code === 'string' ? e.code : undefined,
    message: describeError(error),
    detail: typeof e.detail === 'string' ? e.detail : undefined,
    hint: typeof e.hint === 'string' ? e.hint : undefined,
  };
}

/**
 * pg_dump's session settings for one transaction: `SET x = v` becomes `SET LOCAL x = v`, and
 * `set_config(name, value, false)` becomes `set_config(name, value, true)`; anything else stays.
 */
export function transactionLocalSettings(sessionSettings: readonly string[]): string[] {
  return sessionSettings.map((setting) => {
    const text = setting.trim().replace(/;\s*$/, '');
    if (/^SET\s+(?!LOCAL\s|SESSION\s)/i.test(text)) return text.replace(/^SET\s+/i, 'SET LOCAL ');
    const call = /^(SELECT\s+(?:pg_catalog\.)?set_config\(.*),\s*false\s*\)$/is.exec(text);
    return call === null ? text : `${call[1]}, true)`;
  });
}

/** Runs `setting` (the caller is in a transaction when it is local); false when the target does not know the parameter. */
async function applySetting(session: SqlSession, setting: string, logger: Logger): Promise<boolean> {
  try {
    await session.query(setting);
    return true;
  } catch (error) {
    // A newer pg_dump sets parameters an older target lacks (transaction_timeout): harmless to skip.
    if ((error as Partial<DatabaseErrorFields>).code !== '42704') throw error;
    logger.warn(`session setting skipped, the target does not know it: ${setting}`);
    return false;
  }
}

/** The settings each statement's transaction runs first: those the target knows, found by trying each in a rolled-back transaction. */
async function localSettingsKnown(session: SqlSession, sessionSettings: readonly string[], logger: Logger): Promise<string[]> {
  const local = transactionLocalSettings(sessionSettings);
  // Usually the target knows them all: one try of all of them together (the builds call this per table).
  try {
    await session.query(['BEGIN', ...local].join(';\n'));
    return local;
  } catch {
    // one of them is unknown (or something else is wrong): found one by one below, which says which
  } finally {
    await session.query('ROLLBACK');
  }
  const known: string[] = [];
  for (const setting of local) {
    await session.query('BEGIN');
    try {
      if (await applySetting(session, setting, logger)) known.push(setting);
    } finally {
      await session.query('ROLLBACK');
    }
  }
  return known;
}

/** Runs the session settings, then every statement in order (or each statement in its own transaction, see eachInTransaction). */
export async function applyStatements(
  session: SqlSession,
  sessionSettings: readonly string[],
  statements: readonly PlannedStatement[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  let local: string[] | undefined;
  if (options.eachInTransaction === true) local = await localSettingsKnown(session, sessionSettings, options.logger);
  else for (const setting of sessionSettings) await applySetting(session, setting, options.logger);
  const result: ApplyResult = { applied: 0, skippedExisting: [], failed: [] };
  let done = 0;
  for (const statement of statements) {
    options.signal?.throwIfAborted();
    try {
      if (local === undefined) await session.query(statement.sql);
      else await inTransaction(session, local, statement.sql);
      result.applied++;
      options.logger.debug(`applied schema/${statement.path}:${statement.line}`, { kind: statement.kind, object: statement.objectName });
    } catch (error) {
      const fields = errorFields(error);
      // A schema is a container: the target's existing `public` (or one the DBA made) is fine to reuse.
      const existingSchema = statement.kind === 'schema' && fields.code === '42P06';
      if ((options.ignoreExist || existingSchema) && isAlreadyExistsError(error)) {
        result.skippedExisting.push(statement);
        options.logger.info(`already exists, skipped: schema/${statement.path}:${statement.line}`, { object: statement.objectName });
      } else if (options.continueOnError) {
        result.failed.push({ statement, error: fields });
        options.logger.warn(`failed, continuing: schema/${statement.path}:${statement.line}: ${fields.message}`);
      } else {
        const hint = isAlreadyExistsError(error)
          ? 'The object already exists on the target. Run again with --ignore-exist to skip existing objects (the statements before this one are applied).'
          : 'Fix the statement in that file (or the target), then run import schema again with --ignore-exist to skip what is already applied; --continue-on-error collects all failures instead.';
        throw new SchemaStatementError(statement, fields, hint);
      }
    }
    done++;
    options.onStatement?.(done, statements.length);
  }
  return result;
}

/** BEGIN, the local settings, the statement and COMMIT in one round trip; rolled back when it fails. */
async function inTransaction(session: SqlSession, local: readonly string[], sql: string): Promise<void> {
  try {
    await session.query(['BEGIN', ...local, sql.trim().replace(/;\s*$/, ''), 'COMMIT'].join(';\n'));
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
