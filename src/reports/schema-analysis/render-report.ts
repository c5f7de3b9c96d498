// Picks the renderer for an --output-format value and names the report file, so the command
// writes `reports/schema_analysis_report.<fmt>` without knowing the formats.
import type { SchemaAnalysisReport } from '../../schema/analyze/analysis-types.js';
import { renderSchemaAnalysisHtml } from './render-html.js';
import { renderSchemaAnalysisJson } from './render-json.js';
import { renderSchemaAnalysisText } from './render-txt.js';
import { renderSchemaAnalysisXml } from './render-xml.js';

export const SCHEMA_ANALYSIS_FORMATS = ['html', 'json', 'txt', 'xml'] as const;
export type SchemaAnalysisFormat = (typeof SCHEMA_ANALYSIS_FORMATS)[number];

/** Renders the report in one of the four formats. */
export function renderSchemaAnalysis(report: SchemaAnalysisReport, format: SchemaAnalysisFormat): string {
  switch (format) {
    case 'html':
      return renderSchemaAnalysisHtml(report);
    case 'json':
      return renderSchemaAnalysisJson(report);
    case 'txt':
      return renderSchemaAnalysisText(report);
    case 'xml':
      return renderSchemaAnalysisXml(report);
  }
}

/** The report's file name inside the export dir's reports/ folder. */
export function schemaAnalysisFileName(format: SchemaAnalysisFormat): string {
  return `schema_analysis_report.${format}`;
}
