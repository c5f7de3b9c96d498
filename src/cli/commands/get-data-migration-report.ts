// `godwit get data-migration-report`: rows and changes moved, per table, in every direction.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { TABLE_OR_JSON } from '../shared-options.js';

export const getDataMigrationReport: CommandSpec = {
  words: ['get', 'data-migration-report'],
  summary: 'per table: snapshot rows and inserts/updates/deletes exported and imported',
  description:
    'Prints, per table and for the whole database, the snapshot rows exported and imported, the inserts, updates and ' +
    'deletes exported and imported in each direction, and the final row count.',
  options: [TABLE_OR_JSON],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./get-data-migration-report.run.js')),
};
