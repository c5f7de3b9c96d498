// `godwit demo`: the whole workflow on two embedded servers with a live workload.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

export const demo: CommandSpec = {
  words: ['demo'],
  summary: 'run the whole workflow on two embedded PostgreSQL servers with a live workload',
  description:
    'Starts an embedded PostgreSQL 15 source and 17 target, creates a sample shop application with data, keeps it ' +
    'writing to whichever side is primary, and drives every step of the migration with the real commands: schema, ' +
    'snapshot and changes, cutover to target with fall-back, the application on the target, cutover to source, end ' +
    'migration. Both databases are compared table by table at each cutover; any difference fails the demo (exit status 1).',
  options: [
    {
      name: 'stream-seconds',
      kind: { type: 'int', min: 1, max: 3600 },
      valueName: 'SECONDS',
      default: 15,
      description: 'how long the application writes while changes stream, on each side',
    },
    booleanOption('keep-files', 'keep the servers\' data and the export directory for a look afterwards', false),
  ],
  databases: [],
  needsExportDir: false,
  exclusive: false,
  ownsState: false,
  run: lazyRun(() => import('./demo.run.js')),
};
