// godwit's own bookkeeping on each database (DESIGN.md section 3): the snapshot batches already
// imported, each apply channel's last applied vsn, and the stream markers (cutover sentinels).
// Rows here are written in the same transaction as the data they describe. Plain SQL that
// PostgreSQL 10+ and YugabyteDB both accept.

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

/** Creates the bookkeeping schema and tables when missing; safe to run any number of times. */
export async function ensureBookkeepingSchema(session: SqlSession): Promise<void> {
  for (const statement of STATEMENTS) await session.query(statement);
}
