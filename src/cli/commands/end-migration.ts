// `godwit end migration`: removes everything godwit created, after backing up what was asked.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

export const endMigration: CommandSpec = {
  words: ['end', 'migration'],
  summary: "back up what is asked, then remove godwit's slots, publications, metadata and the export directory",
  description:
    "Backs up the schema files, data files, reports and logs as asked, then removes godwit's replication slots, " +
    'publications and bookkeeping schemas on both databases and the contents of the export directory. godwit commands ' +
    'still running for the export directory are stopped first; it asks for confirmation (--yes on scripts). Run it ' +
    'again after a failure: every step can be repeated.',
  options: [
    booleanOption('backup-schema-files', 'copy schema/ to the backup directory'),
    booleanOption('backup-data-files', 'copy data/ to the backup directory'),
    booleanOption('save-migration-reports', 'save the reports to the backup directory'),
    booleanOption('backup-log-files', 'copy logs/ to the backup directory'),
    { name: 'backup-dir', kind: { type: 'path' }, valueName: 'DIR', description: 'where backups go (needed when any backup is true)' },
  ],
  databases: ['source', 'target'],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: true,
  ownsState: false,
  run: lazyRun(() => import('./end-migration.run.js')),
};
