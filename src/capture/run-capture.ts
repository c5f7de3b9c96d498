// The capture pipeline: from a started logical replication stream into the durable change queue,
// acknowledging to the source only what the queue made durable (DESIGN.md section 4, invariants 1-3).
//
// The stream is pgoutput protocol version 1, without streaming of in-progress transactions: the
// server decodes a big transaction into its own spill files (past logical_decoding_work_mem) and sends
// it whole at its commit. Memory stays bounded on this side too: the queue writer writes appended
// events to the segment file as its buffer fills, also before the transaction ends, and nothing here
// holds a transaction's events.
//
// The rules, in order of the messages:
// - Begin opens a transaction. After a restart the server resends every transaction from the slot's
//   confirmed position on; a transaction whose commit record starts before the end of the last
//   transaction the queue holds (durablePoint.endLsn) was written by an earlier run and is skipped
//   whole (checked again at its Commit by end LSN, which is what YugabyteDB's opaque LSNs allow).
// - Row changes become events appended to the queue (change-builder.ts); Relation messages are
//   checked against the columns captured so far (relation-guard.ts); a TRUNCATE stops the capture.
// - Commit ends the transaction in the queue with its end LSN. Ended transactions are committed to the
//   queue in groups (group-commit.ts), and only after the queue commit returned is its end LSN
//   confirmed to the server: never a position inside a transaction.
// - A keepalive's position is confirmed only when no transaction is open and everything received is
//   durable (ended transactions are committed first), only up to that keepalive's position, and
//   never below a position this run knows the slot has reached (PostgreSQL 15 lets a lower
//   confirmation move the slot back).
// - A stop (TRUNCATE, DDL, a table without key, a lost connection, the abort signal) discards the open
//   transaction, commits and acknowledges the transactions that ended, and stops the stream.

import type { ChangeInput, TableName } from '../core/change-event.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { formatLsn, parseLsn, type Lsn } from '../core/lsn.js';
import { describeError } from '../core/errors.js';
import { ChangeBuilder, serverTimeToMs, type TransactionContext } from './change-builder.js';
import { CaptureStoppedError, truncateStop, unsupportedStreamStop } from './capture-errors.js';
import { CaptureCounters, type CaptureMetrics, type TableChangeCounts } from './capture-metrics.js';
import type { CaptureStream, StreamDelete, StreamInsert, StreamItem, StreamMessage, StreamRelation, StreamUpdate } from './capture-stream.js';
import { DEFAULT_GROUP_COMMIT, GroupCommit, type GroupCommitOptions } from './group-commit.js';
import type { QueueDurablePoint, QueueWriter } from './queue/segment-writer.js';
import { RelationGuard, type ExpectedColumns } from './relation-guard.js';

/** What capture uses of the queue writer (src/capture/queue/segment-writer.ts). */
export type CaptureQueue = Pick<QueueWriter, 'append' | 'endTransaction' | 'discardTransaction' | 'commit' | 'durablePoint'>;

export interface RunCaptureOptions {
  /** A started stream (pgoutput protocol version 1, text values) that nobody else acknowledges on. */
  stream: CaptureStream;
  /** The writer of the stream's queue, freshly opened: its durable point says what earlier runs wrote. */
  queue: CaptureQueue;
  /**
   * The slot's confirmed position when the stream started (pg_replication_slots.confirmed_flush_lsn,
   * or the consistent point of a new slot). Optional: with it, keepalive positions can be confirmed
   * before the first transaction of the run arrives.
   */
  slotConfirmedLsn?: Lsn;
  /** Aborting ends the capture gracefully: complete transactions are committed and acknowledged, the stream stopped. */
  signal?: AbortSignal;
  groupCommit?: Partial<GroupCommitOptions>;
  /**
   * Records the per-table counts of the transactions a queue commit makes durable; runs inside the
   * store transaction that records the commit, so the counts are exact (the data-migration report).
   */
  recordCounts?: (tables: readonly TableChangeCounts[]) => void;
  /** The columns the export expects per table (those the snapshot read); a Relation message that differs stops the capture. */
  expectedColumns?: ExpectedColumns;
  /** Called after every queue commit with the figures (CaptureMetrics), for the metrics table. */
  onProgress?: (metrics: CaptureMetrics) => void;
  /**
   * The cutover end marker (src/cutover/end-marker.ts): an INSERT into `table` for which `isEnd` holds
   * becomes a `marker` event, and the capture ends ('marker') right after that transaction is committed
   * to the queue and acknowledged; other changes of `table` are not captured.
   */
  endMarker?: { table: TableName; isEnd(change: ChangeInput): boolean };
  /** Test hook: runs after a queue commit returned and before its end LSN is confirmed (crash tests kill the process here). */
  afterQueueCommit?: (point: QueueDurablePoint) => Promise<void> | void;
  logger?: Logger;
}

/** Why runCapture returned normally. */
export type CaptureEnd = 'aborted' | 'stream-ended' | 'marker';

export interface CaptureResult {
  end: CaptureEnd;
  /** What the queue holds durably at the end. */
  durable: QueueDurablePoint;
  /** The last position confirmed to the source by this run. */
  acknowledgedLsn: Lsn | undefined;
  metrics: CaptureMetrics;
}

/**
 * Captures the stream into the queue until the signal aborts or the stream ends; throws
 * CaptureStoppedError (TRUNCATE, DDL, no key), the stream's errors (ReplicationError: reconnect when
 * `resumable`), or the queue's. Whatever the way out, the queue holds whole transactions only and the
 * source was told no more than what the queue made durable; the stream is stopped.
 */
export function runCapture(options: RunCaptureOptions): Promise<CaptureResult> {
  return new CaptureRun(options).run();
}

type Waited = { item: StreamItem | undefined } | 'aborted' | 'commit-due';

/**
 * Messages between two readings of the clock for GroupCommit.due inside a transaction: a reading cost
 * as much as the rest of a message's handling in the loop (a call into C++), and at 100,000 messages a
 * second 64 of them take well under a millisecond.
 */
const DUE_CHECK_MESSAGES = 64;

class CaptureRun {
  private readonly stream: CaptureStream;
  private readonly queue: CaptureQueue;
  private readonly logger: Logger;
  private readonly builder = new ChangeBuilder();
  private readonly guard: RelationGuard;
  private readonly group: GroupCommit;
  private readonly counters: CaptureCounters;
  /** The end LSN of the last transaction an earlier run wrote: transactions up to it are skipped. */
  private readonly writtenUpTo: Lsn | undefined;
  private state: 'idle' | 'open' | 'skipping' = 'idle';
  private tx: TransactionContext | undefined;
  private txEvents = 0;
  /** The slot is known to be at or past this position: nothing lower is ever confirmed. */
  private floor: Lsn | undefined;
  private acknowledged: Lsn | undefined;
  /** The end of WAL of a keepalive that came while ended transactions waited for their commit: acknowledged after it. */
  private keepaliveWaiting: Lsn | undefined;
  private pendingNext: Promise<StreamItem | undefined> | undefined;
  /** Ends the current wait for the stream early (abort, group due). */
  private wake: ((waited: Waited) => void) | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private timerDeadline: number | undefined;
  private commitDue = false;
  /** The queue commit running in the background (startCommit), and the first failure of one. */
  private committing: Promise<void> | undefined;
  private commitFailure: unknown;
  /** The open transaction holds the end marker; once it is ended, the capture ends after committing it. */
  private markerInTransaction = false;
  private endAfterCommit = false;

  constructor(private readonly options: RunCaptureOptions) {
    this.stream = options.stream;
    this.queue = options.queue;
    this.logger = options.logger ?? silentLogger;
    this.guard = new RelationGuard(options.expectedColumns);
    this.group = new GroupCommit({ ...DEFAULT_GROUP_COMMIT, ...options.groupCommit });
    const durable = options.queue.durablePoint;
    this.counters = new CaptureCounters(durable.lastVsn);
    this.writtenUpTo = durable.endLsn === null ? undefined : parseLsn(durable.endLsn);
    this.floor = options.slotConfirmedLsn;
  }

  async run(): Promise<CaptureResult> {
    if (this.writtenUpTo !== undefined) {
      this.logger.info(
        `Capture resumes after ${formatLsn(this.writtenUpTo)} (vsn ${this.queue.durablePoint.lastVsn}): transactions the source sends again up to there are skipped.`,
      );
    }
    this.options.signal?.addEventListener('abort', this.onAbort);
    try {
      let messages = 0;
      for (;;) {
        if (this.commitFailure !== undefined) throw this.commitFailure;
        let item = this.poll();
        if (item === undefined) {
          const waited = await this.nextItem();
          if (waited === 'aborted') return await this.finish('aborted');
          if (waited === 'commit-due') {
            await this.startCommit();
            continue;
          }
          item = waited.item;
          if (item === undefined) return await this.finish('stream-ended');
          messages = DUE_CHECK_MESSAGES; // after a wait, the clock is read at once
        }
        if (item.kind === 'keepalive') await this.keepalive(item.walEnd);
        else this.handle(item.message);
        if (this.endAfterCommit) return await this.finish('marker');
        // A group becomes due at a Commit (its size) or with time: the clock is read at Commits, after
        // a wait, and every DUE_CHECK_MESSAGES messages of a big transaction, not for every message.
        messages += 1;
        if ((item.kind !== 'keepalive' && item.message.tag === 'commit') || messages >= DUE_CHECK_MESSAGES) {
          messages = 0;
          if (this.group.due(Date.now())) await this.startCommit();
        }
      }
    } catch (error) {
      if (error instanceof CaptureStoppedError && this.tx !== undefined) error.atTransaction(this.tx.xid, this.tx.commitLsn);
      await this.abandon(error);
      throw error;
    }
  }

  private handle(message: StreamMessage): void {
    switch (message.tag) {
      case 'begin': {
        if (this.state !== 'idle') throw unsupportedStreamStop('a Begin inside an open transaction');
        const finalLsn = message.finalLsn;
        this.tx = { commitLsn: formatLsn(finalLsn), xid: message.xid, commitTimeMs: message.commitTimeMs ?? serverTimeToMs(message.commitTime) };
        this.txEvents = 0;
        // The commit record of a transaction an earlier run did not write starts at or after the end of the last one it wrote.
        this.state = this.writtenUpTo !== undefined && finalLsn < this.writtenUpTo ? 'skipping' : 'open';
        return;
      }
      case 'commit':
        this.commitMessage(message.endLsn);
        return;
      case 'relation': {
        const stop = this.guard.check(message.relation);
        if (stop !== undefined) throw stop;
        return;
      }
      case 'insert':
      case 'update':
      case 'delete': {
        if (this.isMarkerTable(message.relation)) return this.markerChange(message);
        if (this.state === 'skipping') return;
        if (this.state !== 'open' || this.tx === undefined) throw unsupportedStreamStop(`a row change outside a transaction`);
        // The stream's bytes go to the queue as they are when it located them (no string per value).
        const change = this.builder.row(message, this.tx) ?? this.builder.build(message, this.tx);
        this.queue.append(change);
        this.counters.event(change.table, change.op);
        this.txEvents += 1;
        return;
      }
      case 'truncate':
        throw truncateStop(message.relations.map((relation): TableName => ({ schema: relation.namespace, name: relation.name })));
      case 'stream-start':
      case 'stream-stop':
      case 'stream-commit':
      case 'stream-abort':
        throw unsupportedStreamStop('a streamed in-progress transaction (protocol version 2 streaming)');
      case 'origin':
      case 'type':
      case 'message':
        // Origins matter to echo suppression (chosen when the stream starts), type descriptions to
        // nobody here (values arrive as text), logical decoding messages are not row changes.
        return;
    }
  }

  /** A change of the marker table: the end marker becomes a `marker` event (see endMarker), anything else is dropped. */
  private markerChange(message: StreamInsert | StreamUpdate | StreamDelete): void {
    if (message.tag !== 'insert' || this.state === 'idle' || this.tx === undefined) return;
    const change = this.builder.build(message, this.tx);
    if (this.options.endMarker?.isEnd(change) !== true) return;
    this.markerInTransaction = true;
    // Written by an earlier run (skipped transaction): the capture still ends at it, writing nothing.
    if (this.state !== 'open') return;
    this.queue.append({ ...change, op: 'marker' });
    this.txEvents += 1;
  }

  private isMarkerTable(relation: StreamRelation): boolean {
    const table = this.options.endMarker?.table;
    return table !== undefined && relation.name === table.name && relation.namespace === table.schema;
  }

  private commitMessage(endLsn: Lsn): void {
    if (this.state === 'idle') throw unsupportedStreamStop('a Commit without its Begin');
    if (this.markerInTransaction) {
      this.markerInTransaction = false;
      this.endAfterCommit = true;
    }
    const skipping = this.state === 'skipping' || (this.writtenUpTo !== undefined && endLsn <= this.writtenUpTo);
    this.floor = this.floor === undefined || endLsn > this.floor ? endLsn : this.floor;
    if (skipping) {
      if (this.state === 'open') this.queue.discardTransaction();
      this.counters.transactionDiscarded();
      this.counters.transactionSkipped();
      this.state = 'idle';
      this.tx = undefined;
      // Written and durable in an earlier run, and sent by the server, so at or past the slot's position.
      if (!this.group.pending && this.committing === undefined) this.acknowledge(endLsn);
      return;
    }
    this.queue.endTransaction(formatLsn(endLsn));
    this.counters.transactionEnded(this.tx?.commitTimeMs ?? null);
    this.group.ended(this.txEvents, Date.now());
    this.state = 'idle';
    this.tx = undefined;
  }

  private async keepalive(walEnd: Lsn): Promise<void> {
    if (this.state !== 'idle') return;
    if (this.group.pending) {
      // A walsender that caught up sends a keepalive after every transaction while the confirmed
      // position lags: committing here made one queue commit (two fsyncs) per source transaction
      // (about 400 a second under a live pgbench) instead of one per group. The position goes with
      // the group's commit, due within its maxDelayMs (commitAndAcknowledge), or at once when the
      // group is big (the end of a backlog: GroupCommit.dueWhenCaughtUp).
      if (this.keepaliveWaiting === undefined || walEnd > this.keepaliveWaiting) this.keepaliveWaiting = walEnd;
      if (this.group.dueWhenCaughtUp(Date.now())) await this.startCommit();
      return;
    }
    await this.settleCommit();
    // Everything the server sent before this keepalive was received, and is durable or not ours.
    this.acknowledgeKeepalive(walEnd);
  }

  private acknowledgeKeepalive(walEnd: Lsn): void {
    if (this.floor !== undefined && walEnd >= this.floor) this.acknowledge(walEnd);
  }

  /**
   * Starts committing the ended transactions and returns without waiting for the commit's fsyncs, so
   * the stream is read meanwhile (one commit at a time: a commit still running is waited for first).
   * Its end is confirmed to the source only once it returned (commitAndAcknowledge).
   */
  private async startCommit(): Promise<void> {
    await this.settleCommit();
    if (!this.group.pending) {
      this.clearCommitTimer();
      return;
    }
    const running = this.commitAndAcknowledge().catch((error: unknown) => {
      this.commitFailure ??= error;
      this.wake?.('commit-due'); // a loop waiting for the stream notices the failure now
    });
    this.committing = running.finally(() => {
      this.committing = undefined;
    });
  }

  /** Waits for the commit running in the background, if any; throws its failure. */
  private async settleCommit(): Promise<void> {
    if (this.committing !== undefined) await this.committing;
    if (this.commitFailure !== undefined) throw this.commitFailure;
  }

  /**
   * Commits the ended transactions to the queue; only then confirms their end to the source
   * (invariant 2). What the commit covers (events, per-table counts, the group) is taken before its
   * first await, so transactions ending meanwhile go with the next commit.
   */
  private async commitAndAcknowledge(): Promise<void> {
    // Every transaction received before this keepalive has ended and is in this commit (or an earlier one, settled before this started).
    const keepalive = this.keepaliveWaiting;
    this.keepaliveWaiting = undefined;
    const part = this.counters.startCommit();
    const ended = this.counters.partTables(part);
    const record = this.options.recordCounts;
    const committing = this.queue.commit(record === undefined || ended.length === 0 ? undefined : () => record(ended));
    this.group.committed(Date.now());
    this.clearCommitTimer();
    const point = await committing;
    this.counters.committedPart(part, point.lastVsn, Date.now());
    this.options.onProgress?.(this.counters.snapshot());
    await this.options.afterQueueCommit?.(point);
    if (point.endLsn !== null) this.acknowledge(parseLsn(point.endLsn));
    if (keepalive !== undefined) this.acknowledgeKeepalive(keepalive);
  }

  private acknowledge(lsn: Lsn): void {
    if (this.acknowledged !== undefined && lsn <= this.acknowledged) return;
    this.acknowledged = lsn;
    this.stream.confirmFlushed(lsn);
    this.counters.acknowledgedAt(formatLsn(lsn));
  }

  /**
   * A stream item that is already there, taken without promises (most are, under load); undefined
   * when none is, or when the slow path must run (a wait in progress, an abort, a group due).
   */
  private poll(): StreamItem | undefined {
    if (this.pendingNext !== undefined || this.commitDue || this.options.signal?.aborted === true) return undefined;
    return this.stream.poll?.();
  }

  /**
   * The next stream item, or the moment a waiting group is due, or the abort. The abort listener is
   * registered once per run and the timer once per group, not per message: at a hundred thousand
   * messages a second, per-message timers and listeners cost a quarter of the pipeline's time.
   */
  private async nextItem(): Promise<Waited> {
    if (this.options.signal?.aborted === true) return 'aborted';
    if (this.commitDue) return 'commit-due';
    this.armCommitTimer();
    const pending = (this.pendingNext ??= this.stream.next());
    const waited = await new Promise<Waited>((resolve, reject) => {
      this.wake = resolve;
      pending.then((item) => resolve({ item }), reject);
    });
    this.wake = undefined;
    if (typeof waited !== 'string') this.pendingNext = undefined;
    return waited;
  }

  private readonly onAbort = (): void => this.wake?.('aborted');

  /** Keeps one timer for the waiting group's deadline; when it fires, the wait for the stream is cut short. */
  private armCommitTimer(): void {
    const deadline = this.group.deadline;
    if (deadline === this.timerDeadline) return;
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.timerDeadline = deadline;
    if (deadline === undefined) return;
    this.commitTimer = setTimeout(() => {
      this.commitTimer = undefined;
      this.commitDue = true;
      this.wake?.('commit-due');
    }, Math.max(0, deadline - Date.now()));
  }

  private clearCommitTimer(): void {
    clearTimeout(this.commitTimer);
    this.commitTimer = undefined;
    this.timerDeadline = undefined;
    this.commitDue = false;
  }

  /** A graceful end: drop the open transaction, make the ended ones durable and acknowledged, stop the stream. */
  private async finish(end: CaptureEnd): Promise<CaptureResult> {
    this.dropOpenTransaction();
    await this.settleCommit();
    if (this.group.pending) await this.commitAndAcknowledge();
    await this.stopStream();
    this.logger.info(`Capture ${end === 'aborted' ? 'stopped' : end === 'marker' ? 'reached the end marker' : 'ended with the stream'}; the queue holds vsn 1 to ${this.queue.durablePoint.lastVsn}.`);
    return { end, durable: this.queue.durablePoint, acknowledgedLsn: this.acknowledged, metrics: this.counters.snapshot() };
  }

  /** The way out on an error: the same as finish, as far as it still works; the caller rethrows the error. */
  private async abandon(error: unknown): Promise<void> {
    this.logger.info(`Capture stops: ${describeError(error)}`);
    try {
      this.dropOpenTransaction();
      await this.settleCommit();
      if (this.group.pending) await this.commitAndAcknowledge();
    } catch (cleanup) {
      this.logger.warn(`Could not commit the complete transactions while stopping: ${describeError(cleanup)}`);
    }
    await this.stopStream();
  }

  private dropOpenTransaction(): void {
    this.markerInTransaction = false;
    if (this.state === 'open') this.queue.discardTransaction();
    if (this.state !== 'idle') this.counters.transactionDiscarded();
    this.state = 'idle';
    this.tx = undefined;
  }

  private async stopStream(): Promise<void> {
    this.options.signal?.removeEventListener('abort', this.onAbort);
    this.clearCommitTimer();
    const pending = this.pendingNext;
    this.pendingNext = undefined;
    pending?.catch(() => undefined);
    await this.stream.stop();
  }
}
