// What `godwit compare-performance` does (loaded only when it runs): the source's query statistics
// from the assessment, the target's from its pg_stat_statements now, compared, written as reports
// and summed up on the terminal.
import { compareQueryStatistics } from '../../assess/compare-queries.js';
import { queryStatisticsFile, readQueryStatistics, readQueryStatisticsCapture } from '../../assess/query-statistics.js';
import type { QueryStatisticsCapture } from '../../assess/query-statistics-types.js';
import { NotReadyError, StateError } from '../../core/errors.js';
import { performanceSummaryLine, renderPerformanceTable } from '../../reports/performance-comparison/render-text.js';
import { writePerformanceComparison } from '../../reports/performance-comparison/write-report.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit compare-performance` (the spec is in compare-performance.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('compare-performance runs in an export directory');
  // The source's capture first: without an assessment there is nothing to compare, so no connection.
  const source = readQueryStatisticsCapture(queryStatisticsFile(exportDir));
  if (!source.available) {
    throw new StateError(`assess-migration found no query statistics on the source (database ${source.database}): ${source.unavailableReason ?? 'no reason recorded'}`, {
      hint: 'Fix that on the source and let the application run there for a while, then run `godwit assess-migration` again and this command after it.',
    });
  }
  const target = await readTargetStatistics(context);
  if (!target.available) {
    throw new NotReadyError(`pg_stat_statements cannot be read on the target (database ${target.database}): ${target.unavailableReason ?? 'no reason given'}`, {
      hint: 'Then run the application (or its test workload) against the target for a while and run `godwit compare-performance` again.',
    });
  }
  const comparison = compareQueryStatistics(source, target);
  const files = writePerformanceComparison(exportDir, comparison);
  logger.info('performance compared', { summary: comparison.summary });
  terminal.print(performanceSummaryLine(comparison));
  const table = renderPerformanceTable(comparison);
  if (table !== undefined) terminal.print(table);
  terminal.print(`reports: ${files.html}`);
  terminal.print(`         ${files.json}`);
  terminal.print(`         ${files.text}`);
  const s = comparison.summary;
  store.setPhaseStatus('compare-performance', 'done', `${s.matched} matched, ${s.slower} slower, ${s.faster} faster, ${s.onlySource} only on source, ${s.onlyTarget} only on target`);
}

async function readTargetStatistics(context: CommandContext): Promise<QueryStatisticsCapture> {
  const connection = await context.connect('target');
  try {
    return await readQueryStatistics(connection.client, {
      database: connection.settings.database,
      serverVersion: connection.server.versionString,
      serverMajor: connection.server.major,
    });
  } finally {
    await connection.client.end();
  }
}
