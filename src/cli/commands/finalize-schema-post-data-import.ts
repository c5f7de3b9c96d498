// `godwit finalize-schema-post-data-import`: what import schema held back until the data was in.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

export const finalizeSchemaPostDataImport: CommandSpec = {
  words: ['finalize-schema-post-data-import'],
  summary: 'add the held-back NOT VALID constraints and refresh materialized views',
  description:
    'Adds what import schema held back (NOT VALID constraints, added NOT VALID as on the source) and with --refresh-mviews true ' +
    'refreshes materialized views in dependency order. Re-runnable: what already exists is skipped.',
  options: [booleanOption('refresh-mviews', 'refresh materialized views on the target', false)],
  databases: ['target'],
  needsExportDir: true,
  exclusive: true,
  ownsState: false,
  run: lazyRun(() => import('./finalize-schema-post-data-import.run.js')),
};
