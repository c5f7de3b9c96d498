// The text of the replication commands godwit sends on a walsender connection, with the names and
// options checked and quoted, and the syntax chosen by server version: PostgreSQL 15 introduced the
// parenthesised option list of CREATE_REPLICATION_SLOT; pgoutput protocol version 2, streaming,
// messages and binary arrived in 14, the origin option in 16.

import { formatLsn, type Lsn } from '../../../core/lsn.js';
import type { ServerInfo } from '../server-info.js';
import { ReplicationError } from './replication-errors.js';

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

/** Refuses a slot name the server would refuse (lower-case letters, digits, underscores, at most 63). */
export function assertSlotName(name: string): void {
  if (!SLOT_NAME.test(name)) {
    throw new ReplicationError(
      'not-supported',
      `"${name}" is not a valid replication slot name: use lower-case letters, digits and underscores, at most 63 characters.`,
    );
  }
}

/** What the slot's creation should do about a snapshot (CREATE_REPLICATION_SLOT's SNAPSHOT option). */
export type SlotSnapshotAction = 'export' | 'use' | 'nothing';

export interface CreateSlotOptions {
  /** 'export' (default): export a snapshot the snapshot readers join; 'use': use it in this session's transaction; 'nothing'. */
  snapshot?: SlotSnapshotAction;
  /** A slot dropped when the session ends (tests, throw-away streams). Default false. */
  temporary?: boolean;
}

/** CREATE_REPLICATION_SLOT for a pgoutput slot, in the syntax the server understands. */
export function createSlotCommand(name: string, options: CreateSlotOptions, server: ServerInfo): string {
  assertSlotName(name);
  const snapshot = options.snapshot ?? 'export';
  const temporary = options.temporary === true ? ' TEMPORARY' : '';
  // YugabyteDB keeps the older keyword syntax whatever its PostgreSQL base.
  if (server.versionNum >= 150_000 && !server.isYugabyte) {
    return `CREATE_REPLICATION_SLOT ${name}${temporary} LOGICAL pgoutput (SNAPSHOT '${snapshot}')`;
  }
  const keyword = { export: 'EXPORT_SNAPSHOT', use: 'USE_SNAPSHOT', nothing: 'NOEXPORT_SNAPSHOT' }[snapshot];
  return `CREATE_REPLICATION_SLOT ${name}${temporary} LOGICAL pgoutput ${keyword}`;
}

/** DROP_REPLICATION_SLOT; WAIT makes the server wait for a slot still held by an ending session instead of failing. */
export function dropSlotCommand(name: string, wait: boolean): string {
  assertSlotName(name);
  return `DROP_REPLICATION_SLOT ${name}${wait ? ' WAIT' : ''}`;
}

/** The pgoutput options of one stream. */
export interface StartReplicationOptions {
  slotName: string;
  /**
   * Where to start: the position the owner knows is durable (the slot's confirmed position after a
   * restart). The server starts at the later of this and the slot's confirmed_flush_lsn and sends
   * only transactions that commit at or after it. 0/0 lets the server use confirmed_flush_lsn.
   */
  startLsn: Lsn;
  /** Publications whose tables are streamed. */
  publicationNames: string[];
  /** pgoutput protocol version: 1, or 2 for streaming of large in-progress transactions (PostgreSQL 14+). Default 2 when the server has it. */
  protocolVersion?: 1 | 2;
  /** Stream large transactions before they commit (Stream Start/Stop/Commit/Abort). Default: on with protocol 2. */
  streaming?: boolean;
  /** Send logical decoding messages (pg_logical_emit_message). Default true where supported (14+). */
  messages?: boolean;
  /** Send column values in binary where the type allows. Default false. */
  binary?: boolean;
  /** 'none': only changes without a replication origin (PostgreSQL 16+), so writes of an apply session are not echoed. */
  origin?: 'any' | 'none';
}

/** START_REPLICATION ... LOGICAL for pgoutput; refuses options this server does not have. */
export function startReplicationCommand(options: StartReplicationOptions, server: ServerInfo): string {
  assertSlotName(options.slotName);
  if (options.publicationNames.length === 0) {
    throw new ReplicationError('not-supported', 'START_REPLICATION needs at least one publication name.');
  }
  const modern = server.versionNum >= 140_000;
  const version = options.protocolVersion ?? (modern ? 2 : 1);
  const streaming = options.streaming ?? version >= 2;
  const messages = options.messages ?? modern;
  const need = (feature: string, minimum: number): void => {
    // YugabyteDB decides for itself; the server's error says what it lacks.
    if (!server.isYugabyte && server.versionNum < minimum) {
      throw new ReplicationError('not-supported', `${feature} needs PostgreSQL ${minimum / 10_000} or later; the source runs ${server.versionString}.`);
    }
  };
  if (version === 2) need('pgoutput protocol version 2', 140_000);
  if (streaming) {
    if (version < 2) throw new ReplicationError('not-supported', 'Streaming in-progress transactions needs pgoutput protocol version 2.');
    need('Streaming of in-progress transactions', 140_000);
  }
  if (messages) need('Logical decoding messages in pgoutput', 140_000);
  if (options.binary === true) need('Binary pgoutput values', 140_000);
  if (options.origin !== undefined) need('The pgoutput origin option', 160_000);

  const pgOptions = [
    `proto_version '${version}'`,
    `publication_names ${literal(options.publicationNames.map(quoteIdentifier).join(','))}`,
  ];
  if (streaming) pgOptions.push(`streaming 'on'`);
  if (messages) pgOptions.push(`messages 'true'`);
  if (options.binary === true) pgOptions.push(`binary 'true'`);
  if (options.origin !== undefined) pgOptions.push(`origin '${options.origin}'`);
  return `START_REPLICATION SLOT ${options.slotName} LOGICAL ${formatLsn(options.startLsn)} (${pgOptions.join(', ')})`;
}

/** A SQL string literal (standard_conforming_strings on, as on every supported server). */
export function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
