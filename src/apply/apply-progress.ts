// What the apply reports while it runs: per table the INSERT, UPDATE and DELETE events applied, all
// events applied in this run and their rate, and the vsn up to which every channel has applied the
// stream (what the importer records with recordQueueApplied so `archive changes` can free segments).

import type { ChangeEvent, TableName } from '../core/change-event.js';
import { tableKey } from './target-tables.js';

/** Per-table counts of applied change events (before collapsing: what the origin did). */
export interface TableApplyCounts {
  schema: string;
  name: string;
  inserts: number;
  updates: number;
  deletes: number;
  truncates: number;
}

/** A snapshot of the apply's progress. */
export interface ApplyProgress {
  tables: TableApplyCounts[];
  /** Events applied by this run (skipped, already applied events not counted). */
  eventsApplied: number;
  /** Transactions committed on the target by this run. */
  transactions: number;
  /** Every event with a vsn up to this one is applied and committed on the target (for recordQueueApplied). */
  appliedThroughVsn: number;
  /** The highest vsn read from the queue so far. */
  readThroughVsn: number;
  elapsedMs: number;
  /** eventsApplied per second of elapsed time. */
  eventsPerSecond: number;
}

/** Counts applied events; the engine owns one per run. */
export class ApplyCounters {
  private readonly tables = new Map<string, TableApplyCounts>();
  private readonly startedAt = Date.now();
  eventsApplied = 0;
  transactions = 0;

  /** Counts the events of a committed transaction. */
  countCommitted(events: readonly ChangeEvent[]): void {
    this.addCommitted(tallyEvents(events));
  }

  /** Counts a committed transaction whose events were tallied before it ran (tallyEvents). */
  addCommitted(tally: EventTally): void {
    this.transactions += 1;
    this.eventsApplied += tally.events;
    for (const [key, add] of tally.tables) {
      const counts = this.tables.get(key);
      if (counts === undefined) {
        this.tables.set(key, { ...add });
        continue;
      }
      counts.inserts += add.inserts;
      counts.updates += add.updates;
      counts.deletes += add.deletes;
      counts.truncates += add.truncates;
    }
  }

  /** The progress now, with the watermarks the engine knows. */
  snapshot(appliedThroughVsn: number, readThroughVsn: number): ApplyProgress {
    const elapsedMs = Date.now() - this.startedAt;
    return {
      tables: [...this.tables.values()].map((counts) => ({ ...counts })),
      eventsApplied: this.eventsApplied,
      transactions: this.transactions,
      appliedThroughVsn,
      readThroughVsn,
      elapsedMs,
      eventsPerSecond: elapsedMs > 0 ? (this.eventsApplied * 1000) / elapsedMs : 0,
    };
  }
}

/** What a batch's events count for, taken before its transaction runs so the events need not be kept for it. */
export interface EventTally {
  events: number;
  tables: Map<string, TableApplyCounts>;
}

/** Per-table counts of `events` (markers left out). */
export function tallyEvents(events: readonly ChangeEvent[]): EventTally {
  const tables = new Map<string, TableApplyCounts>();
  // Events of one table share their TableName object: found by it, the table key is made once per object.
  const byObject = new Map<TableName, TableApplyCounts>();
  let count = 0;
  for (const event of events) {
    if (event.op === 'marker') continue;
    count += 1;
    let counts = byObject.get(event.table);
    if (counts === undefined) {
      const key = tableKey(event.table);
      counts = tables.get(key);
      if (counts === undefined) {
        counts = { schema: event.table.schema, name: event.table.name, inserts: 0, updates: 0, deletes: 0, truncates: 0 };
        tables.set(key, counts);
      }
      byObject.set(event.table, counts);
    }
    if (event.op === 'insert') counts.inserts += 1;
    else if (event.op === 'update') counts.updates += 1;
    else if (event.op === 'delete') counts.deletes += 1;
    else counts.truncates += 1;
  }
  return { events: count, tables };
}
