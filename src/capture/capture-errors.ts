// Why the capture pipeline stopped on its own (DESIGN.md section 5: TRUNCATE and DDL during the
// migration are detected and stop the export rather than let the target diverge silently). Each
// stop is a CaptureStoppedError with a `reason` that callers and tests can match, the table it
// concerns, and a hint that says what the user can do. When one is thrown the queue holds exactly the
// transactions before the offending one and the slot was acknowledged no further, so nothing of it
// was captured: running the export again meets the same transaction and stops again.

import { GodwitError } from '../core/errors.js';
import type { TableName } from '../core/change-event.js';

export type CaptureStopReason =
  /** TRUNCATE of a captured table: the stream carries no row images, so the target cannot follow. */
  | 'truncate'
  /** The table's columns changed (ALTER TABLE during the migration), or differ from the expected columns. */
  | 'schema-changed'
  /** An UPDATE or DELETE of a table whose changes carry no key: the target row cannot be found. */
  | 'no-replica-identity'
  /** The stream sent something this pipeline does not capture (streamed transactions, binary values). */
  | 'unsupported-stream';

/** The capture pipeline stopped before a transaction it must not capture; see the file comment. */
export class CaptureStoppedError extends GodwitError {
  readonly reason: CaptureStopReason;
  /** The tables concerned (empty when the stop is not about a table). */
  readonly tables: readonly TableName[];
  /** The source transaction the capture stopped at (its xid and commit LSN), when the stop is inside one. */
  transaction: { xid: number; commitLsn: string } | undefined;

  constructor(reason: CaptureStopReason, message: string, options: { tables?: readonly TableName[]; hint?: string; cause?: unknown } = {}) {
    super(message, { hint: options.hint, cause: options.cause });
    this.reason = reason;
    this.tables = options.tables ?? [];
  }

  /** Names the transaction the stop happened in, so the user can find it in the source's logs. */
  atTransaction(xid: number, commitLsn: string): this {
    this.transaction = { xid, commitLsn };
    this.message = `${this.message.replace(/\.$/, '')} (source transaction ${xid}, committed at ${commitLsn}).`;
    return this;
  }
}

/** The printed form of a table name: "schema"."name" as SQL would write it. */
export function quotedTable(table: TableName): string {
  return `${quote(table.schema)}.${quote(table.name)}`;
}

function quote(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const RESTART_HINT =
  'The export stopped before that transaction: nothing of it is in the change queue and the replication slot was not acknowledged past it, ' +
  'so running the export again stops at the same place.';

/** The stop for a TRUNCATE: explains that it cannot be carried and what to do. */
export function truncateStop(tables: readonly TableName[]): CaptureStoppedError {
  const names = tables.map(quotedTable).join(', ');
  return new CaptureStoppedError('truncate', `TRUNCATE of ${names} on the source during the live migration: the change stream cannot carry it, so the export stopped rather than let the target diverge.`, {
    tables,
    hint:
      `${RESTART_HINT} Do not TRUNCATE migrated tables while the migration runs (use DELETE, which is streamed). ` +
      'To go on, start the data migration again from a new snapshot (export data from source with --start-clean, after truncating or recreating the target tables).',
  });
}

/** The stop for a table whose columns changed during the migration (or differ from what the export expects). */
export function schemaChangedStop(table: TableName, detail: string): CaptureStoppedError {
  return new CaptureStoppedError('schema-changed', `The columns of ${quotedTable(table)} changed on the source during the live migration (${detail}); the export stopped rather than stream rows the target cannot take.`, {
    tables: [table],
    hint:
      `${RESTART_HINT} Do not run DDL on migrated tables while the migration runs. ` +
      'To go on, undo the change on the source if nothing wrote with it yet, or start the data migration again from a new snapshot after applying the same change to the target schema (export data from source with --start-clean).',
  });
}

/** The stop for an UPDATE or DELETE the target could not apply because the table has no usable replica identity. */
export function noReplicaIdentityStop(table: TableName, op: 'update' | 'delete'): CaptureStoppedError {
  const name = quotedTable(table);
  return new CaptureStoppedError('no-replica-identity', `An ${op.toUpperCase()} of ${name} came without a key: the table has no primary key and no replica identity that identifies its rows, so the target row cannot be found.`, {
    tables: [table],
    hint:
      `${RESTART_HINT} Give the table a primary key, or run ALTER TABLE ${name} REPLICA IDENTITY USING INDEX <a unique index on NOT NULL columns> ` +
      `(or REPLICA IDENTITY FULL, which logs whole old rows), then start the data migration of it again (export data from source with --start-clean).`,
  });
}

/** The stop for stream content this pipeline was not set up for (a stream started with the wrong options). */
export function unsupportedStreamStop(what: string): CaptureStoppedError {
  return new CaptureStoppedError('unsupported-stream', `The replication stream sent ${what}, which capture does not handle.`, {
    hint: 'Start the stream with pgoutput protocol version 1, without streaming of in-progress transactions and without binary values.',
  });
}
