// The schema files `export schema` writes, made from pg_dump of a harness database (for tests of
// the later schema steps that should not depend on the export command).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { splitSchemaDump } from '../../src/schema/export/split-schema.js';
import { buildManifest, writeSchemaFiles } from '../../src/schema/export/write-schema-files.js';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import type { HarnessServer } from '../harness/index.js';
import { dumpSchema } from './psql.js';

/** A fresh export directory whose schema/ holds the split pg_dump of `database`. */
export async function exportSchemaFiles(server: HarnessServer, database: string): Promise<ExportDir> {
  const dir = openExportDir(join(mkdtempSync(join(tmpdir(), 'godwit-schema-files-')), 'export'));
  const split = await splitSchemaDump(await dumpSchema(server, database), 'pg_dump');
  const facts = { createdAt: new Date().toISOString(), sourceServerVersion: String(server.major), pgDumpVersion: '15', schemas: ['public'] };
  writeSchemaFiles(dir, split, buildManifest(split, facts));
  return dir;
}
