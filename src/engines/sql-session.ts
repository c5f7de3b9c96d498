// The smallest engine-neutral view of a database session that pipeline code may use: run SQL text,
// get rows back. A node-postgres client satisfies it, and so will any other engine's session.

/** A database error as the pipeline sees it: SQLSTATE plus the server's words. */
export interface DatabaseErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
}

/** Runs SQL on one session; rows come back as plain objects. */
export interface SqlSession {
  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** SQLSTATEs meaning "the object is already there" (PostgreSQL and YugabyteDB share them). */
const ALREADY_EXISTS = new Set(['42P07', '42710', '42P06', '42723', '42701', '42P04']);

/** True when a failed CREATE/ALTER failed only because its object already exists. */
export function isAlreadyExistsError(error: unknown): boolean {
  const fields = error as Partial<DatabaseErrorFields> | undefined;
  if (fields?.code === undefined) return false;
  if (ALREADY_EXISTS.has(fields.code)) return true;
  // ALTER TABLE ... ADD PRIMARY KEY on a table that has it: 42P16 "multiple primary keys ... are not allowed".
  return fields.code === '42P16' && /multiple primary keys/i.test(fields.message ?? '');
}
