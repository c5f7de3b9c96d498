// Shows the snapshot import's progress: on a terminal a bar per table (rows, MB/s, ETA) and a total,
// redrawn in place (cli-progress); otherwise a line per table every few seconds, written to the
// command's output and its log, so a run under systemd or in a pipe still shows it is moving.

import cliProgress from 'cli-progress';
import type { Logger } from '../../core/logger.js';
import { ProgressCounters, formatBytes, formatDuration, type ImportProgress, type TableCounters } from './import-progress.js';

/** Where progress text goes. */
export interface ProgressOutput {
  print(line: string): void;
  stream: NodeJS.WritableStream;
}

function describe(counters: ProgressCounters, t: TableCounters): string {
  const total = t.exportFinished ? String(t.totalRows) : `${t.totalRows}+`;
  return `${t.doneRows}/${total} rows, ${formatBytes(t.doneBytes)}, ${formatBytes(counters.speed(t))}/s, ETA ${formatDuration(counters.eta(t))}`;
}

/** Periodic log lines (not a terminal): one line per table that moved, and a total. */
export function logLineProgress(output: Pick<ProgressOutput, 'print'>, logger: Logger, intervalMs = 5000): ImportProgress {
  const counters = new ProgressCounters();
  const moved = new Set<string>();
  const flush = (): void => {
    if (moved.size === 0) return;
    for (const key of [...moved].sort()) {
      const line = `import data: ${key}: ${describe(counters, counters.table(key))}`;
      output.print(line);
      logger.info(line);
    }
    moved.clear();
    const line = `import data: total: ${describe(counters, counters.total())}`;
    output.print(line);
    logger.info(line);
  };
  const timer = setInterval(flush, intervalMs);
  timer.unref();
  return {
    tableTotals(key, totals) {
      const t = counters.table(key);
      [t.totalRows, t.totalBytes, t.exportFinished] = [totals.rows, totals.bytes, totals.exportFinished];
    },
    alreadyLoaded(key, rows, bytes) {
      const t = counters.table(key);
      t.doneRows += rows;
      t.doneBytes += bytes;
    },
    batchLoaded(key, rows, bytes) {
      const t = counters.table(key);
      t.doneRows += rows;
      t.doneBytes += bytes;
      t.runBytes += bytes;
      moved.add(key);
    },
    phase(description) {
      output.print(`import data: ${description}`);
      logger.info(description);
    },
    stop() {
      clearInterval(timer);
      flush();
    },
  };
}

/** Bars on a terminal: one per table and a total, with rows, MB/s and ETA. */
export function terminalProgress(output: ProgressOutput, logger: Logger): ImportProgress {
  const counters = new ProgressCounters();
  const multibar = new cliProgress.MultiBar(
    {
      stream: output.stream as NodeJS.WriteStream,
      clearOnComplete: false,
      hideCursor: true,
      format: '{name} |{bar}| {rows} rows | {mb} | {speed}/s | ETA {eta_text}',
      barsize: 24,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const width = { name: 12 };
  const payload = (t: TableCounters, name: string): Record<string, string> => ({
    name: name.padEnd(width.name),
    rows: `${t.doneRows}/${t.exportFinished ? t.totalRows : `${t.totalRows}+`}`,
    mb: formatBytes(t.doneBytes),
    speed: formatBytes(counters.speed(t)),
    eta_text: formatDuration(counters.eta(t)),
  });
  let totalBar: cliProgress.SingleBar | undefined;
  const redraw = (key: string): void => {
    const t = counters.table(key);
    let bar = bars.get(key);
    if (bar === undefined) {
      width.name = Math.max(width.name, key.length);
      bar = multibar.create(Math.max(1, t.totalBytes), t.doneBytes, payload(t, key));
      bars.set(key, bar);
    }
    bar.setTotal(Math.max(1, t.totalBytes));
    bar.update(t.doneBytes, payload(t, key));
    const total = counters.total();
    totalBar ??= multibar.create(Math.max(1, total.totalBytes), 0, payload(total, 'total'));
    totalBar.setTotal(Math.max(1, total.totalBytes));
    totalBar.update(total.doneBytes, payload(total, 'total'));
  };
  return {
    tableTotals(key, totals) {
      const t = counters.table(key);
      [t.totalRows, t.totalBytes, t.exportFinished] = [totals.rows, totals.bytes, totals.exportFinished];
      redraw(key);
    },
    alreadyLoaded(key, rows, bytes) {
      const t = counters.table(key);
      t.doneRows += rows;
      t.doneBytes += bytes;
      redraw(key);
    },
    batchLoaded(key, rows, bytes) {
      const t = counters.table(key);
      t.doneRows += rows;
      t.doneBytes += bytes;
      t.runBytes += bytes;
      redraw(key);
    },
    phase(description) {
      multibar.log(`${description}\n`);
      logger.info(description);
    },
    stop() {
      multibar.stop();
    },
  };
}
