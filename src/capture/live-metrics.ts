// The export side's metrics table figures (issue 5): total exported events, exported in this run, and
// the export rate over the last 3 and 10 minutes, from the queue's durable head sampled over time.

/** One line of the export metrics table. */
export interface LiveExportMetrics {
  /** Events durable in the queue over all runs (its last vsn). */
  totalEvents: number;
  /** Events made durable since this process started. */
  eventsThisRun: number;
  /** Events per second over the last 3 minutes (or since the start, when shorter). */
  rateLast3Min: number;
  /** Events per second over the last 10 minutes (or since the start, when shorter). */
  rateLast10Min: number;
  /** Epoch milliseconds of the figures. */
  at: number;
}

const THREE_MINUTES = 3 * 60_000;
const TEN_MINUTES = 10 * 60_000;

/** Keeps (time, total) samples of the last ten minutes and turns them into the table's figures. */
export class ExportRates {
  private readonly samples: { at: number; total: number }[] = [];

  constructor(
    private readonly totalAtStart: number,
    startedAt: number,
  ) {
    this.samples.push({ at: startedAt, total: totalAtStart });
  }

  /** Records the durable total now and returns the figures. */
  sample(total: number, at: number): LiveExportMetrics {
    this.samples.push({ at, total });
    // Keep one sample at or before the ten-minute window's start, for the rate over the whole window.
    while (this.samples.length > 2 && (this.samples[1]?.at ?? at) <= at - TEN_MINUTES) this.samples.shift();
    return {
      totalEvents: total,
      eventsThisRun: total - this.totalAtStart,
      rateLast3Min: this.rate(total, at, THREE_MINUTES),
      rateLast10Min: this.rate(total, at, TEN_MINUTES),
      at,
    };
  }

  private rate(total: number, at: number, window: number): number {
    // The latest sample at or before the window's start, else the oldest one kept.
    let base = this.samples[0];
    for (const sample of this.samples) {
      if (sample.at <= at - window) base = sample;
      else break;
    }
    if (base === undefined) return 0;
    const seconds = (at - base.at) / 1000;
    return seconds <= 0 ? 0 : (total - base.total) / seconds;
  }
}
