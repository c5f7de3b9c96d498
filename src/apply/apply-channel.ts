// One apply channel: a queue of the events routed to it, in vsn order, and a worker that takes up to
// `batchSize` of them at a time, plans them (batch-plan.ts) and commits the statements together with
// the channel's new last applied vsn (invariant 3). Channels run concurrently, one transaction each at
// a time. The vsn a transaction records is not just its last event's: when the queue is empty it is
// the highest vsn dispatched so far (no event routed here lies in between), so idle channels keep up.

import type { ChangeEvent } from '../core/change-event.js';
import type { Logger } from '../core/logger.js';
import { withSession, type LoaderSessions } from '../engines/loader-sessions.js';
import { CopyArena, copiesOfStep } from './apply-copy.js';
import { stepScript } from './apply-sql.js';
import type { ApplyCounters, EventTally } from './apply-progress.js';
import { runApplyTransaction, type ApplyRetry, type ScriptPart } from './apply-transaction.js';
import { planBatch } from './batch-plan.js';
import { advanceChannelScript, advanceRefusedError, isAdvanceRefused, readChannelRows, type ChannelScope } from './channel-bookkeeping.js';
import { TargetLostCommitsError } from './durable-progress.js';
import type { TargetTable } from './target-tables.js';
import { appendAll } from '../core/append-all.js';

/** What a channel needs from the engine. */
export interface ChannelContext {
  sessions: LoaderSessions;
  scope: ChannelScope;
  batchSize: number;
  maxQueued: number;
  /** Event bytes (eventBytes) a batch takes, and the queue holds, at most (a batch takes one event at least). */
  maxBytes: number;
  logger: Logger;
  retry: ApplyRetry;
  counters: ApplyCounters;
  /** The target description of an event's table (loaded by the engine before dispatch). */
  tableOf(event: ChangeEvent): TargetTable;
  /** Tables applied in order (the routing's affinity tables). */
  ordered(): ReadonlySet<string>;
  /** The highest vsn the engine has dispatched (or skipped) so far. */
  dispatched(): number;
  /** Commit channel transactions asynchronously (durable-progress.ts). */
  asynchronousCommit: boolean;
  /** Called once the channel failed: the engine may be waiting for events and must stop now. */
  failed(): void;
}

/** A channel transaction ready to run: the vsn range it records and its statements. */
interface PreparedTransaction {
  from: number;
  to: number;
  script: string | ScriptPart[];
  tally: EventTally;
}

/** A channel's queue and worker; see the file comment. */
export class ApplyChannel {
  private readonly queue: ChangeEvent[] = [];
  /** eventBytes of each queued event (aligned with `queue`), and their sum. */
  private readonly queuedSizes: number[] = [];
  private queuedBytes = 0;
  /** The COPY bytes of the transaction running and of the one prepared (apply-copy.ts), reused in turn. */
  private readonly copyArenas = [new CopyArena(), new CopyArena()];
  private arenaTurn = 0;
  private running: Promise<void> | undefined;
  private advanceWanted = false;
  private waiters: (() => void)[] = [];
  failure: unknown;

  constructor(
    readonly channel: number,
    /** Every event routed here up to this vsn is committed on the target. */
    public lastApplied: number,
    private readonly context: ChannelContext,
  ) {}

  /** Queues an event (the engine waits for room() first) and starts the worker if it is idle. */
  push(event: ChangeEvent): void {
    const bytes = eventBytes(event);
    this.queue.push(event);
    this.queuedSizes.push(bytes);
    this.queuedBytes += bytes;
    this.kick();
  }

  /** Resolves when the queue has room again: bounds memory whatever the backlog and the size of rows. */
  async room(): Promise<void> {
    while (!this.hasRoom && this.failure === undefined) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** True when room() would resolve at once (ignoring a failure, which the engine checks itself). */
  get hasRoom(): boolean {
    return this.queue.length < this.context.maxQueued && this.queuedBytes < this.context.maxBytes;
  }

  /** Asks for a transaction that only records the dispatched vsn (keeps the watermark of an idle channel moving). */
  requestAdvance(): void {
    if (this.context.dispatched() <= this.lastApplied) return;
    this.advanceWanted = true;
    this.kick();
  }

  /** Resolves when the queue is empty and no transaction runs; rejects with the channel's failure. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
    if (this.failure === undefined && this.queue.length > 0) throw new Error(`apply channel ${this.channel}: idle with ${this.queue.length} queued events`);
    if (this.failure !== undefined) throw this.failure;
  }

  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0;
  }

  private kick(): void {
    if (this.running !== undefined || this.failure !== undefined) return;
    this.running = this.work().finally(() => {
      this.running = undefined;
      this.wake();
      // An event pushed after the worker's last look at the queue (but before this callback) must not wait.
      if (this.queue.length > 0 || this.advanceWanted) this.kick();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Applies the queued events a transaction at a time, planning each next transaction while the one
   * before runs on the target (it is committed only after that one, and assumes it commits: when it
   * does not, the channel fails and the prepared one is dropped). Planning and the target's work then
   * overlap within a channel, as they do across channels.
   */
  private async work(): Promise<void> {
    try {
      let prepared = this.prepare(this.lastApplied);
      while (prepared !== undefined) {
        const running = this.commit(prepared);
        running.catch(() => undefined); // awaited below; not unhandled while the next one is planned
        // Let the transaction's text go to the target before this thread plans the next one.
        await new Promise<void>((resolve) => setImmediate(resolve));
        // Early only with a whole batch queued: a part of one would make more, smaller transactions
        // than taking what came in meanwhile once this one is done (rows collapse less, each commits).
        const next = this.fullBatchQueued ? this.prepare(prepared.to) : undefined;
        await running;
        prepared = next ?? this.prepare(this.lastApplied);
      }
    } catch (error) {
      this.failure = error;
      this.context.failed();
    }
  }

  /**
   * The next transaction after vsn `from`: a batch taken from the queue and its script; undefined when
   * nothing is queued and no advance is wanted (a batch of events all applied already is dropped).
   */
  private prepare(from: number): PreparedTransaction | undefined {
    while (this.queue.length > 0 || this.advanceWanted) {
      this.advanceWanted = false;
      const batch = this.takeBatch();
      this.wake();
      const next = this.queue[0];
      const to = next !== undefined ? next.vsn - 1 : Math.max(this.context.dispatched(), batch.at(-1)?.vsn ?? 0);
      if (to <= from) continue;
      const tally: EventTally = { events: 0, tables: new Map() };
      // Two transactions at most exist at a time (one running, one prepared): their COPY bytes take turns between two arenas.
      const arena = this.copyArenas[this.arenaTurn] as CopyArena;
      this.arenaTurn = 1 - this.arenaTurn;
      const script = this.script(batch, from, to, tally, arena);
      // Once its script and counts exist the events are let go, so they are not kept alive through the
      // round trip (the GC copied every event held, a fifth of the apply's time).
      batch.length = 0;
      return { from, to, script, tally };
    }
    return undefined;
  }

  /** True when the queue holds a whole batch (batchSize events or maxBytes of them). */
  private get fullBatchQueued(): boolean {
    return this.queue.length >= this.context.batchSize || this.queuedBytes >= this.context.maxBytes;
  }

  /** The next batch: up to batchSize events and maxBytes of them, one at least. */
  private takeBatch(): ChangeEvent[] {
    const { batchSize, maxBytes } = this.context;
    let count = 0;
    let bytes = 0;
    while (count < this.queue.length && count < batchSize && (count === 0 || bytes < maxBytes)) {
      bytes += this.queuedSizes[count] as number;
      count++;
    }
    this.queuedBytes -= bytes;
    this.queuedSizes.splice(0, count);
    return this.queue.splice(0, count);
  }

  /** Commits a prepared transaction (after the one before it, which set lastApplied to its `from`). */
  private async commit(prepared: PreparedTransaction): Promise<void> {
    const { sessions, scope, logger, retry } = this.context;
    const { from, to, script, tally } = prepared;
    try {
      await runApplyTransaction(
        sessions,
        {
          label: `channel ${this.channel}, vsn ${from + 1}-${to}`,
          script,
          asynchronousCommit: this.context.asynchronousCommit,
          committed: async (session) => ((await readChannelRows(session, scope)).find((row) => row.channel === this.channel)?.lastAppliedVsn ?? -1) >= to,
        },
        logger,
        retry,
      );
    } catch (error) {
      if (!isAdvanceRefused(error)) throw error;
      const row = await withSession(sessions, async (session) => (await readChannelRows(session, scope)).find((r) => r.channel === this.channel));
      // Behind what this channel committed: only a target that lost asynchronous commits goes back.
      if (this.context.asynchronousCommit && row !== undefined && row.lastAppliedVsn < from) throw new TargetLostCommitsError(this.channel, from, row.lastAppliedVsn);
      throw advanceRefusedError(scope, this.channel, from, row);
    }
    this.lastApplied = to;
    this.context.counters.addCommitted(tally);
  }

  /**
   * The transaction's statements (counting the events into `tally` on the way): the bookkeeping first
   * (it locks the channel row and stops the text if another importer moved it), then the changes; big
   * inserts as COPYs where the sessions allow (apply-copy.ts).
   */
  private script(batch: readonly ChangeEvent[], from: number, to: number, tally: EventTally, arena: CopyArena): string | ScriptPart[] {
    const steps = planBatch(batch, (event) => this.context.tableOf(event), this.context.ordered(), tally);
    const bookkeeping = advanceChannelScript(this.context.scope, this.channel, from, to);
    if (!this.context.sessions.copyInTransactions) return [bookkeeping, ...steps.flatMap(stepScript)].join(';\n');
    const parts: ScriptPart[] = [];
    let texts = [bookkeeping];
    // The transaction that used this arena before is over (the one after it was committed before this was prepared).
    arena.reset();
    for (const step of steps) {
      const copies = copiesOfStep(step, arena);
      if (copies === undefined) {
        appendAll(texts, stepScript(step));
        continue;
      }
      if (texts.length > 0) parts.push(texts.join(';\n'));
      texts = [];
      appendAll(parts, copies);
    }
    if (texts.length > 0) parts.push(texts.join(';\n'));
    return parts.length === 1 && typeof parts[0] === 'string' ? parts[0] : parts;
  }
}

/** About how much memory an event's values take: their characters (what wide rows are made of). */
function eventBytes(event: ChangeEvent): number {
  return valuesLength(event.newValues) + valuesLength(event.oldKey);
}

function valuesLength(values: ChangeEvent['newValues']): number {
  if (values === null) return 0;
  let length = 0;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === 'string') length += value.length;
  }
  return length;
}
