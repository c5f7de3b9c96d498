// `godwit export schema`: the source schema as files the user can read and edit.
import type { CommandSpec } from '../command-spec.js';

export const exportSchema: CommandSpec = {
  words: ['export', 'schema'],
  summary: 'dump the source schema (pg_dump) and split it into schema/<object type>/*.sql',
  description:
    'Dumps the schema of the selected source schemas with pg_dump and splits it with the PostgreSQL parser ' +
    'into one folder per object type under schema/, recording tables, keys, partitions and sequences for later phases.',
  options: [],
  databases: ['source'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
};
