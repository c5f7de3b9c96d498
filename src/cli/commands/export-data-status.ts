// `godwit export data status`: how far the export has come, per table.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { TABLE_OR_JSON } from '../shared-options.js';

export const exportDataStatus: CommandSpec = {
  words: ['export', 'data', 'status'],
  summary: 'show the progress of the data export per table',
  description: 'Prints the state and exported row counts of every table of the data export.',
  options: [TABLE_OR_JSON],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./export-data-status.run.js')),
};
