// What `godwit analyze-schema` does (loaded only when it runs): analyse the schema files, write the
// report, print the issue counts per category.
import Table from 'cli-table3';
import { writeSchemaAnalysis } from '../../schema/analyze/write-analysis-report.js';
import type { SchemaAnalysisFormat } from '../../reports/schema-analysis/render-report.js';
import { CATEGORY_TITLES } from '../../schema/analyze/analysis-types.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit analyze-schema` (the spec is in analyze-schema.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, settings, terminal } = context;
  if (exportDir === undefined || store === undefined) throw new Error('analyze-schema runs in an export directory');
  const format = (settings.options.string('output-format') ?? 'html') as SchemaAnalysisFormat;
  const { report, file } = await writeSchemaAnalysis(exportDir, format, undefined);
  const table = new Table({ head: ['category', 'issues'], style: { head: [], border: [] } });
  for (const count of report.summary.byCategory) {
    if (count.issues > 0) table.push([CATEGORY_TITLES[count.category], String(count.issues)]);
  }
  terminal.print(`analyze-schema: ${report.summary.totalIssues} issues in ${report.files.length} schema files.`);
  if (report.summary.totalIssues > 0) terminal.print(table.toString());
  terminal.print(`report: ${file}`);
  store.setPhaseStatus('analyze-schema', 'done', `${report.summary.totalIssues} issues`);
}
