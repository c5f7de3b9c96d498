// `analyze-schema` as a pipeline step: the exported files in, a report file in reports/ out.

import { join } from 'node:path';
import type { ExportDir } from '../../state/export-dir.js';
import { writeReportFile } from '../../reports/write-report-file.js';
import { renderSchemaAnalysis, schemaAnalysisFileName, type SchemaAnalysisFormat } from '../../reports/schema-analysis/render-report.js';
import { readSchemaFiles } from '../import/read-schema-files.js';
import type { SchemaAnalysisReport } from './analysis-types.js';
import { analyzeSchema } from './analyze-schema.js';

/** Analyses `schema/` and writes `reports/schema_analysis_report.<format>` (replaced whole). */
export async function writeSchemaAnalysis(dir: ExportDir, format: SchemaAnalysisFormat, target: string | undefined): Promise<{ report: SchemaAnalysisReport; file: string }> {
  const onDisk = await readSchemaFiles(dir.schemaDir);
  const report = analyzeSchema(
    onDisk.files.flatMap((file) => file.statements),
    target === undefined ? {} : { target },
  );
  const file = join(dir.reportsDir, schemaAnalysisFileName(format));
  writeReportFile(file, renderSchemaAnalysis(report, format));
  return { report, file };
}
