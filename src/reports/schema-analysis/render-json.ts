// JSON rendering of the schema analysis: the report data as-is (field names documented in
// src/schema/analyze/analysis-types.ts), pretty-printed, stable key order.
import type { SchemaAnalysisReport } from '../../schema/analyze/analysis-types.js';

/** Renders the report as JSON for tools and colleagues' scripts. */
export function renderSchemaAnalysisJson(report: SchemaAnalysisReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
