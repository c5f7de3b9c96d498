// `godwit import data status`: how far the import has come, per table.
import { renderImportStatusJson, renderImportStatusTable } from '../../reports/data-migration/render-report.js';
import { importStatusFromStore } from '../../reports/data-migration/read-report-input.js';
import { IMPORT_DATA_PHASE } from '../../snapshot/import/import-data.js';
import type { CommandContext } from '../command-context.js';
import type { CommandSpec } from '../command-spec.js';
import { TABLE_OR_JSON } from '../shared-options.js';

async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal } = context;
  if (store === undefined) throw new Error('import data status runs in an export directory');
  const status = importStatusFromStore(store, IMPORT_DATA_PHASE);
  terminal.print(settings.options.string('output-format') === 'json' ? renderImportStatusJson(status) : renderImportStatusTable(status));
  return Promise.resolve();
}

export const importDataStatus: CommandSpec = {
  words: ['import', 'data', 'status'],
  summary: 'show the progress of the data import per table',
  description: 'Prints the state and imported row counts of every table of the data import.',
  options: [TABLE_OR_JSON],
  databases: [],
  needsExportDir: true,
  exclusive: false,
  ownsState: false,
  run,
};
