// `godwit analyze-schema`: which exported DDL needs changes before it can go to the target.
import Table from 'cli-table3';
import { writeSchemaAnalysis } from '../../schema/analyze/write-analysis-report.js';
import type { SchemaAnalysisFormat } from '../../reports/schema-analysis/render-report.js';
import { CATEGORY_TITLES } from '../../schema/analyze/analysis-types.js';
import type { CommandContext } from '../command-context.js';
import type { CommandSpec } from '../command-spec.js';

async function run(context: CommandContext): Promise<void> {
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

export const analyzeSchemaCommand: CommandSpec = {
  words: ['analyze-schema'],
  summary: 'report DDL that needs changes for the target, with a suggestion for each issue',
  description:
    'Analyses the exported schema files and reports every statement that the target does not support or that live ' +
    'migration cannot stream, with category, object, reason and suggestion, in reports/schema_analysis_report.<format>.',
  options: [
    {
      name: 'output-format',
      kind: { type: 'enum', choices: ['html', 'json', 'txt', 'xml'] },
      valueName: 'FORMAT',
      default: 'html',
      description: 'report format: html, json, txt or xml',
    },
  ],
  databases: [],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run,
};
