// The snapshot of a live export: the one CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT exported, so the
// snapshot files hold the database exactly at the slot's consistent point, where its stream starts
// (DESIGN.md section 4, invariant 1). The replication connection that created the slot holds the
// snapshot; it stays open and idle until close(). Readers join it with SET TRANSACTION SNAPSHOT like
// those of the offline copy; `session` is an ordinary connection inside the same snapshot (relation
// sizes, sequence values).

import type pg from 'pg';
import type { DatabaseSettings } from '../../../core/database-settings.js';
import { GodwitError } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import type { SnapshotEngine, SnapshotSource } from '../../snapshot-engine.js';
import { connect } from '../connect.js';
import type { ReplicationConnection } from '../replication/index.js';

export interface SlotSnapshotOptions {
  settings: DatabaseSettings;
  /** The connection that created the slot with an exported snapshot and still holds it. */
  replication: ReplicationConnection;
  applicationName: string;
  logger: Logger;
}

const SESSION_SETUP = 'SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; SET lock_timeout = 0';

/**
 * A SnapshotSource (kind 'replication-slot') over the snapshot `replication` holds. close() ends the
 * session, releases the snapshot and closes the replication connection (its snapshot is of no use
 * once read; streaming needs a session of its own).
 */
export async function openSlotSnapshotSource(options: SlotSnapshotOptions): Promise<SnapshotSource> {
  const snapshotId = options.replication.snapshotHeld;
  if (snapshotId === undefined) {
    throw new GodwitError('The replication connection holds no exported snapshot: the slot must be created with an exported snapshot on it.');
  }
  const connection = await connect(options.settings, { applicationName: options.applicationName, logger: options.logger });
  const client: pg.Client = connection.client;
  client.removeAllListeners('error');
  client.on('error', (error) => options.logger.debug(`snapshot session error: ${error.message}`));
  try {
    await client.query(SESSION_SETUP);
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await client.query(`SET TRANSACTION SNAPSHOT '${snapshotId.replaceAll("'", "''")}'`);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  let closed = false;
  return {
    snapshotId,
    kind: 'replication-slot',
    session: client,
    async close() {
      if (closed) return;
      closed = true;
      await client.query('COMMIT').catch(() => undefined);
      await client.end().catch(() => undefined);
      options.replication.releaseSnapshot();
      await options.replication.close();
    },
  };
}

/** The snapshot engine of a live export: `base` for readers, the slot's snapshot as its source (once). */
export function slotSnapshotEngine(base: SnapshotEngine, openSource: () => Promise<SnapshotSource>): SnapshotEngine {
  return {
    serverVersionNum: base.serverVersionNum,
    openSource,
    copyFormat: (columns) => base.copyFormat(columns),
    blankPadded: (columns) => base.blankPadded(columns),
    openReader: (snapshotId) => base.openReader(snapshotId),
    describeFailure: (error, what) => base.describeFailure(error, what),
  };
}
