// `import schema`: reads and parses the exported files (nothing is applied if any is invalid),
// plans the order, creates godwit's bookkeeping schema, applies, and reports what failed.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/logger.js';
import { BOOKKEEPING_SCHEMA, ensureBookkeepingSchema } from '../../engines/bookkeeping-schema.js';
import { quoteIdent } from '../../core/identifiers.js';
import type { SqlSession } from '../../engines/sql-session.js';
import type { ExportDir } from '../../state/export-dir.js';
import { applyStatements, type ApplyResult } from './apply-statements.js';
import { planImport, type ImportFilter } from './plan-import.js';
import { readSchemaFiles } from './read-schema-files.js';

/** What the command asked for. */
export interface ImportSchemaOptions extends ImportFilter {
  ignoreExist: boolean;
  continueOnError: boolean;
}

/** Counts for the summary line and the store. */
export interface ImportSchemaSummary {
  applied: number;
  skippedExisting: number;
  skippedByFilter: number;
  heldBack: number;
  /** Indexes and keys left for `import data to target` to build after the snapshot load. */
  postSnapshot: number;
  failed: number;
  failureReport: string | undefined;
}

/** The report file listing statements that failed under --continue-on-error. */
export const IMPORT_FAILURES_REPORT = 'schema_import_failures.sql';

/** Imports the exported schema into the session's database; failures under --continue-on-error are in the summary. */
export async function importSchema(
  dir: ExportDir,
  session: SqlSession,
  options: ImportSchemaOptions,
  logger: Logger,
  progress: (done: number, total: number) => void = () => undefined,
  signal?: AbortSignal,
): Promise<ImportSchemaSummary> {
  const onDisk = await readSchemaFiles(dir.schemaDir);
  const plan = planImport(onDisk.manifest, onDisk.files, options);
  logger.info('import schema plan', { now: plan.now.length, postSnapshot: plan.postSnapshot.length, heldBack: plan.heldBack.length, skippedByFilter: plan.skippedByFilter });
  await ensureBookkeepingSchema(session);
  const result = await applyStatements(session, plan.sessionSettings, plan.now, { ...options, logger, onStatement: progress, signal });
  const failureReport = result.failed.length > 0 ? writeFailureReport(dir, result) : undefined;
  const summary: ImportSchemaSummary = {
    applied: result.applied,
    skippedExisting: result.skippedExisting.length,
    skippedByFilter: plan.skippedByFilter,
    heldBack: plan.heldBack.length,
    postSnapshot: plan.postSnapshot.length,
    failed: result.failed.length,
    failureReport,
  };
  return summary;
}

function writeFailureReport(dir: ExportDir, result: ApplyResult): string {
  const path = join(dir.reportsDir, IMPORT_FAILURES_REPORT);
  const text = result.failed
    .map(({ statement, error }) => {
      const code = error.code === undefined ? '' : ` (SQLSTATE ${error.code})`;
      const header = `-- schema/${statement.path}, line ${statement.line}: ${error.message}${code}`.replaceAll('\n', '\n-- ');
      return `${header}\n${statement.sql};\n`;
    })
    .join('\n');
  writeFileSync(path, text);
  return path;
}

/** The schemas `--start-clean` drops on the target: those the export took, and godwit's bookkeeping. */
export async function schemasToDropForStartClean(dir: ExportDir): Promise<string[]> {
  const onDisk = await readSchemaFiles(dir.schemaDir);
  return [...(onDisk.manifest?.schemas ?? []), BOOKKEEPING_SCHEMA];
}

/**
 * Empties the given schemas (import schema --start-clean, after confirmation): each is dropped with
 * everything in it and created again empty, so a dump without CREATE SCHEMA (public) still imports.
 * godwit's bookkeeping schema is dropped for good; the import recreates it.
 */
export async function dropSchemas(session: SqlSession, schemas: readonly string[], logger: Logger): Promise<void> {
  for (const schema of schemas) {
    await session.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
    if (schema !== BOOKKEEPING_SCHEMA) await session.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    logger.warn(`start-clean: dropped schema ${schema} and everything in it on the target`);
  }
}
