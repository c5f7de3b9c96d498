// One running START_REPLICATION: delivers the server's messages in order, decoded, at the pace the
// consumer asks for them, and keeps the session alive with standby status updates.
//
// Invariant 2 (DESIGN section 4) lives here: the positions reported to the server (write, flush and
// apply) are ONLY what the owner confirmed with confirmFlushed(). The stream never derives a position
// from what it received (XLogData, keepalive wal_end), and its timer only repeats the owner's
// positions. A position confirmed inside a transaction would make the server skip the rest of that
// transaction after a reconnect, so only the owner, who knows what is durable, may move it.

import { assertLsnRange, formatLsn, INVALID_LSN, type Lsn } from '../../../core/lsn.js';
import { silentLogger, type Logger } from '../../../core/logger.js';
import { CopyBothQuery, NOT_YET } from './copy-both-query.js';
import { PgoutputDecoder } from './pgoutput-decoder.js';
import { dateToPgTime, type PgoutputMessage } from './pgoutput-messages.js';
import { parseServerFrame, standbyStatusUpdate, type KeepaliveFrame } from './replication-frames.js';
import { ReplicationError, toReplicationError } from './replication-errors.js';
import type { SlotState } from './slot-state.js';

/** A decoded XLogData message: one pgoutput message and the WAL positions the server sent with it. */
export interface XLogDataMessage {
  kind: 'xlogdata';
  /** The WAL position of the message (0 for messages without one, such as Stream Stop). */
  walStart: Lsn;
  /** The server's end of WAL when it sent this. Not a position to confirm. */
  walEnd: Lsn;
  /** Server clock, microseconds since 2000-01-01. */
  sendTime: bigint;
  message: PgoutputMessage;
}

/** What the stream delivers: decoded changes, and the server's keepalives (already answered when they asked). */
export type ReplicationMessage = XLogDataMessage | KeepaliveFrame;

/** XLogData: 'w', walStart, walEnd, sendTime (8 bytes each), then the plugin's message. */
const XLOGDATA = 0x77;
const XLOGDATA_HEADER = 25;

/** An XLogDataMessage whose positions are read from its frame when asked for (few consumers need them). */
class XLogDataItem implements XLogDataMessage {
  readonly kind = 'xlogdata';
  constructor(
    private readonly frame: Buffer,
    private readonly at: number,
    readonly message: PgoutputMessage,
  ) {}

  get walStart(): Lsn {
    return this.frame.readBigUInt64BE(this.at + 1);
  }

  get walEnd(): Lsn {
    return this.frame.readBigUInt64BE(this.at + 9);
  }

  get sendTime(): bigint {
    return this.frame.readBigInt64BE(this.at + 17);
  }
}

/** Timing of the session. */
export interface ReplicationStreamTiming {
  /** How often the confirmed positions are re-sent (they keep the session alive while the consumer is slow). Default 10 s. */
  statusIntervalMs: number;
  /**
   * How long to wait for the server while the consumer waits for data: after half of it the stream
   * asks the server for a reply; after all of it the connection counts as lost. Default 60 s; 0 turns it off.
   */
  receiveTimeoutMs: number;
}

export const DEFAULT_STREAM_TIMING: ReplicationStreamTiming = { statusIntervalMs: 10_000, receiveTimeoutMs: 60_000 };

/** Counters for metrics and tests. */
export interface ReplicationStreamStats {
  xlogDataMessages: number;
  keepalives: number;
  /** Status updates sent because a keepalive asked for a reply. */
  keepaliveReplies: number;
  statusUpdatesSent: number;
  /** Date.now() of the last status update, 0 before the first. */
  lastStatusSentAt: number;
  /** Bytes received and not yet delivered: bounded (about one socket read plus one message), whatever the backlog. */
  bufferedBytes: number;
  /** Socket reads made while the server was ahead of the consumer (the backlog reading mode of copy-both-query.ts). */
  backlogReads: number;
}

/** A live replication stream on a replication connection; create it with ReplicationConnection.startReplication(). */
export class ReplicationStream implements AsyncIterable<ReplicationMessage> {
  /** Relations and types described so far (the decoder's cache). */
  readonly decoder = new PgoutputDecoder();
  private readonly stats_: Omit<ReplicationStreamStats, 'bufferedBytes' | 'backlogReads'> = {
    xlogDataMessages: 0,
    keepalives: 0,
    keepaliveReplies: 0,
    statusUpdatesSent: 0,
    lastStatusSentAt: 0,
  };
  private flushed: Lsn = INVALID_LSN;
  private failure: ReplicationError | undefined;
  private stopping = false;
  private waitingSince: number | undefined;
  private pingSentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();
  /** next() calls not yet settled: poll() must not overtake them. */
  private inFlight = 0;
  private readonly query: CopyBothQuery;


  /** Internal: use ReplicationConnection.startReplication(), which checks the slot and submits the command. */
  constructor(
    command: string,
    readonly slotName: string,
    private readonly timing: ReplicationStreamTiming = DEFAULT_STREAM_TIMING,
    private readonly logger: Logger = silentLogger,
    /** The slot as the server described it just before the stream started (its confirmed position is where the stream begins). */
    readonly slotAtStart?: SlotState,
  ) {
    this.query = new CopyBothQuery(command, {
      onKeepalive: (body) => {
        // A keepalive asking for a reply is answered as soon as it is parsed, before the consumer gets to it.
        if (body.length >= 18 && body[17] === 1) this.answerKeepalive();
      },
      onNotice: (notice) => this.logger.info(`Replication slot "${slotName}": ${notice}`),
    });
    this.query.started.then(
      () => this.startTimer(),
      () => undefined,
    );
  }

  /** The pg query to submit on the replication connection (ReplicationConnection.startReplication does). */
  get submittable(): CopyBothQuery {
    return this.query;
  }

  /** Resolves once the server started streaming; rejects with the server's refusal (raw pg error). */
  get started(): Promise<void> {
    return this.query.started;
  }

  /** The last position the owner confirmed (0/0 before the first confirmation). */
  get confirmedFlushLsn(): Lsn {
    return this.flushed;
  }

  /** A snapshot of the counters. */
  get stats(): ReplicationStreamStats {
    return { ...this.stats_, bufferedBytes: this.query.bufferedBytes, backlogReads: this.query.backlogReads };
  }

  /**
   * Confirms that everything up to `lsn` is durable on the owner's side (written, fsynced, recorded),
   * and tells the server at once so it may release WAL. Pass the end LSN of a whole transaction
   * (Commit or Stream Commit `endLsn`), never a position inside one. Lower positions are ignored:
   * confirmed positions only move forward.
   */
  confirmFlushed(lsn: Lsn): void {
    assertLsnRange(lsn);
    if (lsn <= this.flushed) return;
    this.flushed = lsn;
    this.sendStatus(false);
  }

  /** The next message, waiting for it if needed; undefined after stop(). Throws ReplicationError. Calls are served in order. */
  next(): Promise<ReplicationMessage | undefined> {
    this.inFlight += 1;
    const result = this.reading.then(() => this.readNext());
    this.reading = result.then(
      () => {
        this.inFlight -= 1;
      },
      () => {
        this.inFlight -= 1;
      },
    );
    return result;
  }

  /**
   * The next message when one can be had without waiting (already received and buffered), else
   * undefined; the same order and errors as next(). It is the consumer's fast path: a hundred
   * thousand messages a second through next() cost several promises each. Returns undefined while
   * a next() call is still being served (order first), after stop(), or when nothing is buffered.
   */
  poll(): ReplicationMessage | undefined {
    if (this.inFlight > 0 || this.stopping) return undefined;
    const read = this.readAvailable();
    return read === NOT_YET ? undefined : read;
  }

  private async readNext(): Promise<ReplicationMessage | undefined> {
    for (;;) {
      const read = this.readAvailable();
      if (read !== NOT_YET) return read;
      // The start of this wait for data: the receive timeout counts from here or from the last bytes.
      this.waitingSince ??= Date.now();
      await this.query.waitForData(1_000);
    }
  }

  /** The next message if one is available without waiting, NOT_YET when none is; undefined once stopping. */
  private readAvailable(): ReplicationMessage | undefined | typeof NOT_YET {
    if (this.failure !== undefined) throw this.failure;
    let frame: Buffer | null | typeof NOT_YET;
    try {
      frame = this.query.readFrame();
    } catch (error) {
      if (this.stopping) return undefined;
      throw this.fail(error);
    }
    if (frame === null) {
      if (this.stopping) return undefined;
      throw this.fail(
        new ReplicationError('connection-lost', `The server ended the replication stream from slot "${this.slotName}" (it may be shutting down).`, {
          hint: 'Run the command again once the source is up: it resumes from the last position confirmed to the slot.',
        }),
      );
    }
    if (frame === NOT_YET) {
      if (this.stopping) return undefined;
      return NOT_YET;
    }
    this.waitingSince = undefined;
    // The CopyData body is [start, end) of the network buffer readFrame returned.
    const start = this.query.frameStart;
    const end = this.query.frameEnd;
    if (frame[start] === XLOGDATA && end - start > XLOGDATA_HEADER) {
      // The common case without a view, a frame object and three bigints per message: the pgoutput
      // message is decoded in place and the positions are read only if someone asks (XLogDataItem).
      this.stats_.xlogDataMessages++;
      let decoded: PgoutputMessage;
      try {
        decoded = this.decoder.decode(frame, start + XLOGDATA_HEADER, end);
      } catch (error) {
        throw this.fail(error);
      }
      return new XLogDataItem(frame, start, decoded);
    }
    const parsed = this.parse(frame.subarray(start, end));
    if (parsed.kind === 'keepalive') {
      this.stats_.keepalives++;
      return parsed;
    }
    this.stats_.xlogDataMessages++;
    let message: PgoutputMessage;
    try {
      message = this.decoder.decode(parsed.data);
    } catch (error) {
      throw this.fail(error);
    }
    return { kind: 'xlogdata', walStart: parsed.walStart, walEnd: parsed.walEnd, sendTime: parsed.sendTime, message };
  }

  /** Iterates until stop(); breaking out of a for-await loop stops the stream. */
  [Symbol.asyncIterator](): AsyncIterator<ReplicationMessage> {
    return {
      next: async () => {
        const value = await this.next();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      return: async () => {
        await this.stop();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * Ends the stream cleanly: sends the confirmed positions one last time, then CopyDone, and waits
   * for the server to finish the command, after which the connection takes commands again. Never
   * throws (it runs in cleanup paths); on a dead or hung connection it closes the socket.
   */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.stopping) {
      this.stopping = true;
      this.clearTimer();
      this.sendStatus(false);
      this.query.endCopy();
    }
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([this.query.finished.then(() => 'done' as const, () => 'failed' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn(`The server did not end the replication stream from slot "${this.slotName}" within ${timeoutMs / 1000} s; closing the connection.`);
      this.query.destroy();
    }
  }

  /** Closes the connection at once, without CopyDone (a crash-like stop, for tests and emergencies). */
  destroy(): void {
    this.stopping = true;
    this.clearTimer();
    this.query.destroy();
  }

  /** Resolves when the START_REPLICATION command is over (after stop(), or a failure). */
  get finished(): Promise<void> {
    return this.query.finished;
  }

  private answerKeepalive(): void {
    this.stats_.keepaliveReplies++;
    this.sendStatus(false);
  }

  private parse(frame: Buffer): ReturnType<typeof parseServerFrame> {
    try {
      return parseServerFrame(frame);
    } catch (error) {
      throw this.fail(error);
    }
  }

  private sendStatus(replyRequested: boolean): void {
    const positions = { written: this.flushed, flushed: this.flushed, applied: this.flushed };
    if (this.query.write(standbyStatusUpdate(positions, dateToPgTime(new Date()), replyRequested))) {
      this.stats_.statusUpdatesSent++;
      this.stats_.lastStatusSentAt = Date.now();
      this.logger.trace(`Standby status update for slot "${this.slotName}": flushed ${formatLsn(this.flushed)}.`);
    }
  }

  private tick(): void {
    if (this.stopping || this.failure !== undefined) return;
    const now = Date.now();
    if (now - this.stats_.lastStatusSentAt >= this.timing.statusIntervalMs) this.sendStatus(false);
    const receiveTimeout = this.timing.receiveTimeoutMs;
    if (receiveTimeout <= 0 || this.waitingSince === undefined) return;
    // Only time spent waiting counts: while the consumer is busy, unread bytes are its own backlog.
    const silentFor = now - Math.max(this.query.lastReceivedAt, this.waitingSince);
    if (silentFor >= receiveTimeout) {
      this.fail(
        new ReplicationError('connection-lost', `The source sent nothing on the replication stream from slot "${this.slotName}" for ${receiveTimeout / 1000} s.`, {
          hint: 'Check the network and the source server; run the command again to resume from the slot.',
        }),
      );
      this.query.destroy();
    } else if (silentFor >= receiveTimeout / 2 && this.pingSentAt < this.query.lastReceivedAt) {
      this.pingSentAt = now;
      this.sendStatus(true);
    }
  }

  private fail(error: unknown): ReplicationError {
    this.failure ??= toReplicationError(error, { what: `streaming from slot "${this.slotName}"`, slotName: this.slotName });
    this.clearTimer();
    return this.failure;
  }

  private startTimer(): void {
    if (this.stopping || this.failure !== undefined) return;
    const { statusIntervalMs, receiveTimeoutMs } = this.timing;
    const tickMs = Math.max(50, Math.min(1_000, statusIntervalMs, receiveTimeoutMs > 0 ? receiveTimeoutMs / 4 : 1_000));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
    this.sendStatus(false);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
