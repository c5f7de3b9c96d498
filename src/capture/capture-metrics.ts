// The export side's figures for the metrics table (total exported events, exported in this run, the
// rate, how recent the last captured commit is) and, per table, the inserts, updates and deletes
// exported for the data-migration report. Only what is durable in the queue counts: figures move
// when a queue commit returns, never for events a crash could still take back.

import type { ChangeOp, TableName } from '../core/change-event.js';

/** Exported changes of one table, durable in the queue, in this run. */
export interface TableChangeCounts {
  table: TableName;
  inserts: number;
  updates: number;
  deletes: number;
}

/** A snapshot of the capture figures, handed to the progress callback after every queue commit. */
export interface CaptureMetrics {
  /** Events durable in the queue over all runs (the stream's last vsn: vsns are 1, 2, 3, ... without gaps). */
  totalEvents: number;
  /** Events made durable by this run. */
  eventsThisRun: number;
  /** Transactions made durable by this run (empty ones included). */
  transactionsThisRun: number;
  /** Transactions the server sent again after a restart and that were skipped because an earlier run wrote them. */
  skippedTransactions: number;
  /** The source's commit time (epoch milliseconds) of the last durable transaction of this run; null before one. */
  lastCommitTimeMs: number | null;
  /** When (epoch milliseconds) the last queue commit of this run returned; null before one. */
  lastDurableAt: number | null;
  /** The last position confirmed to the source in this run (as the server prints it); null before one. */
  acknowledgedLsn: string | null;
  /** Per table, in the order tables were first seen. */
  tables: TableChangeCounts[];
}

interface Counts {
  events: number;
  transactions: number;
  lastCommitTimeMs: number | null;
  /** Keyed by the TableName object in the open transaction (events share it), by its printed name after. */
  tables: Map<unknown, TableChangeCounts>;
}

/** The transactions one queue commit makes durable (opaque outside this module). */
export type CommitPart = object;

function emptyCounts(): Counts {
  return { events: 0, transactions: 0, lastCommitTimeMs: null, tables: new Map() };
}

/**
 * Counts events through their life: in the open transaction, ended and waiting for the queue commit,
 * durable. Exists so that the figures never count what is not durable.
 */
export class CaptureCounters {
  private open = emptyCounts();
  private ended = emptyCounts();
  private readonly durable = emptyCounts();
  private skipped = 0;
  private durableVsn: number;
  private durableAt: number | null = null;
  private acknowledged: string | null = null;

  constructor(private readonly startVsn: number) {
    this.durableVsn = startVsn;
  }

  /** One event appended to the open transaction. */
  event(table: TableName, op: ChangeOp): void {
    this.open.events += 1;
    let counts = this.open.tables.get(table);
    if (counts === undefined) {
      counts = { table, inserts: 0, updates: 0, deletes: 0 };
      this.open.tables.set(table, counts);
    }
    if (op === 'insert') counts.inserts += 1;
    else if (op === 'update') counts.updates += 1;
    else if (op === 'delete') counts.deletes += 1;
  }

  /** The open transaction ended; its events wait for the queue commit. */
  transactionEnded(commitTimeMs: number | null): void {
    this.open.transactions = 1;
    this.open.lastCommitTimeMs = commitTimeMs;
    merge(this.ended, this.open);
    resetOpen(this.open);
  }

  /** The open transaction was dropped (a stop, or already written by an earlier run). */
  transactionDiscarded(): void {
    resetOpen(this.open);
  }

  /** A transaction an earlier run wrote was skipped. */
  transactionSkipped(): void {
    this.skipped += 1;
  }

  /**
   * A queue commit starts: it makes durable what ended so far, which leaves the ended set (later
   * transactions wait for the next commit). Returns that part, for partTables and committedPart.
   */
  startCommit(): CommitPart {
    const part = this.ended;
    this.ended = emptyCounts();
    return part;
  }

  /** The per-table counts of a part: what its commit records in the store. */
  partTables(part: CommitPart): TableChangeCounts[] {
    return [...(part as Counts).tables.values()].map((counts) => ({ ...counts }));
  }

  /** The commit of `part` returned: `lastVsn` is the stream's durable end. */
  committedPart(part: CommitPart, lastVsn: number, now: number): void {
    merge(this.durable, part as Counts);
    this.durableVsn = lastVsn;
    this.durableAt = now;
  }

  /** A position was confirmed to the source. */
  acknowledgedAt(lsn: string): void {
    this.acknowledged = lsn;
  }

  /** The figures now. */
  snapshot(): CaptureMetrics {
    return {
      totalEvents: this.durableVsn,
      eventsThisRun: this.durableVsn - this.startVsn,
      transactionsThisRun: this.durable.transactions,
      skippedTransactions: this.skipped,
      lastCommitTimeMs: this.durable.lastCommitTimeMs,
      lastDurableAt: this.durableAt,
      acknowledgedLsn: this.acknowledged,
      tables: [...this.durable.tables.values()].map((counts) => ({ ...counts })),
    };
  }
}

/**
 * Empties the open transaction's counts for the next one, keeping its per-table objects at zero (a
 * Map and an object per table and transaction were a few percent of the capture's time).
 */
function resetOpen(open: Counts): void {
  open.events = 0;
  open.transactions = 0;
  open.lastCommitTimeMs = null;
  if (open.tables.size > MAX_OPEN_TABLES) open.tables.clear();
  for (const counts of open.tables.values()) {
    counts.inserts = 0;
    counts.updates = 0;
    counts.deletes = 0;
  }
}

/** Past this many tables seen, the open transaction's per-table objects are dropped instead of kept at zero. */
const MAX_OPEN_TABLES = 64;

function merge(into: Counts, from: Counts): void {
  into.events += from.events;
  into.transactions += from.transactions;
  if (from.lastCommitTimeMs !== null) into.lastCommitTimeMs = from.lastCommitTimeMs;
  for (const counts of from.tables.values()) {
    // A table kept at zero from an earlier transaction (resetOpen) adds nothing, and no entry.
    if (counts.inserts === 0 && counts.updates === 0 && counts.deletes === 0) continue;
    const key = printedKey(counts.table);
    const target = into.tables.get(key);
    if (target === undefined) {
      into.tables.set(key, { ...counts });
    } else {
      target.inserts += counts.inserts;
      target.updates += counts.updates;
      target.deletes += counts.deletes;
    }
  }
}

/** The printed name of each TableName object seen (events of a relation share one): stringified once, not per transaction. */
const printedKeys = new WeakMap<TableName, { schema: string; name: string; key: string }>();

function printedKey(table: TableName): string {
  const cached = printedKeys.get(table);
  if (cached !== undefined && cached.schema === table.schema && cached.name === table.name) return cached.key;
  const key = JSON.stringify([table.schema, table.name]);
  printedKeys.set(table, { schema: table.schema, name: table.name, key });
  return key;
}
