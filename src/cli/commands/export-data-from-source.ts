// `godwit export data from source`: the consistent snapshot and, live, the change stream.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { EXCLUDE_TABLE_LIST, PARALLEL_JOBS, TABLE_LIST } from '../shared-options.js';

export const exportDataFromSource: CommandSpec = {
  words: ['export', 'data', 'from', 'source'],
  summary: 'export a consistent snapshot of the source and (live) stream every later change',
  description:
    'Reads every selected table under one consistent snapshot into data/, then with snapshot-and-changes streams ' +
    'every later change of the source into the durable change queue data/queue/, printing the export metrics table.',
  options: [
    {
      name: 'export-type',
      kind: { type: 'enum', choices: ['snapshot-only', 'snapshot-and-changes'] },
      valueName: 'TYPE',
      default: 'snapshot-only',
      description: 'snapshot-only (offline copy) or snapshot-and-changes (live migration)',
    },
    {
      name: 'snapshot-format',
      kind: { type: 'enum', choices: ['auto', 'text'] },
      valueName: 'FORMAT',
      default: 'auto',
      description:
        'auto: COPY binary for tables whose column types all allow it, text for the others; text: COPY text for every table ' +
        '(needed when target columns get other types than the source\'s); decided when the export is planned',
    },
    PARALLEL_JOBS,
    TABLE_LIST,
    EXCLUDE_TABLE_LIST,
  ],
  databases: ['source'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run: lazyRun(() => import('./export-data-from-source.run.js')),
};
