// Begin and Commit of pgoutput as the decoder returns them: the positions and times stay in the
// message's bytes until someone reads them. Each is a 64-bit integer, and making a bigint of one costs
// more than the rest of a small transaction's decoding; capture reads two of the seven per transaction,
// and the commit time as milliseconds, which needs no bigint (commitTimeMs).

import type { BeginMessage, CommitMessage } from './pgoutput-messages.js';

/** Milliseconds between 1970-01-01 and 2000-01-01, the replication protocol's epoch. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_POW_32 = 2 ** 32;

/**
 * A server timestamp (signed microseconds since 2000-01-01, big-endian at `at`) in epoch milliseconds,
 * as Number(micros / 1000n) + epoch would give it: exact for any time within ±285 years of 2000.
 */
function timestampMs(source: Buffer, at: number): number {
  const micros = source.readInt32BE(at) * TWO_POW_32 + source.readUInt32BE(at + 4);
  return Math.trunc(micros / 1000) + PG_EPOCH_MS;
}

/** Begin: final LSN (8 bytes), commit time (8), xid (4) from `at` of `source`, checked by the decoder to be there. */
export class BeginFrame implements BeginMessage {
  readonly tag = 'begin';
  readonly xid: number;

  constructor(
    private readonly source: Buffer,
    private readonly at: number,
  ) {
    this.xid = source.readUInt32BE(at + 16);
  }

  get finalLsn(): bigint {
    return this.source.readBigUInt64BE(this.at);
  }

  get commitTime(): bigint {
    return this.source.readBigInt64BE(this.at + 8);
  }

  /** The commit time in epoch milliseconds. */
  get commitTimeMs(): number {
    return timestampMs(this.source, this.at + 8);
  }
}

/** Commit: flags (1 byte), commit LSN (8), end LSN (8), commit time (8) from `at` of `source`, checked by the decoder. */
export class CommitFrame implements CommitMessage {
  readonly tag = 'commit';

  constructor(
    private readonly source: Buffer,
    private readonly at: number,
  ) {}

  get flags(): number {
    return this.source[this.at] as number;
  }

  get commitLsn(): bigint {
    return this.source.readBigUInt64BE(this.at + 1);
  }

  get endLsn(): bigint {
    return this.source.readBigUInt64BE(this.at + 9);
  }

  get commitTime(): bigint {
    return this.source.readBigInt64BE(this.at + 17);
  }

  /** The commit time in epoch milliseconds. */
  get commitTimeMs(): number {
    return timestampMs(this.source, this.at + 17);
  }
}

/** Bytes after the message type of a Begin and of a Commit (protocol versions 1 and 2). */
export const BEGIN_BYTES = 20;
export const COMMIT_BYTES = 25;
