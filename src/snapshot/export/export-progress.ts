// Progress of the snapshot export as events (the work reports, renderers show) and the running totals
// the renderers read: per table rows, bytes, chunks, throughput and an estimated time left.

/** What the export reports while it works; renderers implement it, the work never formats output. */
export interface ExportProgressListener {
  /** The plan, with what earlier runs already exported. */
  started(tables: readonly TableProgressPlan[]): void;
  /** Bytes and rows streamed into a chunk file of `tableKey`. */
  data(tableKey: string, bytes: number, rows: number): void;
  /** A chunk of `tableKey` is durable and recorded. */
  chunkDone(tableKey: string): void;
  /** The export ended (successfully or not): stop timers, leave the terminal clean. */
  finished(ok: boolean): void;
}

/** A table as the progress display starts with it. */
export interface TableProgressPlan {
  tableKey: string;
  /** The name as a user types it. */
  display: string;
  chunks: number;
  chunksDone: number;
  rowsDone: number;
  /** Heap bytes still to read (pages of the chunks not exported yet), for the estimate of time left. */
  bytesToRead: number;
}

/** The running state of one table. */
export interface TableProgress extends TableProgressPlan {
  rows: number;
  bytes: number;
  startedAt: number | undefined;
}

/** Running totals kept from the events; renderers read `tables` and the helpers below. */
export class ProgressState implements ExportProgressListener {
  readonly tables = new Map<string, TableProgress>();
  startedAt = Date.now();

  constructor(private readonly now: () => number = Date.now) {}

  started(tables: readonly TableProgressPlan[]): void {
    this.startedAt = this.now();
    for (const t of tables) this.tables.set(t.tableKey, { ...t, rows: t.rowsDone, bytes: 0, startedAt: undefined });
  }

  data(tableKey: string, bytes: number, rows: number): void {
    const table = this.tables.get(tableKey);
    if (table === undefined) return;
    table.startedAt ??= this.now();
    table.bytes += bytes;
    table.rows += rows;
  }

  chunkDone(tableKey: string): void {
    const table = this.tables.get(tableKey);
    if (table !== undefined) table.chunksDone++;
  }

  finished(): void {
    // Nothing to release: the state is read by renderers.
  }

  /** Totals over every table. */
  total(): TableProgress {
    const all = [...this.tables.values()];
    const sum = (pick: (t: TableProgress) => number): number => all.reduce((n, t) => n + pick(t), 0);
    return {
      tableKey: '',
      display: 'total',
      chunks: sum((t) => t.chunks),
      chunksDone: sum((t) => t.chunksDone),
      rowsDone: sum((t) => t.rowsDone),
      bytesToRead: sum((t) => t.bytesToRead),
      rows: sum((t) => t.rows),
      bytes: sum((t) => t.bytes),
      startedAt: this.startedAt,
    };
  }

  /** Megabytes per second written for `table` since it started. */
  rate(table: TableProgress): number {
    if (table.startedAt === undefined) return 0;
    const seconds = Math.max((this.now() - table.startedAt) / 1000, 0.001);
    return table.bytes / 1_048_576 / seconds;
  }

  /** Seconds left, estimated from heap bytes still to read at the current rate; undefined before data flows. */
  secondsLeft(table: TableProgress): number | undefined {
    if (table.chunksDone >= table.chunks) return 0;
    const rate = this.rate(table);
    if (rate <= 0) return undefined;
    return Math.max(table.bytesToRead - table.bytes, 0) / 1_048_576 / rate;
  }
}

/** One human-readable status line for a table or the total. */
export function describeProgress(state: ProgressState, table: TableProgress): string {
  const left = state.secondsLeft(table);
  const eta = left === undefined ? '?' : formatSeconds(left);
  const done = table.chunksDone >= table.chunks ? 'done' : `ETA ${eta}`;
  return `${table.display}: ${table.rows.toLocaleString('en-US')} rows, chunks ${table.chunksDone}/${table.chunks}, ` +
    `${state.rate(table).toFixed(1)} MB/s, ${done}`;
}

/** 75 -> "1m15s". */
export function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A listener that ignores everything (library use, tests). */
export const silentProgress: ExportProgressListener = {
  started: () => undefined,
  data: () => undefined,
  chunkDone: () => undefined,
  finished: () => undefined,
};
