// `godwit import schema`: creates the exported schema on the target, in dependency order.
import { lazyRun, type CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

export const importSchemaCommand: CommandSpec = {
  words: ['import', 'schema'],
  summary: 'apply the exported schema to the target in dependency order',
  description:
    'Applies the schema files to the target in dependency order (pg_dump order, kept across the per-type files). NOT VALID ' +
    'constraints are held back for finalize-schema-post-data-import. Every file is parsed before anything is applied.',
  options: [
    booleanOption('ignore-exist', 'skip objects that already exist on the target (re-run after a failure)', false),
    booleanOption('continue-on-error', 'keep going past failed statements and list them in reports/schema_import_failures.sql', false),
    {
      name: 'object-type-list',
      kind: { type: 'word-list' },
      valueName: 'LIST',
      description: 'only these object types (comma-separated: table,index,foreign-key,...)',
    },
    {
      name: 'exclude-object-type-list',
      kind: { type: 'word-list' },
      valueName: 'LIST',
      description: 'leave out these object types',
    },
  ],
  databases: ['target'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run: lazyRun(() => import('./import-schema.run.js')),
};
