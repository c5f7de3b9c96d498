// Renders the data-migration report and the import status for people (cli-table3 tables) or for
// scripts (JSON with the same field names as the report data).

import Table from 'cli-table3';
import type { DataMigrationReport, DataMigrationRow, FallBackRow, ImportStatus } from './report-data.js';

/** The report's columns and their titles, shared by the text and HTML renderings. */
export const REPORT_COLUMNS: [keyof DataMigrationRow, string][] = [
  ['table', 'TABLE'],
  ['exportedSnapshotRows', 'EXPORTED SNAPSHOT ROWS'],
  ['importedSnapshotRows', 'IMPORTED SNAPSHOT ROWS'],
  ['erroredRows', 'ERRORED ROWS'],
  ['exportedInserts', 'EXPORTED INSERTS'],
  ['exportedUpdates', 'EXPORTED UPDATES'],
  ['exportedDeletes', 'EXPORTED DELETES'],
  ['importedInserts', 'IMPORTED INSERTS'],
  ['importedUpdates', 'IMPORTED UPDATES'],
  ['importedDeletes', 'IMPORTED DELETES'],
  ['finalRowCount', 'FINAL ROW COUNT'],
];

/** The fall-back table's columns and their titles. */
const FALL_BACK_KEYS: readonly (keyof FallBackRow)[] = ['table', 'exportedInserts', 'exportedUpdates', 'exportedDeletes', 'importedInserts', 'importedUpdates', 'importedDeletes'];
export const FALL_BACK_COLUMNS = REPORT_COLUMNS.filter((column): column is [keyof FallBackRow, string] =>
  (FALL_BACK_KEYS as readonly string[]).includes(column[0]),
);

function plainTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] } });
}

/** The report as a table, one line per table and a total line. */
export function renderReportTable(report: DataMigrationReport): string {
  const table = plainTable(REPORT_COLUMNS.map(([, title]) => title));
  for (const row of [...report.tables, report.total]) {
    table.push(REPORT_COLUMNS.map(([key]) => (row[key] === null ? '-' : String(row[key]))));
  }
  let text = `data migration report (migration ${report.migrationId})\n${table.toString()}`;
  if (report.fallBack !== undefined) {
    const fallBack = plainTable(FALL_BACK_COLUMNS.map(([, title]) => title));
    for (const row of [...report.fallBack.tables, report.fallBack.total]) fallBack.push(FALL_BACK_COLUMNS.map(([key]) => String(row[key])));
    text += `\nfall-back stream (target-to-source: exported from the target, imported into the source)\n${fallBack.toString()}`;
  }
  return report.cutover === undefined ? text : `${text}\n${renderCutover(report.cutover)}`;
}

/** The cutover lines under the report table: the status labels, then every transition with its time. */
function renderCutover(cutover: NonNullable<DataMigrationReport['cutover']>): string {
  const lines = [`cutover to target status: ${cutover.toTarget}`];
  if (cutover.toSource !== undefined) lines.push(`cutover to source status: ${cutover.toSource}`);
  const history = plainTable(['TIME', 'CUTOVER', 'STEP', 'DETAIL']);
  for (const entry of cutover.history) history.push([entry.at, entry.direction, `${entry.from} -> ${entry.to}`, entry.detail ?? '']);
  return `${lines.join('\n')}\ncutover history\n${history.toString()}`;
}

/** The report as JSON. */
export function renderReportJson(report: DataMigrationReport): string {
  return JSON.stringify(report, null, 2);
}

/** `import data status` as a table. */
export function renderImportStatusTable(status: ImportStatus): string {
  const table = plainTable(['TABLE', 'STATE', 'EXPORTED ROWS', 'IMPORTED ROWS', 'PERCENT']);
  for (const row of [...status.tables, status.total]) {
    table.push([row.table, row.state, String(row.exportedRows), String(row.importedRows), `${row.percent.toFixed(1)}%`]);
  }
  const detail = status.phaseDetail === null ? '' : ` (${status.phaseDetail})`;
  const exporting = status.exportFinished ? 'export finished' : 'export still running or not started';
  return `import data to target: ${status.phase}${detail}; ${exporting}\n${table.toString()}`;
}

/** `import data status` as JSON. */
export function renderImportStatusJson(status: ImportStatus): string {
  return JSON.stringify(status, null, 2);
}
