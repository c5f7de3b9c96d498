// The import metrics table `import data to target` prints every ~10 s while it applies the change
// stream (DESIGN.md section 2): total imported events, imported in this run, the ingestion rate over
// the last 3 and 10 minutes, the time taken, the remaining events and the estimated time to catch up.
// Everything here is pure: a rate window fed with (time, count) samples and a renderer from numbers.

import Table from 'cli-table3';

/** The numbers of one metrics table. */
export interface ImportMetrics {
  /** Every event up to this many is applied (the applied vsn: survives restarts). */
  totalImported: number;
  importedThisRun: number;
  /** Events per second over the last 3 and 10 minutes (or since the start when younger). */
  rate3m: number;
  rate10m: number;
  elapsedMs: number;
  /** Durable events in the queue not yet applied. */
  remaining: number;
}

/** Samples of a growing counter; rates over trailing windows. */
export class RateWindow {
  private readonly samples: { atMs: number; count: number }[] = [];

  constructor(private readonly keepMs = 10 * 60_000) {}

  add(atMs: number, count: number): void {
    this.samples.push({ atMs, count });
    // Keep one sample older than the longest window so that window has a start point.
    while (this.samples.length > 2 && (this.samples[1]?.atMs ?? atMs) <= atMs - this.keepMs) this.samples.shift();
  }

  /** Per second over the last `windowMs` up to the newest sample (0 before two samples). */
  rate(windowMs: number): number {
    const last = this.samples.at(-1);
    if (last === undefined) return 0;
    const from = last.atMs - windowMs;
    // The oldest sample inside the window, or the newest one before it (closest to the window's start).
    let start = this.samples[0] as { atMs: number; count: number };
    for (const sample of this.samples) {
      if (sample.atMs <= from) start = sample;
      else break;
    }
    const spanMs = last.atMs - start.atMs;
    return spanMs <= 0 ? 0 : (last.count - start.count) / (spanMs / 1000);
  }
}

/** "1h 02m 03s", "4m 05s", "6s". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(s).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

/** The estimated time to catch up: "caught up", a duration at the 3-minute rate (else the 10-minute one), or "unknown". */
export function estimateCatchUp(metrics: Pick<ImportMetrics, 'remaining' | 'rate3m' | 'rate10m'>): string {
  if (metrics.remaining <= 0) return 'caught up';
  const rate = metrics.rate3m > 0 ? metrics.rate3m : metrics.rate10m;
  if (rate <= 0) return 'unknown (no events applied recently)';
  return formatDuration((metrics.remaining / rate) * 1000);
}

function rateText(rate: number): string {
  return `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)}/s`;
}

/** The metrics table as text (cli-table3, no colours). */
export function renderImportMetrics(metrics: ImportMetrics): string {
  const table = new Table({
    head: ['TOTAL IMPORTED EVENTS', 'IMPORTED IN THIS RUN', 'RATE (LAST 3 MIN)', 'RATE (LAST 10 MIN)', 'TIME TAKEN', 'REMAINING EVENTS', 'ESTIMATED TIME TO CATCH UP'],
    style: { head: [], border: [] },
  });
  table.push([
    String(metrics.totalImported),
    String(metrics.importedThisRun),
    rateText(metrics.rate3m),
    rateText(metrics.rate10m),
    formatDuration(metrics.elapsedMs),
    String(Math.max(0, metrics.remaining)),
    estimateCatchUp(metrics),
  ]);
  return table.toString();
}
