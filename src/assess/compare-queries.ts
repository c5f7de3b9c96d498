// The comparison behind `compare-performance`: the source's query statistics (captured at
// assessment) and the target's, statement by statement. Pure: two captures in, the report's data out
// (its JSON is the JSON report, so field names are stable and `reportVersion` says which shape).
//
// Statements are matched by their normalised text. pg_stat_statements already replaces constants by
// $1, $2... the same way on PostgreSQL 10 to 17, so the same application statement has the same text
// on both sides up to whitespace and a trailing semicolon; queryids differ between servers and are
// never used.

import type { QueryStatistic, QueryStatisticsCapture } from './query-statistics-types.js';

/** A statement is slower (or faster) on the target when one side's mean is more than this many times the other's... */
export const VERDICT_MEAN_RATIO = 1.5;
/** ...and the means differ by more than this many milliseconds (sub-millisecond changes are noise, whatever the ratio). */
export const VERDICT_MIN_DIFFERENCE_MS = 1;

/** How a statement's mean execution time on the target compares with the source's. */
export type PerformanceVerdict = 'slower' | 'faster' | 'similar';

/** One side's numbers for one statement (all its pg_stat_statements entries added up). */
export type StatementTiming = Omit<QueryStatistic, 'queryId' | 'query'>;

/** A statement run on both sides. */
export interface ComparedStatement {
  /** The normalised text (whitespace collapsed, no trailing semicolon). */
  query: string;
  source: StatementTiming;
  target: StatementTiming;
  /** Target mean / source mean; null when the source's mean is 0. */
  meanRatio: number | null;
  /** Target mean - source mean, in milliseconds (negative: faster on the target). */
  meanDifferenceMs: number;
  verdict: PerformanceVerdict;
}

/** A statement seen on one side only. */
export interface OneSidedStatement {
  query: string;
  timing: StatementTiming;
}

/** Which server a side's numbers come from. */
export interface ComparedSide {
  database: string;
  serverVersion: string;
  capturedAt: string;
  /** Statements in that side's capture (after merging equal texts). */
  statements: number;
}

/** The performance comparison report; its JSON form is the JSON report. */
export interface PerformanceComparison {
  reportVersion: 1;
  generatedAt: string;
  source: ComparedSide;
  target: ComparedSide;
  thresholds: { meanRatio: number; minDifferenceMs: number };
  summary: { matched: number; slower: number; faster: number; similar: number; onlySource: number; onlyTarget: number };
  /** Statements on both sides, the source's most total execution time first (the ones that matter most). */
  matched: ComparedStatement[];
  /** Statements the target has not run yet (or not since its statistics were reset), source's total time first. */
  onlySource: OneSidedStatement[];
  /** Statements only the target ran (new code paths, or tools), target's total time first. */
  onlyTarget: OneSidedStatement[];
}

/** The text two captures are matched on: whitespace runs collapsed to one space, trimmed, trailing semicolons dropped. */
export function normaliseStatementText(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/(?:\s*;)+$/, '');
}

/** The verdict for two means, by VERDICT_MEAN_RATIO and VERDICT_MIN_DIFFERENCE_MS. */
export function performanceVerdict(sourceMeanMs: number, targetMeanMs: number): PerformanceVerdict {
  const difference = targetMeanMs - sourceMeanMs;
  if (difference > VERDICT_MIN_DIFFERENCE_MS && targetMeanMs > sourceMeanMs * VERDICT_MEAN_RATIO) return 'slower';
  if (-difference > VERDICT_MIN_DIFFERENCE_MS && sourceMeanMs > targetMeanMs * VERDICT_MEAN_RATIO) return 'faster';
  return 'similar';
}

/** Puts the source's and the target's statements side by side; both captures must be available. */
export function compareQueryStatistics(source: QueryStatisticsCapture, target: QueryStatisticsCapture, generatedAt = new Date().toISOString()): PerformanceComparison {
  const sourceByText = timingsByText(source.statistics);
  const targetByText = timingsByText(target.statistics);
  const matched: ComparedStatement[] = [];
  const onlySource: OneSidedStatement[] = [];
  for (const [query, sourceTiming] of sourceByText) {
    const targetTiming = targetByText.get(query);
    if (targetTiming === undefined) {
      onlySource.push({ query, timing: sourceTiming });
      continue;
    }
    matched.push({
      query,
      source: sourceTiming,
      target: targetTiming,
      meanRatio: sourceTiming.meanExecMs > 0 ? targetTiming.meanExecMs / sourceTiming.meanExecMs : null,
      meanDifferenceMs: targetTiming.meanExecMs - sourceTiming.meanExecMs,
      verdict: performanceVerdict(sourceTiming.meanExecMs, targetTiming.meanExecMs),
    });
  }
  const onlyTarget = [...targetByText].filter(([query]) => !sourceByText.has(query)).map(([query, timing]) => ({ query, timing }));
  matched.sort((a, b) => b.source.totalExecMs - a.source.totalExecMs);
  onlySource.sort((a, b) => b.timing.totalExecMs - a.timing.totalExecMs);
  onlyTarget.sort((a, b) => b.timing.totalExecMs - a.timing.totalExecMs);
  const count = (verdict: PerformanceVerdict): number => matched.filter((m) => m.verdict === verdict).length;
  return {
    reportVersion: 1,
    generatedAt,
    source: sideOf(source, sourceByText.size),
    target: sideOf(target, targetByText.size),
    thresholds: { meanRatio: VERDICT_MEAN_RATIO, minDifferenceMs: VERDICT_MIN_DIFFERENCE_MS },
    summary: {
      matched: matched.length,
      slower: count('slower'),
      faster: count('faster'),
      similar: count('similar'),
      onlySource: onlySource.length,
      onlyTarget: onlyTarget.length,
    },
    matched,
    onlySource,
    onlyTarget,
  };
}

function sideOf(capture: QueryStatisticsCapture, statements: number): ComparedSide {
  return { database: capture.database, serverVersion: capture.serverVersion, capturedAt: capture.capturedAt, statements };
}

/**
 * One timing per normalised text: entries whose texts differ only in whitespace (or that the server
 * kept apart, e.g. under different search paths) are added up, the mean weighted by calls.
 */
function timingsByText(statistics: readonly QueryStatistic[]): Map<string, StatementTiming> {
  const byText = new Map<string, StatementTiming>();
  for (const s of statistics) {
    const query = normaliseStatementText(s.query);
    const seen = byText.get(query);
    if (seen === undefined) {
      byText.set(query, { calls: s.calls, rows: s.rows, totalExecMs: s.totalExecMs, meanExecMs: s.meanExecMs, minExecMs: s.minExecMs, maxExecMs: s.maxExecMs });
      continue;
    }
    const calls = seen.calls + s.calls;
    const totalExecMs = seen.totalExecMs + s.totalExecMs;
    byText.set(query, {
      calls,
      rows: seen.rows + s.rows,
      totalExecMs,
      meanExecMs: calls > 0 ? totalExecMs / calls : 0,
      minExecMs: Math.min(seen.minExecMs, s.minExecMs),
      maxExecMs: Math.max(seen.maxExecMs, s.maxExecMs),
    });
  }
  return byText;
}
