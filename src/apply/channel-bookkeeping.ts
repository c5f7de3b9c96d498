// The apply channels' rows in godwit_metadata.apply_channels on the target (DESIGN.md section 3): per
// migration, stream and channel, the last applied vsn, written in the same transaction as the changes
// (invariant 3), plus the routing those rows were last rebased with (routing.ts). A channel row says:
// "every event this routing sends to this channel, up to last_applied_vsn, is applied".

import { BOOKKEEPING_SCHEMA } from '../engines/bookkeeping-schema.js';
import type { SqlSession } from '../engines/sql-session.js';
import type { QueueStream } from '../core/change-event.js';
import { StateError } from '../core/errors.js';
import { sqlStringLiteral } from './apply-sql.js';

const TABLE = `${BOOKKEEPING_SCHEMA}.apply_channels`;

/** One channel row. */
export interface ChannelRow {
  channel: number;
  lastAppliedVsn: number;
  routing: string | null;
}

/** Which rows: one migration, one stream. */
export interface ChannelScope {
  migrationId: string;
  stream: QueueStream;
}

const READ_SQL = `SELECT channel, last_applied_vsn::text AS last, routing FROM ${TABLE} WHERE migration_id = $1 AND stream = $2 ORDER BY channel`;

/** The channel rows of a stream, ordered by channel; empty before the first apply. */
export async function readChannelRows(session: SqlSession, scope: ChannelScope): Promise<ChannelRow[]> {
  const { rows } = await session.query<{ channel: number; last: string; routing: string | null }>(READ_SQL, [scope.migrationId, scope.stream]);
  return rows.map((row) => ({ channel: row.channel, lastAppliedVsn: Number(row.last), routing: row.routing }));
}

const ADVANCE_SQL = `UPDATE ${TABLE} SET last_applied_vsn = $4, updated_at = now()
  WHERE migration_id = $1 AND stream = $2 AND channel = $3 AND last_applied_vsn = $5 RETURNING channel`;

/**
 * Moves one channel from `from` to `to` inside the caller's transaction. It is the transaction's first
 * statement, so it also locks the row: a second importer on the same stream finds the row moved and is
 * refused instead of applying the same changes again.
 */
export async function advanceChannel(session: SqlSession, scope: ChannelScope, channel: number, from: number, to: number): Promise<void> {
  const { rows } = await session.query(ADVANCE_SQL, [scope.migrationId, scope.stream, channel, to, from]);
  if (rows.length === 1) return;
  const now = (await readChannelRows(session, scope)).find((row) => row.channel === channel);
  throw advanceRefusedError(scope, channel, from, now);
}

/** The text an advanceChannelScript failure carries (an integer cast of it fails with SQLSTATE 22P02). */
const ADVANCE_REFUSED = 'godwit: the apply channel row was not at the expected vsn';

/**
 * advanceChannel as one statement without parameters, for a transaction sent as one text: it fails
 * (SQLSTATE 22P02, see isAdvanceRefused) unless exactly the row at `from` moved to `to`, so the
 * statements after it in the same text never run for a channel another importer moved.
 */
export function advanceChannelScript(scope: ChannelScope, channel: number, from: number, to: number): string {
  if (![channel, from, to].every(Number.isSafeInteger)) throw new Error(`advanceChannelScript: bad numbers ${channel}, ${from}, ${to}`);
  return (
    `WITH moved AS (UPDATE ${TABLE} SET last_applied_vsn = ${to}, updated_at = now() ` +
    `WHERE migration_id = ${sqlStringLiteral(scope.migrationId)} AND stream = ${sqlStringLiteral(scope.stream)} AND channel = ${channel} AND last_applied_vsn = ${from} RETURNING 1) ` +
    `SELECT CAST(CASE WHEN count(*) = 1 THEN '1' ELSE ${sqlStringLiteral(ADVANCE_REFUSED)} END AS int) FROM moved`
  );
}

/** True for the error of an advanceChannelScript whose channel row was not at `from`. */
export function isAdvanceRefused(error: unknown): boolean {
  const fields = error as { code?: unknown; message?: unknown } | undefined;
  return fields?.code === '22P02' && typeof fields.message === 'string' && fields.message.includes(ADVANCE_REFUSED);
}

/** The error for a channel row that was not at `from` (`now`: the row as read afterwards). */
export function advanceRefusedError(scope: ChannelScope, channel: number, from: number, now: ChannelRow | undefined): StateError {
  return new StateError(
    `Apply channel ${channel} of the ${scope.stream} stream was expected at vsn ${from} on the target but is at ${now?.lastAppliedVsn ?? 'no row'}: is another importer applying the same stream?`,
    { hint: 'Run one importer per stream (godwit refuses a second copy of a running command; check other machines).' },
  );
}

const DELETE_EXTRA_SQL = `DELETE FROM ${TABLE} WHERE migration_id = $1 AND stream = $2 AND channel >= $3`;
const REBASE_SQL = `INSERT INTO ${TABLE} AS c (migration_id, stream, channel, last_applied_vsn, routing)
  SELECT $1, $2, g, $4, $5 FROM generate_series(0, $3 - 1) AS g
  ON CONFLICT (migration_id, stream, channel) DO UPDATE SET last_applied_vsn = EXCLUDED.last_applied_vsn, routing = EXCLUDED.routing, updated_at = now()
  WHERE c.last_applied_vsn <= EXCLUDED.last_applied_vsn
  RETURNING channel`;

/**
 * Sets every channel of the stream to `vsn` with `routing` and exactly `channels` rows, inside the
 * caller's transaction: done only when every channel is drained up to `vsn` (barriers, routing changes).
 */
export async function rebaseChannels(session: SqlSession, scope: ChannelScope, channels: number, vsn: number, routing: string): Promise<void> {
  await session.query(DELETE_EXTRA_SQL, [scope.migrationId, scope.stream, channels]);
  const { rows } = await session.query(REBASE_SQL, [scope.migrationId, scope.stream, channels, vsn, routing]);
  if (rows.length !== channels) {
    throw new StateError(`The apply channels of the ${scope.stream} stream are already past vsn ${vsn} on the target: is another importer applying the same stream?`, {
      hint: 'Run one importer per stream.',
    });
  }
}
