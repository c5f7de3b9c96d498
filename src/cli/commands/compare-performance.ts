// `godwit compare-performance`: the same queries, before and after, side by side.
import type { CommandSpec } from '../command-spec.js';

export const comparePerformance: CommandSpec = {
  words: ['compare-performance'],
  summary: "compare the source's query statistics from assessment with the target's pg_stat_statements",
  description: 'Compares query statistics captured at assessment with those of the target and writes HTML and JSON reports.',
  options: [],
  databases: ['target'],
  needsExportDir: true,
  exclusive: true,
  ownsState: false,
};
