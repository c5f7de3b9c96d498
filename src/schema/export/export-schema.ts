// `export schema` as a pipeline step: check the selected schemas exist, dump them with pg_dump,
// split the dump into schema/<type>/ files with the manifest, and record the source catalog that
// the data phases need (tables, keys, partitions, sequences) in the migration store.

import { readFileSync } from 'node:fs';
import type { DatabaseSettings } from '../../core/database-settings.js';
import { NotReadyError } from '../../core/errors.js';
import { displayIdent } from '../../core/identifiers.js';
import type { Logger } from '../../core/logger.js';
import type { SourceCatalogReader } from '../../engines/source-catalog.js';
import type { SqlSession } from '../../engines/sql-session.js';
import { replaceSourceCatalog } from '../../state/catalog-store.js';
import type { ExportDir } from '../../state/export-dir.js';
import type { MigrationStore } from '../../state/store.js';
import { dumpSchema } from './pg-dump.js';
import { splitSchemaDump } from './split-schema.js';
import { buildManifest, writeSchemaFiles } from './write-schema-files.js';

/** Everything the step needs; the CLI builds it from the command's context. */
export interface ExportSchemaInput {
  dir: ExportDir;
  store: MigrationStore;
  /** Settings that connected (with a prompted or .pgpass password filled in): pg_dump reuses them. */
  settings: DatabaseSettings;
  session: SqlSession;
  catalogReader: SourceCatalogReader;
  server: { major: number; versionString: string };
  applicationName: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Called once the source catalog is in the store (before the schema files are written). */
  onCatalogRecorded?: () => void;
}

/** What was exported, for the summary line. */
export interface ExportSchemaSummary {
  statements: number;
  files: { path: string; statements: number }[];
  tables: number;
  sequences: number;
  pgDump: string;
}

/** Fails before anything is written when a selected schema does not exist on the source. */
export async function checkSchemasExist(session: SqlSession, schemas: readonly string[], database: string): Promise<void> {
  const { rows } = await session.query<{ nspname: string }>('SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname = ANY($1)', [schemas]);
  const found = new Set(rows.map((row) => row.nspname));
  const missing = schemas.filter((schema) => !found.has(schema));
  if (missing.length > 0) {
    const names = missing.map(displayIdent).join(', ');
    throw new NotReadyError(`schema ${names} does not exist in the source database "${database}".`, {
      hint: 'Check --source-db-schema (names with capitals or spaces must be double-quoted: app,"Sales Data").',
    });
  }
}

/** Runs the whole export; re-running it replaces the earlier export completely. */
export async function exportSchema(input: ExportSchemaInput): Promise<ExportSchemaSummary> {
  const { dir, store, settings, logger } = input;
  await checkSchemasExist(input.session, settings.schemas, settings.database);
  // The catalog is read while pg_dump runs and recorded as soon as pg_dump succeeded, before the dump
  // is split: a data export started side by side waits only for it (onCatalogRecorded).
  const dumping = dumpSchema({
    settings,
    serverMajor: input.server.major,
    outputFile: dir.schemaDumpFile,
    applicationName: input.applicationName,
    logger,
    signal: input.signal,
  });
  // Handled from the start: pg_dump may fail (missing, too old) while the catalog is still being read.
  const dumped = dumping.then(
    (dump) => ({ dump }),
    (error: unknown) => ({ error }),
  );
  let catalog: Awaited<ReturnType<typeof input.catalogReader.readCatalog>>;
  try {
    catalog = await input.catalogReader.readCatalog(settings.schemas);
  } catch (error) {
    const outcome = await dumped;
    throw 'error' in outcome ? outcome.error : error;
  }
  const outcome = await dumped;
  if ('error' in outcome) throw outcome.error;
  const { dump } = outcome;
  logger.info('pg_dump finished', { pgDump: dump.pgDump.versionText, durationMs: dump.durationMs });
  replaceSourceCatalog(store, catalog);
  input.onCatalogRecorded?.();
  const split = await splitSchemaDump(readFileSync(dump.file, 'utf8'), dump.file);
  const manifest = buildManifest(split, {
    createdAt: new Date().toISOString(),
    sourceServerVersion: input.server.versionString,
    pgDumpVersion: dump.pgDump.versionText,
    schemas: settings.schemas,
  });
  writeSchemaFiles(dir, split, manifest);
  return {
    statements: split.statementCount,
    files: split.files.map((file) => ({ path: file.path, statements: file.statements.length })),
    tables: catalog.tables.length,
    sequences: catalog.sequences.length,
    pgDump: dump.pgDump.versionText,
  };
}
