// The cutover end marker (DESIGN.md section 10): to say "the stream is complete up to now" without
// pg_current_wal_lsn (YugabyteDB has none), the exporter writes a sentinel row into godwit's own
// bookkeeping table godwit_metadata.stream_markers on the capturing database, a table its publication
// includes, and stops when the stream delivers that row. Capture turns the row into a `marker` event
// (src/capture/run-capture.ts, option endMarker); the importer treats it as a barrier.
//
// The table is the stream_markers table the bookkeeping schema already defines (one row per marker,
// keyed by migration and marker id, so several migrations on one database never collide) rather than a
// table of its own: one table for both directions, created by the same idempotent bookkeeping code.
//
// The row's marker_id is chosen when the cutover is requested (cutover-store.ts), so writing it is
// idempotent (ON CONFLICT DO NOTHING): a run killed between the INSERT and recording MARKER_WRITTEN
// writes nothing new when run again, and the row it wrote is still in the stream.

import type { ChangeInput, TableName } from '../core/change-event.js';
import { quoteIdent } from '../core/identifiers.js';
import { BOOKKEEPING_SCHEMA, ensureBookkeepingSchema } from '../engines/bookkeeping-schema.js';
import type { SqlSession } from '../engines/sql-session.js';
import type { CutoverDirection } from './cutover-states.js';

/** The table the sentinel rows go to (created by ensureBookkeepingSchema). */
export const MARKER_TABLE: TableName = { schema: BOOKKEEPING_SCHEMA, name: 'stream_markers' };

/** The marker table as SQL text. */
export const MARKER_TABLE_SQL = `${quoteIdent(MARKER_TABLE.schema)}.${quoteIdent(MARKER_TABLE.name)}`;

/** The `kind` column of a cutover's sentinel row. */
export function markerKind(direction: CutoverDirection): string {
  return `cutover-${direction}`;
}

/**
 * Makes sure the marker table exists and is in `publication` (exports created before the marker
 * existed lack it). A table added to a publication is published from the next transaction on, which
 * is all the marker needs: it is inserted afterwards.
 */
export async function ensureMarkerPublished(session: SqlSession, publication: string): Promise<void> {
  await ensureBookkeepingSchema(session);
  const { rows } = await session.query(
    'SELECT 1 FROM pg_catalog.pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND tablename = $3',
    [publication, MARKER_TABLE.schema, MARKER_TABLE.name],
  );
  if (rows.length === 0) await session.query(`ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE ${MARKER_TABLE_SQL}`);
}

/** Writes the sentinel row (idempotent: the same id twice is one row) in a transaction of its own. */
export async function writeEndMarker(session: SqlSession, migrationId: string, markerId: string, direction: CutoverDirection): Promise<void> {
  await session.query(
    `INSERT INTO ${MARKER_TABLE_SQL} (migration_id, marker_id, kind) VALUES ($1::uuid, $2::bigint, $3) ON CONFLICT DO NOTHING`,
    [migrationId, markerId, markerKind(direction)],
  );
}

/** True when a captured change is the insert of this migration's sentinel row with `markerId`. */
export function isEndMarkerRow(change: ChangeInput, migrationId: string, markerId: string): boolean {
  if (change.op !== 'insert' || change.newValues === null || markerId === '') return false;
  const value = (column: string): unknown => change.newValues?.[change.columns.indexOf(column)];
  return value('migration_id') === migrationId.toLowerCase() && value('marker_id') === markerId;
}
