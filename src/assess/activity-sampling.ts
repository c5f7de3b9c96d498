// Read and write rates of the source, as `assess-migration --iops-capture-interval` samples them:
// the statistics collector's cumulative counters read at the start and at the end of the interval,
// and the difference divided by the seconds between the two reads. The sampling waits, it never
// loads the source; it can be cut short (Ctrl-C), and then reports what it has.

import { displayIdent } from '../core/identifiers.js';
import type { ActivitySample, DatabaseActivityCounters, TableActivity, TableActivityCounters } from './assessment-types.js';

/** The key of a table in the activity map: `schema.name`, each part quoted only where SQL would need it. */
export function activityKey(schema: string, name: string): string {
  return `${displayIdent(schema)}.${displayIdent(name)}`;
}

/** One reading of every counter, with the time it was taken. */
export interface CounterReading {
  at: number;
  tables: Map<string, TableActivityCounters>;
  database: DatabaseActivityCounters;
}

/** The sample of an interval of 0 seconds: not sampled, no rates. */
export function unsampledActivity(): ActivitySample {
  return { sampled: false, intervalSeconds: 0, transactionsPerSecond: 0, readsPerSecond: 0, writesPerSecond: 0, tables: {} };
}

const perSecond = (before: number, after: number, seconds: number): number => Math.max(0, after - before) / seconds;

/** Rates between two readings; a table missing from the first reading (created meanwhile) counts from zero. */
export function activityBetween(first: CounterReading, second: CounterReading): ActivitySample {
  const seconds = Math.max(0.001, (second.at - first.at) / 1000);
  const tables: Record<string, TableActivity> = {};
  let reads = 0;
  let writes = 0;
  for (const [key, after] of second.tables) {
    const before = first.tables.get(key) ?? { rowsRead: 0, inserts: 0, updates: 0, deletes: 0 };
    const activity: TableActivity = {
      readsPerSecond: perSecond(before.rowsRead, after.rowsRead, seconds),
      insertsPerSecond: perSecond(before.inserts, after.inserts, seconds),
      updatesPerSecond: perSecond(before.updates, after.updates, seconds),
      deletesPerSecond: perSecond(before.deletes, after.deletes, seconds),
      writesPerSecond: 0,
    };
    activity.writesPerSecond = activity.insertsPerSecond + activity.updatesPerSecond + activity.deletesPerSecond;
    tables[key] = activity;
    reads += activity.readsPerSecond;
    writes += activity.writesPerSecond;
  }
  const transactions =
    perSecond(first.database.commits, second.database.commits, seconds) + perSecond(first.database.rollbacks, second.database.rollbacks, seconds);
  return { sampled: true, intervalSeconds: seconds, transactionsPerSecond: transactions, readsPerSecond: reads, writesPerSecond: writes, tables };
}

/**
 * Reads the counters (then calls `onStarted`), waits `seconds` (calling `onTick` with the seconds elapsed about once a second),
 * reads them again and returns the rates. An abort ends the wait early: the rates then cover the time
 * actually waited, unless that was under a second (the abort's reason is thrown).
 */
export async function sampleActivity(
  read: () => Promise<Omit<CounterReading, 'at'>>,
  seconds: number,
  options: { signal?: AbortSignal; onStarted?: () => void; onTick?: (elapsedSeconds: number) => void; now?: () => number } = {},
): Promise<ActivitySample> {
  if (seconds <= 0) return unsampledActivity();
  const now = options.now ?? Date.now;
  const first: CounterReading = { ...(await read()), at: now() };
  options.onStarted?.();
  const end = first.at + seconds * 1000;
  while (now() < end && options.signal?.aborted !== true) {
    await waitAbortably(Math.min(1000, end - now()), options.signal);
    options.onTick?.(Math.min(seconds, (now() - first.at) / 1000));
  }
  if (options.signal?.aborted === true && now() - first.at < 1000) throw options.signal.reason;
  const second: CounterReading = { ...(await read()), at: now() };
  return activityBetween(first, second);
}

function waitAbortably(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
