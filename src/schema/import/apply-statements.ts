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

/** Runs the session settings, then every statement in order. */
export async function applyStatements(
  session: SqlSession,
  sessionSettings: readonly string[],
  statements: readonly PlannedStatement[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  for (const setting of sessionSettings) {
    try {
      await session.query(setting);
    } catch (error) {
      // A newer pg_dump sets parameters an older target lacks (transaction_timeout): harmless to skip.
      if ((error as Partial<DatabaseErrorFields>).code !== '42704') throw error;
      options.logger.warn(`session setting skipped, the target does not know it: ${setting}`);
    }
  }
  const result: ApplyResult = { applied: 0, skippedExisting: [], failed: [] };
  let done = 0;
  for (const statement of statements) {
    options.signal?.throwIfAborted();
    try {
      await session.query(statement.sql);
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
