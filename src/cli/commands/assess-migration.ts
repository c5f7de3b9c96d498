// `godwit assess-migration`: what moving this source will take, before anything is changed.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const assessMigration: CommandSpec = {
  words: ['assess-migration'],
  summary: 'assess the source: objects, sizes, rates, unsupported features, sizing advice',
  description:
    'Reads the source database (objects, sizes, row counts, read/write rates sampled over the capture interval, ' +
    'unsupported features, query statistics) and writes assessment/reports/migration_assessment_report.{html,json} ' +
    'with complexity, sizing and colocation/sharding recommendations for a YugabyteDB target.',
  options: [
    {
      name: 'iops-capture-interval',
      kind: { type: 'int', min: 0, max: 86_400 },
      valueName: 'SECONDS',
      default: 120,
      description: 'how long to sample read/write rates on the source',
    },
  ],
  databases: ['source'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run: lazyRun(() => import('./assess-migration.run.js')),
};
