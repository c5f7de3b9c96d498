// What `godwit import data status` does (loaded only when it runs): read the store, print the
// import status as a table or JSON.
import { renderImportStatusJson, renderImportStatusTable } from '../../reports/data-migration/render-report.js';
import { importStatusFromStore } from '../../reports/data-migration/read-report-input.js';
import { IMPORT_DATA_PHASE } from '../../snapshot/import/import-phase.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit import data status` (the spec is in import-data-status.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, settings, terminal } = context;
  if (store === undefined) throw new Error('import data status runs in an export directory');
  const status = importStatusFromStore(store, IMPORT_DATA_PHASE);
  terminal.print(settings.options.string('output-format') === 'json' ? renderImportStatusJson(status) : renderImportStatusTable(status));
  return Promise.resolve();
}
