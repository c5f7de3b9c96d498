// Writes the performance comparison's three reports into the export directory's reports/ folder,
// each whole or not at all (`.partial`, then rename), replacing those of an earlier run.
import { join } from 'node:path';
import type { PerformanceComparison } from '../../assess/compare-queries.js';
import type { ExportDir } from '../../state/export-dir.js';
import { renderPerformanceComparisonHtml } from './render-html.js';
import { renderPerformanceComparisonJson } from './render-json.js';
import { renderPerformanceComparisonText } from './render-text.js';
import { writeReportFile } from '../write-report-file.js';

/** The reports' file name without extension, inside reports/. */
export const PERFORMANCE_COMPARISON_REPORT = 'performance_comparison_report';

/** Writes `reports/performance_comparison_report.{html,json,txt}` and returns their paths. */
export function writePerformanceComparison(dir: ExportDir, comparison: PerformanceComparison): { html: string; json: string; text: string } {
  const html = join(dir.reportsDir, `${PERFORMANCE_COMPARISON_REPORT}.html`);
  const json = join(dir.reportsDir, `${PERFORMANCE_COMPARISON_REPORT}.json`);
  const text = join(dir.reportsDir, `${PERFORMANCE_COMPARISON_REPORT}.txt`);
  writeReportFile(json, renderPerformanceComparisonJson(comparison));
  writeReportFile(html, renderPerformanceComparisonHtml(comparison));
  writeReportFile(text, renderPerformanceComparisonText(comparison));
  return { html, json, text };
}
