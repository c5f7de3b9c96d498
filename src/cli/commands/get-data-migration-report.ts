// `godwit get data-migration-report`: rows and changes moved, per table, in every direction.
import { dataMigrationReportFromStore } from '../../reports/data-migration/read-report-input.js';
import { renderReportJson, renderReportTable } from '../../reports/data-migration/render-report.js';
import type { CommandContext } from '../command-context.js';
import type { CommandSpec } from '../command-spec.js';
import { TABLE_OR_JSON } from '../shared-options.js';

async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal } = context;
  if (store === undefined) throw new Error('get data-migration-report runs in an export directory');
  const report = dataMigrationReportFromStore(store);
  terminal.print(settings.options.string('output-format') === 'json' ? renderReportJson(report) : renderReportTable(report));
  return Promise.resolve();
}

export const getDataMigrationReport: CommandSpec = {
  words: ['get', 'data-migration-report'],
  summary: 'per table: snapshot rows and inserts/updates/deletes exported and imported',
  description:
    'Prints, per table and for the whole database, the snapshot rows exported and imported, the inserts, updates and ' +
    'deletes exported and imported in each direction, and the final row count.',
  options: [TABLE_OR_JSON],
  databases: [],
  needsExportDir: true,
  exclusive: false,
  ownsState: false,
  run,
};
