// Reads the schema files back from `schema/` (the user may have edited them) and parses all of them
// before anything is applied, so a syntax error anywhere stops the import with nothing applied.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StateError } from '../../core/errors.js';
import { loadSqlParser, parseSqlTextSync } from '../parse/parse-sql.js';
import { SCHEMA_MANIFEST_FILE, type SchemaManifest } from '../schema-files.js';
import type { ParsedSchemaFile } from './plan-import.js';

/** The exported schema as it is on disk now. */
export interface SchemaOnDisk {
  manifest: SchemaManifest | undefined;
  files: ParsedSchemaFile[];
}

function sqlFilesUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.sql')) found.push(path);
    }
  };
  walk(root);
  return found.sort();
}

/** Reads and parses every `schema/**\/*.sql`; throws SqlSyntaxError naming the file and line. */
export async function readSchemaFiles(schemaDir: string): Promise<SchemaOnDisk> {
  if (!existsSync(schemaDir)) {
    throw new StateError(`There is no exported schema in ${schemaDir}.`, { hint: 'Run `godwit export schema` first.' });
  }
  await loadSqlParser();
  const paths = sqlFilesUnder(schemaDir);
  if (paths.length === 0) {
    throw new StateError(`There is no exported schema in ${schemaDir} (no .sql files).`, { hint: 'Run `godwit export schema` first.' });
  }
  const manifestPath = join(schemaDir, SCHEMA_MANIFEST_FILE);
  let manifest: SchemaManifest | undefined;
  if (existsSync(manifestPath)) {
    try {
      manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as SchemaManifest;
    } catch (error) {
      throw new StateError(`The schema manifest ${manifestPath} is damaged: ${String(error)}`, {
        hint: 'Run `godwit export schema --start-clean` to export the schema again, or delete the manifest to import in folder order.',
      });
    }
  }
  const files = paths.map((path) => {
    const name = relative(schemaDir, path);
    return { path: name, statements: parseSqlTextSync(readFileSync(path, 'utf8'), `schema/${name}`) };
  });
  return { manifest, files };
}
