// Typed errors of the replication client. The capture pipeline decides from `reason` and `resumable`
// whether to reconnect (connection lost, slot briefly held by a dying walsender) or to stop and tell
// the user (slot missing or invalidated: restarting silently would lose changes).

import { describeError, ExitCode, GodwitError, type ExitCodeValue } from '../../../core/errors.js';

export type ReplicationFailureReason =
  /** The connection broke or the server ended the session: reconnect and resume from the slot. */
  | 'connection-lost'
  /** The slot does not exist (dropped, or never created on this server). */
  | 'slot-missing'
  /** The slot exists but the server removed WAL it needed (wal_status = lost): its changes are gone. */
  | 'slot-invalidated'
  /** Another session streams from the slot (possibly the walsender of a killed process, for a moment). */
  | 'slot-in-use'
  /** CREATE_REPLICATION_SLOT found a slot of that name. */
  | 'slot-exists'
  /** The server or this client lacks a feature asked for (protocol version, streaming, ...). */
  | 'not-supported'
  /** The server sent something this client does not understand. */
  | 'protocol'
  /** Any other error the server reported. */
  | 'server-error';

const RESUMABLE: ReadonlySet<ReplicationFailureReason> = new Set(['connection-lost', 'slot-in-use']);

function exitCodeFor(reason: ReplicationFailureReason): ExitCodeValue {
  if (reason === 'connection-lost') return ExitCode.connection;
  if (reason === 'slot-in-use') return ExitCode.locked;
  return ExitCode.failure;
}

/** A failure of the replication connection or stream; `resumable` says whether reconnecting may help. */
export class ReplicationError extends GodwitError {
  readonly reason: ReplicationFailureReason;
  readonly resumable: boolean;
  /** The server's SQLSTATE when the server reported the error. */
  readonly sqlState: string | undefined;

  constructor(
    reason: ReplicationFailureReason,
    message: string,
    options: { hint?: string; cause?: unknown; sqlState?: string } = {},
  ) {
    super(message, { hint: options.hint, cause: options.cause, exitCode: exitCodeFor(reason) });
    this.reason = reason;
    this.resumable = RESUMABLE.has(reason);
    this.sqlState = options.sqlState;
  }
}

/** What the failing operation was, for messages: "streaming from slot godwit_m1". */
export interface FailureContext {
  what: string;
  slotName?: string;
}

// SQLSTATEs after which the session is gone but the slot is intact: admin_shutdown, crash_shutdown,
// cannot_connect_now, idle session timeout; and class 08 (connection exceptions).
const SESSION_ENDED = new Set(['57P01', '57P02', '57P03', '57P05']);
const SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Turns anything thrown by pg or the socket during a replication operation into a ReplicationError. */
export function toReplicationError(error: unknown, context: FailureContext): ReplicationError {
  if (error instanceof ReplicationError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const sqlState = typeof code === 'string' ? code : undefined;
  const text = describeError(error);
  const detail = (error as { detail?: unknown } | null)?.detail;
  const slot = context.slotName === undefined ? 'the replication slot' : `replication slot "${context.slotName}"`;
  const options = { cause: error, sqlState };

  if (isConnectionLoss(sqlState, text)) {
    return new ReplicationError('connection-lost', `The replication connection was lost while ${context.what}: ${text}.`, {
      ...options,
      hint: 'Run the command again: it resumes from the last position confirmed to the slot.',
    });
  }
  if (sqlState === '42704' && /replication slot/i.test(text)) {
    return slotMissing(context.slotName ?? '', error);
  }
  if (/invalidated|can no longer get changes|cannot read from logical replication slot|wal_status|exceeded the maximum reserved size|required WAL has been removed/i.test(`${text} ${String(detail ?? '')}`)) {
    return slotInvalidated(context.slotName ?? '', error);
  }
  if (sqlState === '55006') {
    return new ReplicationError('slot-in-use', `${capitalize(slot)} is in use by another session: ${text}.`, {
      ...options,
      hint: 'Stop the other consumer of the slot; a session left by a killed process ends by itself after wal_sender_timeout.',
    });
  }
  if (sqlState === '42710') {
    return new ReplicationError('slot-exists', `${capitalize(slot)} already exists.`, {
      ...options,
      hint: 'Use the existing slot, or drop it first if it belongs to an abandoned migration.',
    });
  }
  if (sqlState === '0A000' || /unrecognized|invalid value for parameter|not supported/i.test(text)) {
    return new ReplicationError('not-supported', `The server refused ${context.what}: ${text}.`, options);
  }
  return new ReplicationError('server-error', `The server reported an error while ${context.what}: ${text}${detail ? ` (${String(detail)})` : ''}.`, options);
}

/** The error for a slot that does not exist, whether the server said so or a catalog lookup found nothing. */
export function slotMissing(slotName: string, cause?: unknown): ReplicationError {
  return new ReplicationError('slot-missing', `Replication slot "${slotName}" does not exist on the source.`, {
    cause,
    hint: 'It was dropped, or this is not the server the migration started on. The change stream cannot resume without it: start the live migration again (export data with --start-clean).',
  });
}

/** The error for a slot whose WAL the server removed: the stream has a gap that nothing can fill. */
export function slotInvalidated(slotName: string, cause?: unknown): ReplicationError {
  return new ReplicationError(
    'slot-invalidated',
    `Replication slot "${slotName}" was invalidated: the server removed WAL the slot still needed (wal_status = lost), so changes since the last confirmed position are lost.`,
    {
      cause,
      hint: 'The live migration cannot continue from this slot. Raise max_slot_wal_keep_size (or set it to -1) on the source, then start the live migration again (export data with --start-clean).',
    },
  );
}

function isConnectionLoss(sqlState: string | undefined, text: string): boolean {
  if (sqlState !== undefined && (SESSION_ENDED.has(sqlState) || sqlState.startsWith('08') || SOCKET_CODES.has(sqlState))) {
    return true;
  }
  return /Connection terminated|connection (was )?(lost|closed)|not queryable|socket hang up|read ECONNRESET/i.test(text);
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
