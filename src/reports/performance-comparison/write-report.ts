// Writes the performance comparison's two reports into the export directory's reports/ folder,
// each whole or not at all (`.partial`, then rename), replacing those of an earlier run.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PerformanceComparison } from '../../assess/compare-queries.js';
import type { ExportDir } from '../../state/export-dir.js';
import { renderPerformanceComparisonHtml } from './render-html.js';
import { renderPerformanceComparisonJson } from './render-json.js';

/** The reports' file name without extension, inside reports/. */
export const PERFORMANCE_COMPARISON_REPORT = 'performance_comparison_report';

/** Writes `reports/performance_comparison_report.{html,json}` and returns their paths. */
export function writePerformanceComparison(dir: ExportDir, comparison: PerformanceComparison): { html: string; json: string } {
  const html = join(dir.reportsDir, `${PERFORMANCE_COMPARISON_REPORT}.html`);
  const json = join(dir.reportsDir, `${PERFORMANCE_COMPARISON_REPORT}.json`);
  writeWhole(json, renderPerformanceComparisonJson(comparison));
  writeWhole(html, renderPerformanceComparisonHtml(comparison));
  return { html, json };
}

function writeWhole(file: string, text: string): void {
  const partial = `${file}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, file);
}
