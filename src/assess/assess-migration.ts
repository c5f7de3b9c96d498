// `assess-migration` as a pipeline step: read the source (its schema through pg_dump and the
// analyze-schema rules, its tables and indexes with sizes, its readiness for change capture, its
// query statistics), sample its read and write rates meanwhile, and turn it all into one report
// with placement, sizing and complexity. It only reads the source; it writes nothing there.
// The engine-specific reading comes through AssessmentSource.

import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { withoutFinding, type CaptureReadinessInput, type ReadinessReport } from '../engines/capture-readiness.js';
import type { ExportDir } from '../state/export-dir.js';
import { analyzeSchema } from '../schema/analyze/analyze-schema.js';
import { parseSqlText } from '../schema/parse/parse-sql.js';
import { isSessionSetting } from '../schema/schema-files.js';
import { renderAssessmentHtml } from '../reports/assessment/render-html.js';
import { renderAssessmentText } from '../reports/assessment/render-text.js';
import { writeReportFile } from '../reports/write-report-file.js';
import { activityKey, sampleActivity, type CounterReading } from './activity-sampling.js';
import type { ActivitySample, AssessedSource, AssessmentReport, SourceInventory } from './assessment-types.js';
import { assessComplexity } from './complexity.js';
import { queryStatisticsFile, writeQueryStatisticsCapture } from './query-statistics.js';
import type { QueryStatisticsCapture } from './query-statistics-types.js';
import { findUnsupportedConstructs } from './query-constructs.js';
import { holdsRows, placeTables, recommendSizing } from './sizing.js';

/** What the assessment reads from the source; each engine provides one on an open connection. */
export interface AssessmentSource {
  /** Fails with a clear message when a selected schema does not exist. */
  checkSchemas(): Promise<void>;
  readInventory(): Promise<SourceInventory>;
  readCounters(): Promise<Omit<CounterReading, 'at'>>;
  checkReadiness(input: CaptureReadinessInput): Promise<ReadinessReport>;
  readQueryStatistics(): Promise<QueryStatisticsCapture>;
  /** Dumps the selected schemas' DDL to `outputFile`; returns the dump tool's version text. */
  dumpSchema(outputFile: string): Promise<string>;
}

export interface AssessMigrationInput {
  dir: ExportDir;
  source: AssessedSource;
  reader: AssessmentSource;
  /** godwit's slot and publication names, and whether a live export of this directory created them. */
  capture: { slotName: string; publicationName: string; started: boolean };
  /** --iops-capture-interval: seconds of rate sampling (0: none). */
  samplingSeconds: number;
  signal?: AbortSignal;
  /** Called as each step starts, with a line for the user. */
  onStep?: (line: string) => void;
  /** Called about once a second while the sampling waits. */
  onSamplingTick?: (elapsedSeconds: number, totalSeconds: number) => void;
  now?: () => Date;
}

/** The report and where it was written. */
export interface AssessMigrationResult {
  report: AssessmentReport;
  files: { html: string; json: string; text: string; queryStatistics: string };
}

/** How many statements the report itself lists (the metadata file keeps them all). */
const TOP_QUERIES_IN_REPORT = 25;

/** Runs the whole assessment and writes assessment/reports/migration_assessment_report.{html,json,txt}. */
export async function assessMigration(input: AssessMigrationInput): Promise<AssessMigrationResult> {
  const { dir, reader } = input;
  const step = input.onStep ?? ((): void => undefined);
  await reader.checkSchemas();
  // --start-clean empties assessment/: its folders come back here.
  for (const folder of [dir.assessmentReportsDir, dir.assessmentMetadataDir]) mkdirSync(folder, { recursive: true });
  // The rates are sampled while the rest is read: the sampling only waits, and the reads below touch
  // only the catalogs, which pg_stat_user_tables does not count.
  let started = (): void => undefined;
  const firstReading = new Promise<void>((resolve) => (started = resolve));
  // A failed step ends the sampling too: its wait would otherwise run on for the rest of the interval.
  const stopSampling = new AbortController();
  const sampling: Promise<ActivitySample> = sampleActivity(() => reader.readCounters(), input.samplingSeconds, {
    signal: input.signal === undefined ? stopSampling.signal : AbortSignal.any([input.signal, stopSampling.signal]),
    onStarted: started,
    onTick: (elapsed) => input.onSamplingTick?.(elapsed, input.samplingSeconds),
  });
  sampling.catch(() => undefined); // awaited below; an early failure must not go unhandled meanwhile
  await Promise.race([firstReading, sampling]);
  if (input.samplingSeconds > 0) step(`sampling read and write rates for ${input.samplingSeconds} s (--iops-capture-interval), meanwhile:`);

  try {
    return await assessWhileSampling(input, sampling);
  } catch (error) {
    stopSampling.abort(error);
    throw error;
  }
}

/** Everything but the sampling, then the report from all of it; `sampling` is awaited last. */
async function assessWhileSampling(input: AssessMigrationInput, sampling: Promise<ActivitySample>): Promise<AssessMigrationResult> {
  const { dir, reader } = input;
  const step = input.onStep ?? ((): void => undefined);
  step('dumping the schema (pg_dump) and analysing it');
  const dumpFile = join(dir.assessmentMetadataDir, 'schema', 'schema.sql');
  await reader.dumpSchema(dumpFile);
  const statements = await parseSqlText(readFileSync(dumpFile, 'utf8'), relative(dir.root, dumpFile));
  const analysis = analyzeSchema(statements.filter((statement) => !isSessionSetting(statement.kind)), { target: 'YugabyteDB' });

  step('reading tables, indexes and sizes');
  const inventory = await reader.readInventory();

  step('checking readiness for change capture (live migration)');
  const checked = await reader.checkReadiness({
    tables: inventory.tables.map((t) => ({ schema: t.schema, name: t.name })),
    slotName: input.capture.slotName,
    publicationName: input.capture.publicationName,
    resume: input.capture.started,
  });
  // A live export of this migration that is running holds its slot: expected, not a blocker here.
  const readiness = input.capture.started ? withoutFinding(checked, 'SLOT_IN_USE') : checked;

  step('reading query statistics (pg_stat_statements)');
  const statistics = await reader.readQueryStatistics();
  const statisticsFile = queryStatisticsFile(dir);
  writeQueryStatisticsCapture(statisticsFile, statistics);
  const constructs = await findUnsupportedConstructs(statistics.statistics);

  const activity = await sampling;
  const tables = placeTables(inventory.tables, activity);
  const leaves = tables.filter(holdsRows);
  const tablesWithoutPrimaryKey = leaves.filter((t) => !t.hasPrimaryKey && t.kind === 'ordinary').length;
  const report: AssessmentReport = {
    reportVersion: 1,
    generatedAt: (input.now?.() ?? new Date()).toISOString(),
    target: 'YugabyteDB',
    source: { ...input.source, databaseBytes: inventory.databaseBytes },
    complexity: assessComplexity(analysis.summary.byCategory, readiness, tablesWithoutPrimaryKey, constructs.findings.length),
    summary: {
      tables: tables.filter((t) => t.kind !== 'partition').length,
      partitions: tables.filter((t) => t.kind === 'partition').length,
      indexes: inventory.indexes.length,
      sequences: inventory.sequences,
      tableBytes: leaves.reduce((sum, t) => sum + t.tableBytes, 0),
      indexBytes: leaves.reduce((sum, t) => sum + t.indexBytes, 0),
      estimatedRows: leaves.reduce((sum, t) => sum + (t.estimatedRows ?? 0), 0),
      tablesNotAnalysed: leaves.filter((t) => t.estimatedRows === null).length,
      tablesWithoutPrimaryKey,
    },
    objects: analysis.summary.byObjectType,
    activity,
    tables: tables.sort((a, b) => b.tableBytes + b.indexBytes - (a.tableBytes + a.indexBytes) || activityKey(a.schema, a.name).localeCompare(activityKey(b.schema, b.name))),
    indexes: inventory.indexes,
    sizing: recommendSizing(tables, activity),
    schemaIssues: { byCategory: analysis.summary.byCategory, issues: analysis.issues },
    readiness,
    queryStatistics: {
      available: statistics.available,
      ...(statistics.unavailableReason === undefined ? {} : { unavailableReason: statistics.unavailableReason }),
      top: statistics.statistics.slice(0, TOP_QUERIES_IN_REPORT),
      file: relative(dir.root, statisticsFile),
      unsupportedConstructs: constructs.findings,
      unparsedStatements: constructs.unparsed,
    },
  };
  const html = join(dir.assessmentReportsDir, 'migration_assessment_report.html');
  const json = join(dir.assessmentReportsDir, 'migration_assessment_report.json');
  const text = join(dir.assessmentReportsDir, 'migration_assessment_report.txt');
  writeReportFile(json, `${JSON.stringify(report, null, 2)}\n`);
  writeReportFile(html, renderAssessmentHtml(report));
  writeReportFile(text, renderAssessmentText(report));
  return { report, files: { html, json, text, queryStatistics: statisticsFile } };
}
