// What `godwit get data-migration-report` does (loaded only when it runs): read the store, print the
// report as a table or JSON.
import { dataMigrationReportFromStore } from '../../reports/data-migration/read-report-input.js';
import { renderReportJson, renderReportTable } from '../../reports/data-migration/render-report.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit get data-migration-report` (the spec is in get-data-migration-report.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal } = context;
  if (store === undefined) throw new Error('get data-migration-report runs in an export directory');
  const report = dataMigrationReportFromStore(store);
  terminal.print(settings.options.string('output-format') === 'json' ? renderReportJson(report) : renderReportTable(report));
  return Promise.resolve();
}
