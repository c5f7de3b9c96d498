// What the snapshot import tells whoever shows its progress: tables and their expected totals as
// chunks arrive, and every batch loaded. The pipeline only emits events; renderers (a terminal with
// bars, or periodic log lines) live in progress-renderers.ts.

/** Receives the import's progress; every method is optional work for the receiver, none may throw. */
export interface ImportProgress {
  /** The rows and bytes known so far for a table (grows while the export is still running). */
  tableTotals(tableKey: string, totals: { rows: number; bytes: number; exportFinished: boolean }): void;
  /** Rows and bytes already on the target when the import (re)started; not counted in the speed. */
  alreadyLoaded(tableKey: string, rows: number, bytes: number): void;
  /** A batch committed now. */
  batchLoaded(tableKey: string, rows: number, bytes: number): void;
  /** A step of the import (waiting, building indexes, setting sequences), for the status line or log. */
  phase(description: string): void;
  /** The import is over (also after a failure): stop timers and redraws. */
  stop(): void;
}

/** Progress that goes nowhere (tests, library callers). */
export const silentProgress: ImportProgress = {
  tableTotals: () => undefined,
  alreadyLoaded: () => undefined,
  batchLoaded: () => undefined,
  phase: () => undefined,
  stop: () => undefined,
};

/** Per-table counters kept by the renderers. */
export interface TableCounters {
  totalRows: number;
  totalBytes: number;
  exportFinished: boolean;
  doneRows: number;
  doneBytes: number;
  /** Bytes loaded by this run, with when this run started, for the speed. */
  runBytes: number;
  startedAt: number;
}

/** Keeps the counters every renderer needs: rows, bytes, speed and ETA per table. */
export class ProgressCounters {
  readonly tables = new Map<string, TableCounters>();
  readonly startedAt: number;

  constructor(private readonly clock: () => number = Date.now) {
    this.startedAt = clock();
  }

  now(): number {
    return this.clock();
  }

  table(tableKey: string): TableCounters {
    let counters = this.tables.get(tableKey);
    if (counters === undefined) {
      counters = { totalRows: 0, totalBytes: 0, exportFinished: false, doneRows: 0, doneBytes: 0, runBytes: 0, startedAt: this.clock() };
      this.tables.set(tableKey, counters);
    }
    return counters;
  }

  /** Bytes per second of this run for one table (or all), 0 before anything moved. */
  speed(counters: Pick<TableCounters, 'runBytes' | 'startedAt'>): number {
    const seconds = (this.clock() - counters.startedAt) / 1000;
    return seconds > 0 ? counters.runBytes / seconds : 0;
  }

  /** Seconds left at the current speed, undefined when unknown. */
  eta(counters: TableCounters): number | undefined {
    const speed = this.speed(counters);
    if (speed <= 0) return undefined;
    return Math.max(0, (counters.totalBytes - counters.doneBytes) / speed);
  }

  total(): TableCounters {
    const total: TableCounters = { totalRows: 0, totalBytes: 0, exportFinished: true, doneRows: 0, doneBytes: 0, runBytes: 0, startedAt: this.startedAt };
    for (const t of this.tables.values()) {
      total.totalRows += t.totalRows;
      total.totalBytes += t.totalBytes;
      total.doneRows += t.doneRows;
      total.doneBytes += t.doneBytes;
      total.runBytes += t.runBytes;
      total.exportFinished &&= t.exportFinished;
    }
    return total;
  }
}

/** 1.5 MB, 320 kB: sizes for people. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30) return `${(bytes / (1 << 30)).toFixed(1)} GB`;
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  if (bytes >= 1 << 10) return `${(bytes / (1 << 10)).toFixed(0)} kB`;
  return `${bytes} B`;
}

/** 1h02m, 3m10s, 42s. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}
