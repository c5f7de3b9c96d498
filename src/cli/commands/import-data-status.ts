// `godwit import data status`: how far the import has come, per table.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { TABLE_OR_JSON } from '../shared-options.js';

export const importDataStatus: CommandSpec = {
  words: ['import', 'data', 'status'],
  summary: 'show the progress of the data import per table',
  description: 'Prints the state and imported row counts of every table of the data import.',
  options: [TABLE_OR_JSON],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./import-data-status.run.js')),
};
