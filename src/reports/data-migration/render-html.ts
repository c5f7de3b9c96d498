// The data-migration report as one self-contained HTML page (inline CSS, no scripts, no external
// resources) to hand to colleagues: the forward table, the fall-back table and the cutover history.
// Table names come from user schemas, so every piece of text is escaped.
import { escapeHtml as e } from '../escape.js';
import type { DataMigrationReport, DataMigrationRow, FallBackRow } from './report-data.js';
import { FALL_BACK_COLUMNS, REPORT_COLUMNS } from './render-report.js';

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f0f0f0}td:first-child,th:first-child{text-align:left}
tr.total td{font-weight:bold;border-top:2px solid #888}`;

function htmlTable<R>(columns: readonly (readonly [keyof R, string])[], rows: readonly R[], total: R): string {
  const head = `<tr>${columns.map(([, title]) => `<th>${e(title.toLowerCase())}</th>`).join('')}</tr>`;
  const line = (row: R, cls = ''): string =>
    `<tr${cls}>${columns.map(([key]) => `<td>${e(row[key] === null || row[key] === undefined ? '-' : String(row[key]))}</td>`).join('')}</tr>`;
  return `<table>${head}\n${rows.map((r) => line(r)).join('\n')}\n${line(total, ' class="total"')}</table>`;
}

/** Renders the report as an HTML page. */
export function renderReportHtml(report: DataMigrationReport, generatedAt: string): string {
  const parts = [
    `<h1>Data migration report</h1><p>Migration ${e(report.migrationId)} &middot; generated ${e(generatedAt)}</p>`,
    '<h2>Source to target</h2>',
    htmlTable<DataMigrationRow>(REPORT_COLUMNS, report.tables, report.total),
  ];
  if (report.fallBack !== undefined) {
    parts.push('<h2>Fall-back stream (target to source)</h2>', htmlTable<FallBackRow>(FALL_BACK_COLUMNS, report.fallBack.tables, report.fallBack.total));
  }
  if (report.cutover !== undefined) {
    const { toTarget, toSource, history } = report.cutover;
    parts.push('<h2>Cutover</h2>', `<p>cutover to target status: <b>${e(toTarget)}</b>${toSource === undefined ? '' : `<br>cutover to source status: <b>${e(toSource)}</b>`}</p>`);
    const rows = history.map((h) => `<tr><td>${e(h.at)}</td><td>${e(h.direction)}</td><td>${e(`${h.from} -> ${h.to}`)}</td><td>${e(h.detail ?? '')}</td></tr>`);
    parts.push(`<table><tr><th>time</th><th>cutover</th><th>step</th><th>detail</th></tr>\n${rows.join('\n')}</table>`);
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Data migration report</title><style>${STYLE}</style></head>
<body>${parts.join('\n')}</body></html>
`;
}
