// The migration assessment as a text report (assessment/reports/migration_assessment_report.txt), in
// the HTML page's order: the verdict (complexity, sizing), then the evidence (tables, schema issues,
// readiness, the application's statements). For a terminal, an e-mail or a ticket.

import Table from 'cli-table3';
import type { AssessmentReport } from '../../assess/assessment-types.js';
import { renderReadinessReport } from '../../engines/capture-readiness.js';
import { formatBinaryBytes as bytes } from '../../core/format-bytes.js';

/** No colours, and no rule between rows: a table of many tables stays readable. */
const TEXT_TABLE = { style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } };
const rate = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));

/** The whole assessment as plain text. */
export function renderAssessmentText(report: AssessmentReport): string {
  const s = report.summary;
  const src = report.source;
  const lines: string[] = [
    'Migration assessment report',
    `source: database ${src.database} on ${src.host}:${src.port} as ${src.user}, schemas ${src.schemas.join(', ')}; ${src.serverVersion}`,
    `target: ${report.target}; generated ${report.generatedAt}`,
    '',
    `Migration complexity: ${report.complexity.level}`,
    ...report.complexity.reasons.map((reason) => `  - ${reason}`),
    '',
    `Sizing: ${report.sizing.nodes} nodes of ${report.sizing.vcpusPerNode} vCPUs and ${report.sizing.memoryGiBPerNode} GiB, replication factor ${report.sizing.replicationFactor} (rules of thumb: confirm with a load test)`,
    ...report.sizing.rationale.map((line) => `  - ${line}`),
    '',
    `Summary: ${s.tables} tables, ${s.partitions} partitions, ${s.indexes} indexes, ${s.sequences} sequences; ${bytes(s.tableBytes)} of data, ${bytes(s.indexBytes)} of indexes ` +
      `(database ${bytes(src.databaseBytes)}); ~${s.estimatedRows.toLocaleString('en-US')} rows; ${s.tablesNotAnalysed} never analysed; ${s.tablesWithoutPrimaryKey} without a primary key`,
    report.activity.sampled
      ? `Activity over ${report.activity.intervalSeconds.toFixed(0)} s: ${report.activity.transactionsPerSecond.toFixed(1)} transactions/s, ${report.activity.readsPerSecond.toFixed(1)} row reads/s, ${report.activity.writesPerSecond.toFixed(1)} row writes/s`
      : 'Activity: not sampled (--iops-capture-interval 0)',
    '',
  ];
  const tables = new Table({ head: ['table', 'kind', 'rows (est.)', 'data', 'indexes', 'reads/s', 'writes/s', 'key', 'placement'], ...TEXT_TABLE });
  for (const t of report.tables) {
    tables.push([`${t.schema}.${t.name}`, t.kind, t.estimatedRows === null ? '?' : t.estimatedRows.toLocaleString('en-US'), bytes(t.tableBytes), bytes(t.indexBytes),
      rate(t.activity?.readsPerSecond), rate(t.activity?.writesPerSecond), t.hasPrimaryKey ? 'yes' : 'no', t.placement]);
  }
  lines.push('Tables:', tables.toString(), '');
  lines.push(`Schema issues (${report.schemaIssues.issues.length}): ${report.schemaIssues.byCategory.map((c) => `${c.title} ${c.issues}`).join(', ')}`);
  for (const issue of report.schemaIssues.issues) lines.push(`  - ${issue.title}: ${issue.objectType} ${issue.objectName} (${issue.file}:${issue.line}). ${issue.suggestion}`);
  lines.push('', 'Live migration readiness:', renderReadinessReport(report.readiness), '');
  const q = report.queryStatistics;
  if (!q.available) {
    lines.push(`Query statistics: not captured: ${q.unavailableReason ?? ''}`);
  } else {
    lines.push(`Application statements using SQL the target lacks (${q.unsupportedConstructs.length}):`);
    for (const f of q.unsupportedConstructs) lines.push(`  - ${f.query.replace(/\s+/g, ' ')} (${f.calls} calls): ${f.issues.map((i) => `${i.title}. ${i.suggestion}`).join(' ')}`);
    lines.push('', `Statements with the most total execution time (all of them in ${q.file}):`);
    for (const t of q.top) lines.push(`  - ${t.totalExecMs.toFixed(1)} ms in ${t.calls} calls: ${t.query.replace(/\s+/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
