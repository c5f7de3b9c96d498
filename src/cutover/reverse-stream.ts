// Fall-back preparation at cutover to target: the publication and logical replication slot on the
// target that the reverse stream (`export data from target`) reads. Created after every change up to
// the end marker is applied and the sequences are set, and before the cutover is reported COMPLETED:
// the application writes to the target only after COMPLETED, so the slot's stream holds every one of
// its writes, and none of godwit's own apply writes (all committed before the slot existed) comes back.
// No snapshot is exported (DESIGN.md section 10: the source already holds the data).
//
// Each part is idempotent so a run killed between them completes the rest: the publication is created
// only when missing, an existing slot of that name (created by a killed run, before any application
// write) is taken with its confirmed position.

import type { DatabaseSettings } from '../core/database-settings.js';
import { ExitCode, GodwitError, describeError } from '../core/errors.js';
import { quoteIdent } from '../core/identifiers.js';
import type { Logger } from '../core/logger.js';
import { formatLsn } from '../core/lsn.js';
import { ensureBookkeepingSchema } from '../engines/bookkeeping-schema.js';
import { ReplicationConnection } from '../engines/postgres/replication/index.js';
import type { SqlSession } from '../engines/sql-session.js';
import type { TableColumns } from './cutover-store.js';
import { MARKER_TABLE_SQL } from './end-marker.js';
import { cutoverKillPoint } from './kill-points.js';

/** The reverse stream's slot and publication: the forward names plus `_fb` (a slot name is cluster-wide). */
export function reverseStreamNames(migrationId: string): { slotName: string; publicationName: string } {
  const hex = migrationId.replaceAll('-', '').toLowerCase().slice(0, 12);
  if (!/^[0-9a-f]{12}$/.test(hex)) throw new Error(`migration id ${migrationId} is not a UUID`);
  return { slotName: `godwit_${hex}_fb`, publicationName: `godwit_${hex}_fb` };
}

export interface ReverseStreamOptions {
  migrationId: string;
  /** The migrated tables as the target names them (root tables of partitioned ones). */
  tables: readonly { schema: string; name: string }[];
  /** A session on the target. */
  session: SqlSession;
  /** Proven settings of the target, for the replication connection. */
  settings: DatabaseSettings;
  applicationName: string;
  logger: Logger;
}

export interface ReverseStream {
  slotName: string;
  publicationName: string;
  /** Where the slot's stream starts, as the server prints it. */
  consistentPoint: string;
  /** The migrated tables' columns on the target now, in its order (the application does not write yet). */
  columns: TableColumns[];
}

// The columns pgoutput describes a table with: not dropped, not generated (attgenerated came in
// PostgreSQL 12; generated columns are not published).
const TABLE_COLUMNS_SQL = (withGenerated: boolean): string => `
  SELECT t.schema, t.name,
         (SELECT array_agg(a.attname::text ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped${withGenerated ? " AND a.attgenerated = ''" : ''}) AS columns
    FROM unnest($1::text[], $2::text[]) AS t(schema, name)
    JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.name`;

/**
 * The tables' columns on the target, in its order: the fall-back stream's reference. A target table
 * may order its columns otherwise than the source (values travel by column name either way), so the
 * source's snapshot columns would take that for a change of the table.
 */
async function readTableColumns(session: SqlSession, tables: readonly { schema: string; name: string }[]): Promise<TableColumns[]> {
  const version = await session.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  const withGenerated = Number(version.rows[0]?.v ?? 0) >= 120000;
  const { rows } = await session.query<{ schema: string; name: string; columns: string[] | null }>(TABLE_COLUMNS_SQL(withGenerated), [
    tables.map((t) => t.schema),
    tables.map((t) => t.name),
  ]);
  return rows.map((row) => ({ schema: row.schema, name: row.name, columns: row.columns ?? [] }));
}

/** Creates (or finds) the target's publication and slot for the reverse stream. */
export async function prepareReverseStream(options: ReverseStreamOptions): Promise<ReverseStream> {
  const { session, logger } = options;
  const names = reverseStreamNames(options.migrationId);
  await ensureBookkeepingSchema(session);
  const columns = await readTableColumns(session, options.tables);
  const existing = await session.query('SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1', [names.publicationName]);
  if (existing.rows.length === 0) {
    const tables = [...options.tables.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`), MARKER_TABLE_SQL].join(', ');
    await session.query(`CREATE PUBLICATION ${quoteIdent(names.publicationName)} FOR TABLE ${tables} WITH (publish_via_partition_root = true)`);
    logger.info(`created publication ${names.publicationName} on the target for ${options.tables.length} table(s) and the end-marker table`);
  }
  let replication: ReplicationConnection;
  try {
    replication = await ReplicationConnection.open(options.settings, { applicationName: options.applicationName, logger });
  } catch (error) {
    const message = describeError(error);
    // PgBouncer's answer to a replication connection: the target address given is a pooler's.
    const pooler = /unsupported startup parameter: replication/i.test(message);
    throw new GodwitError(`Cannot open a replication connection to the target for the fall-back stream: ${message}`, {
      cause: error,
      exitCode: pooler ? ExitCode.connection : undefined,
      hint: pooler
        ? "The target address is a connection pooler's (PgBouncer), which does not pass replication connections. Run the same command again with the target's own host and port (--target-db-host, --target-db-port): the cutover resumes at this step."
        : 'Fall-back needs a direct connection to the target (poolers do not pass replication connections), wal_level = logical, a free replication slot and the REPLICATION right on the target; fix that and run the same command again.',
    });
  }
  try {
    const slot = await replication.readSlot(names.slotName);
    if (slot !== undefined) {
      logger.info(`replication slot ${names.slotName} exists on the target already (an earlier run created it); taking it`);
      return { ...names, consistentPoint: slot.confirmedFlushLsn === undefined ? '' : formatLsn(slot.confirmedFlushLsn), columns };
    }
    const created = await replication.createSlot(names.slotName, { snapshot: 'nothing' });
    logger.info(`created replication slot ${names.slotName} on the target at ${formatLsn(created.consistentPoint)}`);
    cutoverKillPoint('reverse-slot-created');
    return { ...names, consistentPoint: formatLsn(created.consistentPoint), columns };
  } finally {
    await replication.close();
  }
}
