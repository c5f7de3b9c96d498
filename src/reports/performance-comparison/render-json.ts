// JSON rendering of the performance comparison: the comparison as-is (field names documented in
// src/assess/compare-queries.ts, shape versioned by `reportVersion`), pretty-printed.
import type { PerformanceComparison } from '../../assess/compare-queries.js';

/** Renders the comparison as JSON for tools and colleagues' scripts. */
export function renderPerformanceComparisonJson(comparison: PerformanceComparison): string {
  return `${JSON.stringify(comparison, null, 2)}\n`;
}
