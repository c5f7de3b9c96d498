// The PostgreSQL snapshot engine: a leader connection that exports a snapshot (REPEATABLE READ READ
// ONLY; pg_export_snapshot()) and stays open and idle while reader connections join it with SET
// TRANSACTION SNAPSHOT and stream COPY TO STDOUT through CopyOutStream (bytes are never parsed into
// rows). The only file of the snapshot export that knows node-postgres; the command wires it in.

import type pg from 'pg';
import type { DatabaseSettings } from '../../../core/database-settings.js';
import { ConnectionError, GodwitError, describeError, diskFullError, isDiskFull } from '../../../core/errors.js';
import type { Logger } from '../../../core/logger.js';
import { connect } from '../connect.js';
import { CopyOutStream } from './copy-out-stream.js';
import { errorCode, serverPlace } from '../connection-errors.js';
import type { CopyOut, SegmentLimits, SnapshotEngine, SnapshotFileFormat, SnapshotReader, SnapshotSource } from '../../snapshot-engine.js';
import { postgresBlankPadded, postgresCopyFormat } from './copy-format.js';

/** What the PostgreSQL engine needs to open its connections. */
export interface PostgresSnapshotOptions {
  /** Settings a first connection proved (password filled in). */
  settings: DatabaseSettings;
  serverVersionNum: number;
  applicationName: string;
  logger: Logger;
}

/** Session settings for long reads: no timeout may end a snapshot holder or a long COPY. */
const SESSION_SETUP = 'SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; SET lock_timeout = 0';
const BEGIN_SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/** Builds the snapshot engine over node-postgres connections made with `settings`. */
export function postgresSnapshotEngine(options: PostgresSnapshotOptions): SnapshotEngine {
  const open = async (): Promise<pg.Client> => {
    const connection = await connect(options.settings, { applicationName: options.applicationName, logger: options.logger });
    connection.client.removeAllListeners('error');
    // A dropped connection surfaces through the query in progress; the client-level event must not crash the process.
    connection.client.on('error', (error) => options.logger.debug(`snapshot connection error: ${error.message}`));
    await connection.client.query(SESSION_SETUP);
    return connection.client;
  };
  const place = serverPlace(options.settings);
  return {
    serverVersionNum: options.serverVersionNum,
    async openSource(): Promise<SnapshotSource> {
      const client = await open();
      try {
        await client.query(BEGIN_SNAPSHOT);
        const result = await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
        const id = result.rows[0]?.id;
        if (id === undefined) throw new Error('pg_export_snapshot() returned no row');
        return {
          snapshotId: id,
          kind: 'exported-snapshot',
          session: client,
          close: () => closeClient(client),
        };
      } catch (error) {
        destroyClient(client);
        throw describeFailure(error, 'taking the snapshot', place);
      }
    },
    async openReader(snapshotId: string): Promise<SnapshotReader> {
      const client = await open();
      try {
        await client.query(BEGIN_SNAPSHOT);
        await client.query(`SET TRANSACTION SNAPSHOT '${snapshotId.replaceAll("'", "''")}'`);
      } catch (error) {
        destroyClient(client);
        throw describeFailure(error, 'joining the snapshot', place);
      }
      let destroyed = false;
      return {
        copyOut: (sql, format, segments, blankPadded) => startCopy(client, sql, format, segments, blankPadded),
        close: async () => {
          if (!destroyed) await closeClient(client);
        },
        destroy: () => {
          destroyed = true;
          destroyClient(client);
        },
      };
    },
    copyFormat: postgresCopyFormat,
    blankPadded: postgresBlankPadded,
    describeFailure: (error, what) => describeFailure(error, what, place),
  };
}

function startCopy(client: pg.Client, sql: string, format: SnapshotFileFormat, segments: SegmentLimits, blankPadded?: readonly boolean[]): CopyOut {
  const stream = new CopyOutStream(sql, format, segments, blankPadded);
  // The stream ends at CopyDone; the row count arrives with CommandComplete just after, so wait for
  // ReadyForQuery before reading it.
  const rowCount = new Promise<number>((resolve, reject) => {
    stream.whenReady().then(() => resolve(stream.rowCount), reject);
    stream.once('error', reject);
  });
  rowCount.catch(() => undefined);
  client.query(stream as unknown as pg.QueryConfig);
  return { stream, rowCount, framedRows: () => stream.rows, segments: () => stream.segments };
}

async function closeClient(client: pg.Client): Promise<void> {
  try {
    await client.query('COMMIT');
  } catch {
    // The transaction is read-only: a failed COMMIT loses nothing.
  }
  await client.end().catch(() => undefined);
}

function destroyClient(client: pg.Client): void {
  client.connection.stream.destroy();
  client.end().catch(() => undefined);
}

/** SQLSTATE classes meaning the connection or the server went away: the export can resume later. */
function isConnectionLoss(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && (code.startsWith('08') || code.startsWith('57P') || ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code))) {
    return true;
  }
  return /Connection terminated|connection (?:was )?(?:closed|ended)|Client was closed|not queryable/i.test(describeError(error));
}

function describeFailure(error: unknown, what: string, place: string): Error {
  if (error instanceof GodwitError) return error;
  // Writing the chunk file, not the source, failed.
  if (isDiskFull(error)) return diskFullError(error);
  if (isConnectionLoss(error)) {
    return new ConnectionError('source', 'unreachable', `The connection to the ${place} was lost while ${what}: ${describeError(error)}.`, {
      cause: error,
      hint: 'Check that the source is up, then run the same command again: exported chunks are kept and the export resumes with the rest.',
    });
  }
  const code = errorCode(error);
  return new GodwitError(`The source failed while ${what}: ${describeError(error)}${code === undefined ? '' : ` (SQLSTATE ${code})`}.`, {
    cause: error,
    hint: 'Fix the cause, then run the same command again: exported chunks are kept and the export resumes with the rest.',
  });
}
