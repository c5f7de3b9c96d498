// `godwit export schema`: the source schema as files the user can read and edit.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const exportSchemaCommand: CommandSpec = {
  words: ['export', 'schema'],
  summary: 'dump the source schema (pg_dump) and split it into schema/<object type>/*.sql',
  description:
    'Dumps the schema of the selected source schemas with pg_dump (without owners and grants) and splits it with the ' +
    'PostgreSQL parser into one folder per object type under schema/, keeping the raw dump in temp/ and recording ' +
    "tables, keys, partitions and sequences in the migration store for the data phases. pg_dump must be at least the " +
    "source server's major version.",
  options: [],
  databases: ['source'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run: lazyRun(() => import('./export-schema.run.js')),
};
