// `godwit demo`: the whole workflow on two embedded servers with a live workload.
import type { CommandSpec } from '../command-spec.js';

export const demo: CommandSpec = {
  words: ['demo'],
  summary: 'run the whole workflow on two embedded PostgreSQL servers with a live workload',
  description: 'Starts an embedded PostgreSQL 15 source and 17 target, a workload, and drives every step of the migration.',
  options: [],
  databases: [],
  needsExportDir: false,
  exclusive: false,
  ownsState: false,
};
