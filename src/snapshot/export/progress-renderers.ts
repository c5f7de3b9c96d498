// Two ways to show the export's progress: bars on a terminal (cli-progress, one per table being
// read plus a total: rows, MB/s, ETA) and, when the output is not a terminal, a status line every few
// seconds. Both read ProgressState; the export itself only emits events.

import cliProgress from 'cli-progress';
import { ProgressState, describeProgress, formatSeconds, type ExportProgressListener, type TableProgressPlan } from './export-progress.js';

/** Periodic lines (`write`) with the total and the tables being read; a last line at the end. */
export function logProgress(write: (line: string) => void, intervalMs = 5_000): ExportProgressListener {
  const state = new ProgressState();
  let timer: NodeJS.Timeout | undefined;
  const report = (): void => {
    write(`export progress: ${describeProgress(state, state.total())}`);
    for (const table of state.tables.values()) {
      if (table.startedAt !== undefined && table.chunksDone < table.chunks) write(`  ${describeProgress(state, table)}`);
    }
  };
  return {
    started(tables: readonly TableProgressPlan[]) {
      state.started(tables);
      timer = setInterval(report, intervalMs);
      timer.unref();
    },
    data: (tableKey, bytes, rows) => state.data(tableKey, bytes, rows),
    chunkDone: (tableKey) => state.chunkDone(tableKey),
    finished() {
      clearInterval(timer);
    },
  };
}

/** Bars on a terminal stream: the total first, then each table while it is read. */
export function barProgress(stream: NodeJS.WritableStream): ExportProgressListener {
  const state = new ProgressState();
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: ' {name} |{bar}| {percentage}% {rows} rows {rate} MB/s {eta}',
      hideCursor: true,
      clearOnComplete: false,
      fps: 4,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  let total: cliProgress.SingleBar | undefined;
  let timer: NodeJS.Timeout | undefined;
  const width = (): number => Math.min(Math.max(...[...state.tables.values()].map((t) => t.display.length), 5), 40);
  const payload = (key: string | undefined): Record<string, string> => {
    const table = key === undefined ? state.total() : state.tables.get(key);
    if (table === undefined) return {};
    const left = state.secondsLeft(table);
    const name = table.display.length > width() ? `${table.display.slice(0, width() - 1)}…` : table.display.padEnd(width());
    return {
      name,
      rows: table.rows.toLocaleString('en-US'),
      rate: state.rate(table).toFixed(1),
      eta: table.chunksDone >= table.chunks ? 'done' : left === undefined ? 'ETA ?' : `ETA ${formatSeconds(left)}`,
    };
  };
  const refresh = (): void => {
    for (const [key, table] of state.tables) {
      let bar = bars.get(key);
      if (bar === undefined && table.startedAt !== undefined) {
        bar = multibar.create(table.chunks, table.chunksDone, payload(key));
        bars.set(key, bar);
      }
      bar?.update(table.chunksDone, payload(key));
    }
    total?.update(state.total().chunksDone, payload(undefined));
  };
  return {
    started(tables) {
      state.started(tables);
      const t = state.total();
      total = multibar.create(t.chunks, t.chunksDone, payload(undefined));
      timer = setInterval(refresh, 250);
      timer.unref();
    },
    data: (tableKey, bytes, rows) => state.data(tableKey, bytes, rows),
    chunkDone: (tableKey) => state.chunkDone(tableKey),
    finished() {
      clearInterval(timer);
      refresh();
      multibar.stop();
    },
  };
}
