// Plain-text rendering of the schema analysis, for terminals and e-mail.
import { CATEGORY_TITLES, ISSUE_CATEGORIES, type SchemaAnalysisReport } from '../../schema/analyze/analysis-types.js';

function indent(text: string, prefix: string): string {
  return text.split('\n').map((l) => prefix + l).join('\n');
}

/** Renders the report as plain text: summary, then issues grouped by category. */
export function renderSchemaAnalysisText(report: SchemaAnalysisReport): string {
  const out: string[] = [];
  out.push(`Schema analysis report (target: ${report.target})`, `Generated: ${report.generatedAt}`, `Files: ${report.files.join(', ')}`, '');
  out.push(`Total issues: ${report.summary.totalIssues}`, '', 'Issues by category:');
  for (const c of report.summary.byCategory) out.push(`  ${c.title.padEnd(32)} ${c.issues}`);
  out.push('', 'Objects:', `  ${'object type'.padEnd(20)} ${'total'.padStart(6)} ${'with issues'.padStart(12)} ${'issues'.padStart(7)}`);
  for (const o of report.summary.byObjectType) {
    out.push(`  ${o.objectType.padEnd(20)} ${String(o.totalObjects).padStart(6)} ${String(o.objectsWithIssues).padStart(12)} ${String(o.issues).padStart(7)}`);
  }
  for (const category of ISSUE_CATEGORIES) {
    const issues = report.issues.filter((i) => i.category === category);
    if (issues.length === 0) continue;
    out.push('', `== ${CATEGORY_TITLES[category]} (${issues.length}) ==`);
    for (const i of issues) {
      out.push('', `[${i.type}] ${i.title}`, `  ${i.objectType}: ${i.objectName}`, `  file: ${i.file}, line ${i.line}`, `  reason: ${i.reason}`, `  suggestion: ${i.suggestion}`);
      if (i.docsLink !== undefined) out.push(`  docs: ${i.docsLink}`);
      out.push('  sql:', indent(i.sql, '    '));
    }
  }
  return `${out.join('\n')}\n`;
}
