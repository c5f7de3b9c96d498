// `godwit get data-migration-report`: rows and changes moved, per table, in every direction.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const getDataMigrationReport: CommandSpec = {
  words: ['get', 'data-migration-report'],
  summary: 'per table: snapshot rows and inserts/updates/deletes exported and imported',
  description:
    'Prints, per table and for the whole database, the snapshot rows exported and imported, the inserts, updates and ' +
    'deletes exported and imported in each direction, the final row count and the cutover history. With ' +
    '--output-format html it writes reports/data_migration_report.html, a page to hand to colleagues.',
  options: [
    {
      name: 'output-format',
      kind: { type: 'enum', choices: ['table', 'json', 'html'] },
      valueName: 'FORMAT',
      default: 'table',
      description: 'table (for people), json (for scripts) or html (a file in reports/)',
    },
  ],
  databases: [],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./get-data-migration-report.run.js')),
};
