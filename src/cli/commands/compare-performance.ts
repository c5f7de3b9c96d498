// `godwit compare-performance`: the same queries, before and after, side by side.
import { lazyRun, type CommandSpec } from '../command-spec.js';

export const comparePerformance: CommandSpec = {
  words: ['compare-performance'],
  summary: "compare the source's query statistics from assessment with the target's pg_stat_statements",
  description:
    'Compares the query statistics `assess-migration` captured on the source (assessment/metadata/query_statistics.json) ' +
    "with the target's pg_stat_statements, statement by statement, and writes reports/performance_comparison_report.{html,json}. " +
    'The target needs pg_stat_statements loaded (shared_preload_libraries) and created in its database, and the application run against it.',
  options: [],
  databases: ['target'],
  needsExportDir: true,
  existingExportDir: true,
  exclusive: true,
  ownsState: false,
  run: lazyRun(() => import('./compare-performance.run.js')),
};
