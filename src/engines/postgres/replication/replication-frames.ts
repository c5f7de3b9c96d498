// The streaming replication sub-protocol carried inside CopyData messages: XLogData ('w') and
// Primary keepalive ('k') from the server, Standby status update ('r') from the client
// (https://www.postgresql.org/docs/current/protocol-replication.html).

import { assertLsnRange, type Lsn } from '../../../core/lsn.js';
import { BufferReader } from './buffer-reader.js';
import { ReplicationError } from './replication-errors.js';

/** A chunk of WAL data: for pgoutput, exactly one pgoutput message. */
export interface XLogDataFrame {
  kind: 'xlogdata';
  /** The WAL position this data starts at (0 for some messages, e.g. Stream Stop or keepalive-like ones). */
  walStart: Lsn;
  /** The server's current end of WAL. Never a position to confirm. */
  walEnd: Lsn;
  /** Server clock at transmission, microseconds since 2000-01-01. */
  sendTime: bigint;
  /** The plugin's message; a view into the received buffer. */
  data: Buffer;
}

/** The server's heartbeat; `replyRequested` asks for a status update at once (or it ends the session after wal_sender_timeout). */
export interface KeepaliveFrame {
  kind: 'keepalive';
  /** The server's current end of WAL. Never a position to confirm by itself. */
  walEnd: Lsn;
  sendTime: bigint;
  replyRequested: boolean;
}

export type ServerFrame = XLogDataFrame | KeepaliveFrame;

const XLOGDATA_HEADER = 25;

/** Parses the body of one CopyData message from a walsender. */
export function parseServerFrame(body: Buffer): ServerFrame {
  const type = body[0];
  if (type === 0x77) {
    // 'w'
    const reader = new BufferReader(body, 1, 'XLogData message');
    const walStart = reader.uint64();
    const walEnd = reader.uint64();
    const sendTime = reader.int64();
    return { kind: 'xlogdata', walStart, walEnd, sendTime, data: body.subarray(XLOGDATA_HEADER) };
  }
  if (type === 0x6b) {
    // 'k'
    const reader = new BufferReader(body, 1, 'keepalive message');
    return { kind: 'keepalive', walEnd: reader.uint64(), sendTime: reader.int64(), replyRequested: reader.uint8() === 1 };
  }
  const shown = type === undefined ? 'an empty message' : `message type 0x${type.toString(16)}`;
  throw new ReplicationError('protocol', `The replication stream sent ${shown} inside CopyData; expected XLogData or keepalive.`);
}

/** The positions a standby status update reports; godwit sets all three from what the owner confirmed. */
export interface StatusPositions {
  written: Lsn;
  flushed: Lsn;
  applied: Lsn;
}

/** The body of a Standby status update ('r'): three positions, the client clock, and whether a reply is wanted. */
export function standbyStatusUpdate(positions: StatusPositions, clientTime: bigint, replyRequested: boolean): Buffer {
  for (const lsn of [positions.written, positions.flushed, positions.applied]) assertLsnRange(lsn);
  const body = Buffer.allocUnsafe(34);
  body[0] = 0x72; // 'r'
  body.writeBigUInt64BE(positions.written, 1);
  body.writeBigUInt64BE(positions.flushed, 9);
  body.writeBigUInt64BE(positions.applied, 17);
  body.writeBigInt64BE(clientTime, 25);
  body[33] = replyRequested ? 1 : 0;
  return body;
}

/** Frames a CopyData message ('d', Int32 length, body) for the socket. */
export function copyDataMessage(body: Buffer): Buffer {
  const header = Buffer.allocUnsafe(5);
  header[0] = 0x64; // 'd'
  header.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

/** A CopyDone message ('c'): ends the client's side of the CopyBoth stream. */
export const COPY_DONE_MESSAGE = Buffer.from([0x63, 0, 0, 0, 4]);
