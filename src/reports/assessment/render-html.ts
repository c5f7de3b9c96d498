// HTML rendering of the migration assessment: one self-contained page (inline CSS, no scripts, no
// external resources) in the order a DBA reads it: the verdict (complexity, sizing), then the
// evidence (tables, schema issues, readiness, query statistics). Every text goes through escapeHtml.

import type { AssessedTable, AssessmentReport } from '../../assess/assessment-types.js';
import { renderFix } from '../../engines/capture-readiness.js';
import { formatBinaryBytes as formatBytes } from '../../core/format-bytes.js';
import { escapeHtml as e } from '../escape.js';

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:80em}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}td.n{text-align:right}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;white-space:pre-wrap}.level{font-weight:bold;padding:2px 8px}
.LOW{background:#dfd}.MEDIUM{background:#ffd}.HIGH{background:#fdd}.blocker{color:#a00;font-weight:bold}.warning{color:#a60}`;

const n = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined ? '?' : value.toLocaleString('en-US', { maximumFractionDigits: digits });

const row = (cells: string[]): string => `<tr>${cells.join('')}</tr>`;
const td = (text: string): string => `<td>${e(text)}</td>`;
const num = (text: string): string => `<td class="n">${e(text)}</td>`;

function tableRows(tables: readonly AssessedTable[]): string {
  return tables
    .map((t) =>
      row([
        td(`${t.schema}.${t.name}`),
        td(t.kind),
        num(n(t.estimatedRows)),
        num(formatBytes(t.tableBytes)),
        num(formatBytes(t.indexBytes)),
        num(t.activity === null ? '-' : n(t.activity.readsPerSecond, 1)),
        num(t.activity === null ? '-' : n(t.activity.writesPerSecond, 1)),
        td(t.hasPrimaryKey ? 'yes' : 'no'),
        td(t.placement),
        td(t.placementReason),
      ]),
    )
    .join('\n');
}

function summarySection(report: AssessmentReport): string {
  const s = report.summary;
  const a = report.activity;
  const rates = a.sampled
    ? `${n(a.transactionsPerSecond, 1)} transactions/s (the assessment's own few catalog reads included), ${n(a.readsPerSecond, 1)} row reads/s, ${n(a.writesPerSecond, 1)} row writes/s over ${n(a.intervalSeconds, 1)} s`
    : 'not sampled (--iops-capture-interval 0)';
  return `<h2>Summary</h2><table>
${row([td('Tables'), num(n(s.tables))])}
${row([td('Partitions'), num(n(s.partitions))])}
${row([td('Indexes'), num(n(s.indexes))])}
${row([td('Sequences'), num(n(s.sequences))])}
${row([td('Estimated rows'), num(n(s.estimatedRows))])}
${row([td('Tables never analysed (no estimate: run ANALYZE)'), num(n(s.tablesNotAnalysed))])}
${row([td('Table data (heap and TOAST)'), num(formatBytes(s.tableBytes))])}
${row([td('Indexes'), num(formatBytes(s.indexBytes))])}
${row([td('Whole database'), num(formatBytes(report.source.databaseBytes))])}
${row([td('Tables without a primary key'), num(n(s.tablesWithoutPrimaryKey))])}
${row([td('Activity'), td(rates)])}
</table>`;
}

function sizingSection(report: AssessmentReport): string {
  const z = report.sizing;
  return `<h2>Sizing recommendation (${e(report.target)})</h2>
<table>${row([td('Nodes'), num(String(z.nodes))])}${row([td('vCPUs per node'), num(String(z.vcpusPerNode))])}
${row([td('Memory per node'), num(`${z.memoryGiBPerNode} GiB`)])}${row([td('Replication factor'), num(String(z.replicationFactor))])}
${row([td('Colocated tables'), num(`${z.colocatedTables} (${formatBytes(z.colocatedBytes)})`)])}${row([td('Sharded tables'), num(`${z.shardedTables} (${formatBytes(z.shardedBytes)})`)])}</table>
<ul>${z.rationale.map((line) => `<li>${e(line)}</li>`).join('\n')}</ul>
<p>Rules of thumb for a first cluster: confirm them with a load test of your own workload.</p>`;
}

function issuesSection(report: AssessmentReport): string {
  const counts = report.schemaIssues.byCategory.map((c) => row([td(c.title), num(String(c.issues))])).join('\n');
  const issues = report.schemaIssues.issues
    .map((i) => row([td(i.title), td(`${i.objectType}: ${i.objectName}`), td(i.reason), td(i.suggestion), td(`${i.file}:${i.line}`)]))
    .join('\n');
  const list =
    issues === ''
      ? '<p>No issue found in the schema.</p>'
      : `<table><tr><th>Issue</th><th>Object</th><th>Reason</th><th>Suggestion</th><th>Where</th></tr>\n${issues}</table>`;
  return `<h2>Schema issues</h2><table><tr><th>Category</th><th>Issues</th></tr>\n${counts}</table>\n${list}`;
}

function readinessSection(report: AssessmentReport): string {
  const r = report.readiness;
  const verdict = r.ready ? 'ready for change capture' : 'NOT ready for change capture: fix the blockers before a live migration';
  const findings = r.findings
    .map((f) => row([`<td class="${e(f.severity)}">${e(f.severity)}</td>`, td(f.code), td(`${f.object.kind} ${f.object.name}`), td(f.message), td(f.fixes.map(renderFix).filter((t) => t !== '').join(' | or: '))]))
    .join('\n');
  return `<h2>Live migration readiness</h2><p>The source is ${e(verdict)}.</p>
${findings === '' ? '' : `<table><tr><th>Severity</th><th>Code</th><th>Object</th><th>Finding</th><th>Fix</th></tr>\n${findings}</table>`}`;
}

function queriesSection(report: AssessmentReport): string {
  const q = report.queryStatistics;
  if (!q.available) return `<h2>Query statistics</h2><p>Not captured: ${e(q.unavailableReason ?? 'pg_stat_statements could not be read')}</p>`;
  const rows = q.top
    .map((s) => row([`<td><pre>${e(s.query)}</pre></td>`, num(n(s.calls)), num(n(s.totalExecMs, 1)), num(n(s.meanExecMs, 3)), num(n(s.rows))]))
    .join('\n');
  const constructs = q.unsupportedConstructs
    .map((f) => row([`<td><pre>${e(f.query)}</pre></td>`, num(n(f.calls)), td(f.issues.map((i) => `${i.title}: ${i.reason} ${i.suggestion}`).join(' | '))]))
    .join('\n');
  const unparsed = q.unparsedStatements > 0 ? `<p>${q.unparsedStatements} captured statement(s) could not be parsed and were not checked.</p>` : '';
  const constructSection =
    constructs === ''
      ? `<h2>Unsupported query constructs</h2><p>None of the captured statements uses SQL the target lacks.</p>${unparsed}`
      : `<h2>Unsupported query constructs</h2><p>The application's statements that use SQL the target lacks (the same rules analyze-schema applies to views and routines).</p>
<table><tr><th>Statement</th><th>Calls</th><th>Issues</th></tr>\n${constructs}</table>${unparsed}`;
  return `${constructSection}\n<h2>Query statistics</h2><p>The statements with the most total execution time (all of them are in ${e(q.file)}, which compare-performance reads).</p>
<table><tr><th>Statement</th><th>Calls</th><th>Total ms</th><th>Mean ms</th><th>Rows</th></tr>\n${rows}</table>`;
}

/** Renders the report as a self-contained HTML page a colleague can open on its own. */
export function renderAssessmentHtml(report: AssessmentReport): string {
  const src = report.source;
  const objects = report.objects.map((o) => row([td(o.objectType), num(String(o.totalObjects)), num(String(o.objectsWithIssues))])).join('\n');
  const methods = new Map<string, number>();
  for (const index of report.indexes) methods.set(index.method, (methods.get(index.method) ?? 0) + 1);
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Migration assessment report</title><style>${STYLE}</style></head>
<body><h1>Migration assessment report</h1>
<p>Source: database ${e(src.database)} on ${e(src.host)}:${src.port} as ${e(src.user)}, schemas ${e(src.schemas.join(', '))} &middot; ${e(src.serverVersion)}</p>
<p>Target: ${e(report.target)} &middot; generated ${e(report.generatedAt)}</p>
<h2>Migration complexity: <span class="level ${e(report.complexity.level)}">${e(report.complexity.level)}</span></h2>
<ul>${report.complexity.reasons.map((line) => `<li>${e(line)}</li>`).join('\n')}</ul>
${sizingSection(report)}
${summarySection(report)}
<h2>Tables</h2>
<table><tr><th>Table</th><th>Kind</th><th>Rows (est.)</th><th>Data</th><th>Indexes</th><th>Reads/s</th><th>Writes/s</th><th>Primary key</th><th>Placement</th><th>Why</th></tr>
${tableRows(report.tables)}</table>
<p>Indexes by method: ${e([...methods].map(([method, count]) => `${method} ${count}`).join(', ') || 'none')}</p>
${issuesSection(report)}
${readinessSection(report)}
${queriesSection(report)}
<h2>Objects in the schema</h2>
<table><tr><th>Object type</th><th>Objects</th><th>With issues</th></tr>
${objects}</table>
</body></html>
`;
}
