// The import metrics table and its rates (pure), and the report's imported change columns.
import { describe, expect, it } from 'vitest';
import { RateWindow, estimateCatchUp, formatDuration, renderImportMetrics } from '../../src/apply/live-metrics.js';
import { buildDataMigrationReport } from '../../src/reports/data-migration/report-data.js';

describe('import metrics', () => {
  it('renders every figure in one cli-table3 table', () => {
    const text = renderImportMetrics({ totalImported: 12_345, importedThisRun: 2_345, rate3m: 250.4, rate10m: 12.25, elapsedMs: 3_723_000, remaining: 1_500 });
    for (const head of ['TOTAL IMPORTED EVENTS', 'IMPORTED IN THIS RUN', 'RATE (LAST 3 MIN)', 'RATE (LAST 10 MIN)', 'TIME TAKEN', 'REMAINING EVENTS', 'ESTIMATED TIME TO CATCH UP']) {
      expect(text).toContain(head);
    }
    const row = text.split('\n').find((line) => line.includes('12345')) ?? '';
    expect(row.split('│').map((cell) => cell.trim()).filter((cell) => cell !== '')).toEqual(['12345', '2345', '250/s', '12.3/s', '1h 02m 03s', '1500', '6s']);
  });

  it('estimates the catch-up from the 3-minute rate, else the 10-minute one', () => {
    expect(estimateCatchUp({ remaining: 0, rate3m: 0, rate10m: 0 })).toBe('caught up');
    expect(estimateCatchUp({ remaining: 6000, rate3m: 100, rate10m: 1 })).toBe('1m 00s');
    expect(estimateCatchUp({ remaining: 6000, rate3m: 0, rate10m: 10 })).toBe('10m 00s');
    expect(estimateCatchUp({ remaining: 5, rate3m: 0, rate10m: 0 })).toMatch(/^unknown/);
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(65_000)).toBe('1m 05s');
  });

  it('computes rates over trailing windows from samples', () => {
    const rates = new RateWindow();
    expect(rates.rate(180_000)).toBe(0);
    // 100 events/s for 10 minutes, then 10 events/s for 3 minutes.
    let count = 0;
    for (let s = 0; s <= 600; s += 10) rates.add(s * 1000, (count = s * 100));
    for (let s = 610; s <= 780; s += 10) rates.add(s * 1000, (count += 100));
    expect(rates.rate(180_000)).toBeCloseTo(10, 5);
    // The last 10 minutes: 3 at 10/s and 7 at 100/s.
    expect(rates.rate(600_000)).toBeCloseTo((180 * 10 + 420 * 100) / 600, 5);
    // Younger than the window: since the first sample.
    const young = new RateWindow();
    young.add(0, 0);
    young.add(20_000, 400);
    expect(young.rate(180_000)).toBe(20);
  });
});

describe('data-migration report: imported changes', () => {
  it('fills the imported insert/update/delete columns and totals, keeping the snapshot columns', () => {
    const report = buildDataMigrationReport({
      migrationId: 'm',
      generatedAt: 'now',
      tables: ['"a"."t"', '"a"."u"'],
      exportedSnapshotRows: new Map([['"a"."t"', 10]]),
      importedSnapshotRows: new Map([['"a"."t"', 10]]),
      importedChanges: new Map([['"a"."t"', { inserts: 3, updates: 2, deletes: 1 }]]),
    });
    expect(report.tables[0]).toMatchObject({ table: '"a"."t"', importedSnapshotRows: 10, importedInserts: 3, importedUpdates: 2, importedDeletes: 1 });
    expect(report.tables[1]).toMatchObject({ table: '"a"."u"', importedInserts: 0, importedUpdates: 0, importedDeletes: 0 });
    expect(report.total).toMatchObject({ importedSnapshotRows: 10, importedInserts: 3, importedUpdates: 2, importedDeletes: 1 });
  });
});
