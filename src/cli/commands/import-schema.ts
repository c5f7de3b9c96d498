// `godwit import schema`: creates the exported schema on the target, in dependency order.
import type { CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

export const importSchema: CommandSpec = {
  words: ['import', 'schema'],
  summary: 'apply the exported schema to the target in dependency order',
  description:
    'Applies the schema files to the target in dependency order. NOT VALID constraints (and what is faster to build ' +
    'after the data load) are held back for finalize-schema-post-data-import.',
  options: [
    booleanOption('ignore-exist', 'skip objects that already exist on the target (re-run after a failure)', false),
    booleanOption('continue-on-error', 'keep going past failed statements and list them in a report', false),
    {
      name: 'object-type-list',
      kind: { type: 'word-list' },
      valueName: 'LIST',
      description: 'only these object types (comma-separated: table,index,...)',
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
};
