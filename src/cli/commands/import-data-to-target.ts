// `godwit import data to target`: loads the snapshot, then applies the change stream exactly once.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { EXCLUDE_TABLE_LIST, PARALLEL_JOBS, TABLE_LIST, booleanOption } from '../shared-options.js';

export const importDataToTarget: CommandSpec = {
  words: ['import', 'data', 'to', 'target'],
  summary: 'load the snapshot into the target, then apply the change stream continuously',
  description:
    'Loads the exported snapshot in parallel batches, each committed with its bookkeeping so a restart loads every row ' +
    'exactly once, then applies the change stream, printing the import metrics table.',
  options: [
    PARALLEL_JOBS,
    {
      name: 'batch-size',
      kind: { type: 'int', min: 1, max: 10_000_000 },
      valueName: 'ROWS',
      default: 20_000,
      description: 'rows per snapshot batch (one transaction each)',
    },
    TABLE_LIST,
    EXCLUDE_TABLE_LIST,
    booleanOption('truncate-tables', 'truncate the target tables before loading (with --start-clean)', false),
  ],
  databases: ['target'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run: lazyRun(() => import('./import-data-to-target.run.js')),
};
