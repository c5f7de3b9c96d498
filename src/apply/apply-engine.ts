// The apply engine: queue -> channels -> batched, idempotent transactions on the target.
//
// Start: read the channels' rows (channel-bookkeeping.ts). Everything up to the lowest last applied vsn
// is applied; events between the lowest and the highest may be applied by some channels only, so they
// are replayed with the routing stored in the rows (each channel skips what it already applied). Read
// the queue from the lowest + 1. Then each event is routed (routing.ts): to a channel's queue, or as a
// barrier (key change, TRUNCATE, marker) applied alone once every channel is drained. A routing change
// (another channel count, a table that needs in-order apply) waits until the replay is over and is done
// the same way: drain, then one transaction that rebases every channel row to the same vsn.

import type { ChangeEvent, QueueStream, TableName } from '../core/change-event.js';
import { describeError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { ensureBookkeepingSchema } from '../engines/bookkeeping-schema.js';
import { withSession, type LoaderSessions } from '../engines/loader-sessions.js';
import { ApplyChannel, type ChannelContext } from './apply-channel.js';
import { ApplyCounters, type ApplyProgress } from './apply-progress.js';
import { stepStatements } from './apply-sql.js';
import { DEFAULT_APPLY_RETRY, runApplyTransaction, type ApplyRetry } from './apply-transaction.js';
import { planBatch } from './batch-plan.js';
import { readChannelRows, rebaseChannels, type ChannelScope } from './channel-bookkeeping.js';
import { canCommitAsynchronously, durableChannelRows, TargetLostCommitsError } from './durable-progress.js';
import { parseRouting, routeChannel, routeEvent, routingText, sameRouting, type RoutingConfig } from './routing.js';
import { tableHashStart } from './row-identity.js';
import { hasOtherUniqueIndexes, tableKey, TargetTables, type TargetTable } from './target-tables.js';

/** Where the engine reads events: a QueueReader satisfies it. */
export interface ChangeSource {
  /** Up to `max` events committed by now, in vsn order; empty when there is nothing new. */
  read(max: number): Promise<ChangeEvent[]>;
  /** Like read, but waits for at least one event unless `signal` aborts (then empty). */
  next(max: number, signal?: AbortSignal): Promise<ChangeEvent[]>;
  close(): void;
}

export interface ApplyChangesOptions {
  /** Target sessions with session_replication_role = replica; at least `channels` + 1 of them. */
  sessions: LoaderSessions;
  /** Opens the queue at `fromVsn` (the engine knows where to start only after reading its bookkeeping). */
  openSource(fromVsn: number): ChangeSource;
  migrationId: string;
  stream: QueueStream;
  /** Parallel channels (default 4). */
  channels?: number;
  /** Events per channel transaction at most (default DEFAULT_APPLY_BATCH_SIZE). */
  batchSize?: number;
  /** Event bytes per channel transaction and channel queue at most (DEFAULT_APPLY_BATCH_BYTES). */
  batchBytes?: number;
  signal?: AbortSignal;
  /** Return once every event up to this vsn is applied. */
  stopAtVsn?: number;
  /** Return once the source has nothing new and everything read is applied. */
  stopWhenCaughtUp?: boolean;
  /** Called after a marker (cutover sentinel) is recorded: every event before it is applied. */
  onMarker?(event: ChangeEvent): void | Promise<void>;
  /** Called every progressIntervalMs and at the end; its appliedThroughVsn is durable on the target. */
  onProgress?(progress: ApplyProgress): void;
  progressIntervalMs?: number;
  /** Commit channel transactions asynchronously where the target can run the durability barrier (default true; durable-progress.ts). */
  asynchronousCommit?: boolean;
  logger?: Logger;
  retry?: ApplyRetry;
  /**
   * Tables the stream is expected to bring (the migration's tables): described on the target while
   * the engine waits for its first events, instead of when the first event of each arrives.
   */
  expectedTables?: readonly TableName[];
}

/**
 * Events per channel transaction. Larger batches collapse more changes of the same rows into one
 * (pgbench's 10 branches and 100 tellers are updated by every transaction) and run fewer statements,
 * but every event held is copied by the young-generation GC: in a pgbench catch-up of 272,000 events
 * (tmp lab, race of exporter and importer), 2,000 took 1.13-1.25 s of target CPU, 4,000 1.03-1.08 s
 * with the same importer CPU, 16,000 0.98-1.01 s with 0.3 s more importer CPU.
 */
const DEFAULT_APPLY_BATCH_SIZE = 4000;

/**
 * Event bytes per channel transaction, and per channel queue, at most. Events of wide rows held by
 * the queues outlived each young-generation GC and were copied by it, twice: with 4,000 events of
 * 1.5 kB queued per channel the GC took a third of the importer's time (100,000 such rows, tmp lab).
 * Small rows (pgbench's: 4,000 events are 0.3-0.6 MB) reach the event count first.
 */
const DEFAULT_APPLY_BATCH_BYTES = 1024 * 1024;

/**
 * Events read from the queue at a time. Small on purpose, like the channels' queues (one batch each):
 * every event held while others are applied is copied by each young-generation GC, and with 5,000 read
 * at a time and four batches queued per channel the GC took a quarter of the importer's time.
 */
const READ_MAX = 1000;

/**
 * Applies the stream to the target until `signal` aborts or a stop condition holds, exactly once
 * whatever was killed before; returns the final progress. `import data to target` runs it after the
 * snapshot; `import data to source` will run it on the reverse stream.
 */
export async function applyChanges(options: ApplyChangesOptions): Promise<ApplyProgress> {
  for (let restart = 1; ; restart++) {
    try {
      return await new ApplyEngine(options).run();
    } catch (error) {
      // The target restarted and lost its last asynchronous commits (data and bookkeeping together): go on from what it holds.
      if (!(error instanceof TargetLostCommitsError) || restart > MAX_RESTARTS_AFTER_LOST_COMMITS) throw error;
      (options.logger ?? silentLogger).warn(`${error.message} The apply starts again from the target's bookkeeping.`);
    }
  }
}

/** Restarts of the apply after the target lost asynchronous commits (each needs a crash of the target). */
const MAX_RESTARTS_AFTER_LOST_COMMITS = 10;

/** What dispatch needs to know about the events of one TableName object (knownTable). */
interface KnownTable {
  key: string;
  schema: string;
  name: string;
  keyColumns: readonly string[];
  /** hasOtherUniqueIndexes: the table must be applied in order (routed by table). */
  otherUnique: boolean;
  /** tableHashStart of the table, for routeChannel. */
  hash: number;
}

class ApplyEngine {
  private readonly scope: ChannelScope;
  private readonly logger: Logger;
  private readonly counters = new ApplyCounters();
  private readonly tables: TargetTables;
  private readonly loaded = new Map<string, TargetTable>();
  /** knownTable's answers by TableName object. */
  private readonly known = new WeakMap<TableName, KnownTable>();
  private readonly batchSize: number;
  private readonly batchBytes: number;
  private readonly wantedChannels: number;
  private routing: RoutingConfig = { channels: 1, affinity: new Set() };
  private channels: ApplyChannel[] = [];
  /** Highest vsn dispatched to a channel, applied as a barrier, or skipped. */
  private dispatched = 0;
  /** Up to here events are replayed with the stored routing. */
  private replayThrough = 0;
  private readThrough = 0;
  /** Channel transactions commit asynchronously; progress goes through the durability barrier. */
  private asynchronous = false;
  private reporting: Promise<void> | undefined;
  private readonly channelFailed = new AbortController();

  constructor(private readonly options: ApplyChangesOptions) {
    this.scope = { migrationId: options.migrationId, stream: options.stream };
    this.logger = options.logger ?? silentLogger;
    this.tables = new TargetTables(options.sessions);
    this.batchSize = options.batchSize ?? DEFAULT_APPLY_BATCH_SIZE;
    this.batchBytes = options.batchBytes ?? DEFAULT_APPLY_BATCH_BYTES;
    this.wantedChannels = options.channels ?? 4;
  }

  async run(): Promise<ApplyProgress> {
    const { options } = this;
    const start = await this.start();
    const source = options.openSource(start + 1);
    const warming = this.warmSessions();
    this.describeExpectedTables();
    const timer =
      options.onProgress === undefined
        ? undefined
        : setInterval(() => {
            this.report().catch((error: unknown) => this.logger.warn(`could not read the durable apply progress from the target: ${describeError(error)}`));
          }, options.progressIntervalMs ?? 1000);
    try {
      for (;;) {
        if (options.stopAtVsn !== undefined && this.dispatched >= options.stopAtVsn) break;
        if (options.signal?.aborted === true) break;
        let events = await source.read(READ_MAX);
        this.checkChannels();
        if (events.length === 0) {
          if (options.stopWhenCaughtUp === true) break;
          // Caught up for now: let idle channels record how far the stream is applied, then wait.
          for (const channel of this.channels) if (!channel.busy) channel.requestAdvance();
          // Waits for events, for the signal, or for a channel's failure (which would go unnoticed while the stream is idle).
          events = await source.next(READ_MAX, options.signal === undefined ? this.channelFailed.signal : AbortSignal.any([options.signal, this.channelFailed.signal]));
          this.checkChannels();
          if (events.length === 0) break;
        }
        this.readThrough = events.at(-1)?.vsn ?? this.readThrough;
        // An index, not for-of: this async function is seldom optimized, and each step of an array iterator allocates then.
        for (let i = 0; i < events.length; i++) {
          const event = events[i] as ChangeEvent;
          if (options.stopAtVsn !== undefined && event.vsn > options.stopAtVsn) break;
          const pending = this.dispatch(event);
          if (pending !== undefined) await pending;
        }
        // A channel no event reaches would hold the watermark back: let it record the dispatched vsn now and then.
        for (const channel of this.channels) {
          if (!channel.busy && this.dispatched - channel.lastApplied > this.batchSize * 20) channel.requestAdvance();
        }
      }
      await this.drain();
      if (this.appliedThrough() < this.dispatched) await this.rebase(this.dispatched, this.routing);
      // The last report is this one: no tick may hand on an older progress after it.
      if (timer !== undefined) clearInterval(timer);
      await this.reporting?.catch(() => undefined);
      return await this.durableProgress();
    } finally {
      if (timer !== undefined) clearInterval(timer);
      source.close();
      // A failed run leaves channel workers to finish their transaction; their outcome is in the bookkeeping.
      await Promise.allSettled([...this.channels.map((channel) => channel.idle()), warming]);
    }
  }

  /**
   * Reads the expected tables' descriptions in the background (a restarted importer otherwise reads
   * them, two queries a table, once the first events wait: on the catch-up's critical path). A table
   * that fails here is read again, and its failure reported, when its first event comes.
   */
  private describeExpectedTables(): void {
    for (const table of this.options.expectedTables ?? []) this.tables.get(table).catch(() => undefined);
  }

  /**
   * Opens the channels' sessions while the first events are read or awaited: a session's login (SCRAM)
   * and preparation cost round trips that the first channel transactions paid otherwise, at the start
   * of every catch-up. Failures are left to the transactions that will meet them.
   */
  private async warmSessions(): Promise<void> {
    const count = Math.min(this.routing.channels, this.options.sessions.size);
    await Promise.allSettled(Array.from({ length: count }, () => withSession(this.options.sessions, async () => undefined)));
  }

  /** Reads (or creates) the channel rows and sets up the channels; returns the vsn every channel has applied. */
  private async start(): Promise<number> {
    const rows = await withSession(this.options.sessions, async (session) => {
      await ensureBookkeepingSchema(session);
      if (this.options.asynchronousCommit !== false) this.asynchronous = await canCommitAsynchronously(session, this.scope);
      return readChannelRows(session, this.scope);
    });
    this.logger.debug(this.asynchronous ? 'apply: channel transactions commit asynchronously; progress is recorded through a durability barrier' : 'apply: channel transactions commit synchronously');
    if (rows.length === 0) {
      this.routing = { channels: this.wantedChannels, affinity: new Set() };
      await this.rebase(0, this.routing);
      return 0;
    }
    const stored = parseRouting(rows[0]?.routing ?? null) ?? { channels: rows.length, affinity: new Set<string>() };
    this.routing = stored;
    const lowest = Math.min(...rows.map((row) => row.lastAppliedVsn));
    this.replayThrough = Math.max(...rows.map((row) => row.lastAppliedVsn));
    this.dispatched = lowest;
    this.channels = Array.from({ length: stored.channels }, (_, i) => new ApplyChannel(i, rows.find((row) => row.channel === i)?.lastAppliedVsn ?? lowest, this.channelContext()));
    if (this.replayThrough > lowest) this.logger.info(`apply: replaying vsn ${lowest + 1}-${this.replayThrough} that some channels had applied before the restart`);
    return lowest;
  }

  private channelContext(): ChannelContext {
    return {
      sessions: this.options.sessions,
      scope: this.scope,
      batchSize: this.batchSize,
      maxQueued: this.batchSize,
      maxBytes: this.batchBytes,
      logger: this.logger,
      retry: this.options.retry ?? DEFAULT_APPLY_RETRY,
      counters: this.counters,
      tableOf: (event) => this.loaded.get(tableKey(event.table)) as TargetTable,
      ordered: () => this.routing.affinity,
      dispatched: () => this.dispatched,
      asynchronousCommit: this.asynchronous,
      failed: () => this.channelFailed.abort(),
    };
  }

  /**
   * The common case without a promise per event: a change of a known table, past the replay, that
   * keeps the routing, goes to a channel with room. Anything else (or any doubt) takes dispatchSlow,
   * which does the same checks again and may wait; nothing is changed before handing over.
   */
  private dispatch(event: ChangeEvent): Promise<void> | undefined {
    if (event.vsn <= this.dispatched) return undefined;
    if (event.op === 'marker' || event.op === 'truncate' || event.vsn <= this.replayThrough || this.routing.channels !== this.wantedChannels) return this.dispatchSlow(event);
    const known = this.knownTable(event);
    if (known === undefined) return this.dispatchSlow(event);
    const { key } = known;
    // adjustRouting would add the table to the affinity tables (drain + rebase).
    if (known.otherUnique && !this.routing.affinity.has(key)) return this.dispatchSlow(event);
    const route = routeChannel(event, this.routing, key, known.hash);
    if (route < 0) return this.dispatchSlow(event);
    const channel = this.channels[route] as ApplyChannel;
    if (event.vsn > channel.lastApplied) {
      if (!channel.hasRoom) return this.dispatchSlow(event);
      this.checkChannels();
      channel.push(event);
    }
    this.dispatched = event.vsn;
    return undefined;
  }

  /**
   * The loaded table of a change, with its key and whether it has other unique indexes, kept per
   * TableName object (events of one table share it); undefined while the table is not loaded.
   */
  private knownTable(event: ChangeEvent): KnownTable | undefined {
    const { table: name, keyColumns } = event;
    const known = this.known.get(name);
    if (known !== undefined && known.keyColumns === keyColumns && known.schema === name.schema && known.name === name.name) return known;
    const key = tableKey(name);
    const table = this.loaded.get(key);
    if (table === undefined) return undefined;
    const found = { key, schema: name.schema, name: name.name, keyColumns, otherUnique: hasOtherUniqueIndexes(table, keyColumns), hash: tableHashStart(name) };
    this.known.set(name, found);
    return found;
  }

  private async dispatchSlow(event: ChangeEvent): Promise<void> {
    if (event.vsn <= this.dispatched) return;
    if (event.op !== 'marker') await this.tableFor(event);
    if (event.vsn > this.replayThrough) await this.adjustRouting(event);
    const route = routeEvent(event, this.routing);
    if (route.kind === 'barrier') {
      await this.drain();
      await this.applyBarrier(event);
      this.dispatched = event.vsn;
      if (event.op === 'marker') await this.options.onMarker?.(event);
      return;
    }
    const channel = this.channels[route.channel] as ApplyChannel;
    if (event.vsn > channel.lastApplied) {
      await channel.room();
      this.checkChannels();
      channel.push(event);
    }
    this.dispatched = event.vsn;
  }

  private async tableFor(event: ChangeEvent): Promise<TargetTable> {
    const key = tableKey(event.table);
    let table = this.loaded.get(key);
    if (table === undefined) {
      table = await this.tables.get(event.table);
      this.loaded.set(key, table);
    }
    return table;
  }

  /** Past the replay: switch to the wanted channel count and route in-order tables by table (drain + rebase). */
  private async adjustRouting(event: ChangeEvent): Promise<void> {
    let affinity = this.routing.affinity;
    if (event.op !== 'marker' && event.op !== 'truncate') {
      const key = tableKey(event.table);
      if (!affinity.has(key) && hasOtherUniqueIndexes(this.loaded.get(key) as TargetTable, event.keyColumns)) affinity = new Set([...affinity, key]);
    }
    const wanted: RoutingConfig = { channels: this.wantedChannels, affinity };
    if (sameRouting(wanted, this.routing)) return;
    await this.drain();
    await this.rebase(this.dispatched, wanted);
  }

  /** Waits until every channel has committed everything queued; rethrows a channel's failure. */
  private async drain(): Promise<void> {
    await Promise.all(this.channels.map((channel) => channel.idle()));
  }

  private checkChannels(): void {
    for (const channel of this.channels) if (channel.failure !== undefined) throw channel.failure;
  }

  private async applyBarrier(event: ChangeEvent): Promise<void> {
    const table = event.op === 'marker' ? undefined : this.loaded.get(tableKey(event.table));
    const steps = table === undefined ? [] : planBatch([event], () => table, new Set([tableKey(event.table)]));
    await this.rebase(event.vsn, this.routing, steps.flatMap(stepStatements), `barrier ${event.op} vsn ${event.vsn}`);
    this.counters.countCommitted([event]);
  }

  /** One transaction: optional statements, then every channel row set to `vsn` with `routing`; channels rebuilt. */
  private async rebase(vsn: number, routing: RoutingConfig, statements: { text: string; values: unknown[] }[] = [], label = `rebase to vsn ${vsn}`): Promise<void> {
    const text = routingText(routing);
    await runApplyTransaction(
      this.options.sessions,
      {
        label,
        body: async (session) => {
          await rebaseChannels(session, this.scope, routing.channels, vsn, text);
          for (const statement of statements) await session.query(statement.text, statement.values);
        },
        committed: async (session) => {
          const rows = await readChannelRows(session, this.scope);
          return rows.length === routing.channels && rows.every((row) => row.lastAppliedVsn >= vsn && row.routing === text);
        },
      },
      this.logger,
      this.options.retry ?? DEFAULT_APPLY_RETRY,
    );
    this.routing = routing;
    if (this.channels.length !== routing.channels) {
      this.channels = Array.from({ length: routing.channels }, (_, i) => new ApplyChannel(i, vsn, this.channelContext()));
    } else {
      for (const channel of this.channels) channel.lastApplied = vsn;
    }
  }

  private appliedThrough(): number {
    return Math.min(...this.channels.map((channel) => channel.lastApplied));
  }

  private progress(): ApplyProgress {
    return this.counters.snapshot(this.appliedThrough(), this.readThrough);
  }

  /** Hands the progress on (one report at a time). */
  private report(): Promise<void> {
    if (this.options.onProgress === undefined) return Promise.resolve();
    this.reporting ??= this.durableProgress().then(
      () => {
        this.reporting = undefined;
      },
      (error: unknown) => {
        this.reporting = undefined;
        throw error;
      },
    );
    return this.reporting;
  }

  /**
   * The progress with an applied vsn the target cannot lose: with asynchronous commits, the lowest
   * channel row the durability barrier read (durable-progress.ts). Reported to onProgress.
   */
  private async durableProgress(): Promise<ApplyProgress> {
    let progress = this.progress();
    if (this.asynchronous) {
      const rows = await withSession(this.options.sessions, (session) => durableChannelRows(session, this.scope));
      const durable = rows.length === 0 ? 0 : Math.min(...rows.map((row) => row.lastAppliedVsn));
      progress = { ...progress, appliedThroughVsn: Math.min(durable, progress.appliedThroughVsn) };
    }
    this.options.onProgress?.(progress);
    return progress;
  }
}
