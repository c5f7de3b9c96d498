// What `godwit get data-migration-report` does (loaded only when it runs): read the store, print the
// report as a table or JSON.
import { dataMigrationReportFromStore } from '../../reports/data-migration/read-report-input.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderReportHtml } from '../../reports/data-migration/render-html.js';
import { renderReportJson, renderReportTable } from '../../reports/data-migration/render-report.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit get data-migration-report` (the spec is in get-data-migration-report.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal, exportDir } = context;
  if (store === undefined || exportDir === undefined) throw new Error('get data-migration-report runs in an export directory');
  const report = dataMigrationReportFromStore(store);
  const format = settings.options.string('output-format');
  if (format === 'html') {
    const file = join(exportDir.reportsDir, 'data_migration_report.html');
    writeFileSync(file, renderReportHtml(report, new Date().toISOString()));
    terminal.print(`data migration report: ${file}`);
  } else {
    terminal.print(format === 'json' ? renderReportJson(report) : renderReportTable(report));
  }
  return Promise.resolve();
}
