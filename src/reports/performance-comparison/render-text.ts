// The terminal view of the performance comparison: one summary line and a table of the statements
// that matter most (the source's most total execution time first); the reports hold the rest.
import Table from 'cli-table3';
import type { PerformanceComparison } from '../../assess/compare-queries.js';
import { formatMs, formatRatio, shortenStatement } from './format-numbers.js';

/** Statements the terminal table shows. */
export const TERMINAL_TABLE_ROWS = 10;
/** Characters of a statement's text the terminal table shows. */
const STATEMENT_WIDTH = 60;

/** The counts in one line: matched, slower, faster, only-source, only-target. */
export function performanceSummaryLine(c: PerformanceComparison): string {
  const s = c.summary;
  return `compare-performance: ${s.matched} statements on both sides (${s.slower} slower, ${s.faster} faster, ${s.similar} similar on the target), ` +
    `${s.onlySource} only on the source, ${s.onlyTarget} only on the target.`;
}

/** The top matched statements as a table for the terminal, or undefined when none matched. */
export function renderPerformanceTable(c: PerformanceComparison, rows = TERMINAL_TABLE_ROWS): string | undefined {
  if (c.matched.length === 0) return undefined;
  const table = new Table({
    head: ['#', 'statement', 'source calls', 'source mean ms', 'target calls', 'target mean ms', 'target/source', 'verdict'],
    style: { head: [], border: [] },
  });
  c.matched.slice(0, rows).forEach((m, i) => {
    table.push([String(i + 1), shortenStatement(m.query, STATEMENT_WIDTH), String(m.source.calls), formatMs(m.source.meanExecMs),
      String(m.target.calls), formatMs(m.target.meanExecMs), formatRatio(m.meanRatio), m.verdict]);
  });
  return table.toString();
}

/** The whole comparison as a text report: the summary, every matched statement, then those of one side only. */
export function renderPerformanceComparisonText(c: PerformanceComparison): string {
  const lines = [
    'Performance comparison report',
    `generated ${c.generatedAt}; source ${c.source.database} (${c.source.serverVersion}, captured ${c.source.capturedAt}); target ${c.target.database} (${c.target.serverVersion}, captured ${c.target.capturedAt})`,
    `slower or faster: one mean more than ${c.thresholds.meanRatio} times the other's and more than ${c.thresholds.minDifferenceMs} ms apart`,
    '',
    performanceSummaryLine(c),
  ];
  const matched = renderPerformanceTable(c, c.matched.length);
  if (matched !== undefined) lines.push('', `Statements on both sides (the source's most total time first; cut to ${STATEMENT_WIDTH} characters here, whole in the HTML and JSON reports):`, matched);
  for (const [title, statements] of [['Only on the source', c.onlySource], ['Only on the target', c.onlyTarget]] as const) {
    lines.push('', `${title} (${statements.length}):`);
    for (const s of statements) lines.push(`  ${s.timing.calls} calls, mean ${formatMs(s.timing.meanExecMs)} ms: ${s.query.replace(/\s+/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
