// godwit's own bookkeeping on each database (DESIGN.md section 3): the snapshot batches already
// imported, each apply channel's last applied vsn, and the stream markers (cutover sentinels).
// Rows here are written in the same transaction as the data they describe. Plain SQL that
// PostgreSQL 10+ and YugabyteDB both accept.

import { NotReadyError, describeError } from '../core/errors.js';
import { quoteIdent } from '../core/identifiers.js';
import type { SqlSession } from './sql-session.js';

/** The schema godwit owns on each database; `end migration` drops it. */
export const BOOKKEEPING_SCHEMA = 'godwit_metadata';

const STATEMENTS = [
  `CREATE SCHEMA IF NOT EXISTS ${BOOKKEEPING_SCHEMA}`,
  `CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.imported_batches (
     migration_id uuid NOT NULL,
     table_name text NOT NULL,
     batch_id text NOT NULL,
     row_count bigint NOT NULL,
     imported_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (migration_id, table_name, batch_id))`,
  `CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.apply_channels (
     migration_id uuid NOT NULL,
     stream text NOT NULL,
     channel integer NOT NULL,
     last_applied_vsn bigint NOT NULL,
     updated_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (migration_id, stream, channel))`,
  // Added for the change apply (src/apply): how events were routed to channels when these rows were
  // last rebased (channel count, tables routed by table), so a restart replays with the same routing.
  `ALTER TABLE ${BOOKKEEPING_SCHEMA}.apply_channels ADD COLUMN IF NOT EXISTS routing text`,
  `CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.stream_markers (
     migration_id uuid NOT NULL,
     marker_id bigint NOT NULL,
     kind text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now(),
     PRIMARY KEY (migration_id, marker_id))`,
];

/** Every table (and added column) the statements above create; checked in the catalog first. */
const TABLES = ['imported_batches', 'apply_channels', 'stream_markers'];
const ADDED_COLUMNS: Array<[table: string, column: string]> = [['apply_channels', 'routing']];

/**
 * True when the schema, every table and every added column already exist: one catalog read instead of
 * five DDL statements (each its own commit) on every start.
 */
async function bookkeepingComplete(session: SqlSession): Promise<boolean> {
  const { rows } = await session.query<{ tables: unknown; columns: unknown }>(
    `SELECT (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2::text[])) AS tables,
            (SELECT count(*) FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND NOT a.attisdropped AND (c.relname || '.' || a.attname) = ANY($3::text[])) AS columns`,
    [BOOKKEEPING_SCHEMA, TABLES, ADDED_COLUMNS.map(([table, column]) => `${table}.${column}`)],
  );
  const row = rows[0];
  return row !== undefined && Number(row.tables) === TABLES.length && Number(row.columns) === ADDED_COLUMNS.length;
}

/** Creates the bookkeeping schema and tables when missing; safe to run any number of times. */
export async function ensureBookkeepingSchema(session: SqlSession): Promise<void> {
  try {
    if (await bookkeepingComplete(session)) return;
    for (const statement of STATEMENTS) await session.query(statement);
  } catch (error) {
    if ((error as { code?: unknown }).code !== '42501') throw error;
    // A user without the right to create (or use) godwit's schema: say which right, not "internal error".
    const { rows } = await session.query<{ who: string; db: string }>('SELECT current_user AS who, current_database() AS db').catch(() => ({ rows: [] as { who: string; db: string }[] }));
    const who = rows[0]?.who ?? 'the user';
    const db = rows[0]?.db ?? 'the database';
    throw new NotReadyError(`The user "${who}" may not create or use godwit's bookkeeping schema ${BOOKKEEPING_SCHEMA} in database "${db}": ${describeError(error)}.`, {
      cause: error,
      hint:
        `Grant it: GRANT CREATE ON DATABASE ${quoteIdent(db)} TO ${quoteIdent(who)}; (or create the schema ${BOOKKEEPING_SCHEMA} owned by that user). ` +
        'sql/least-privilege/ has the complete set of rights godwit needs.',
    });
  }
}
