// Splits pg_dump's schema-only output into one file per object type (pure: text in, files out),
// keeping every statement's exact text and its position in the dump for the import order.

import { createHash } from 'node:crypto';
import { parseSqlText } from '../parse/parse-sql.js';
import type { ParsedStatement } from '../parse/statement-types.js';
import { isSessionSetting, schemaFileFor, type ManifestStatement } from '../schema-files.js';

/** One file to write under `schema/`. */
export interface SplitFile {
  /** Relative to `schema/`, e.g. `tables/table.sql`. */
  path: string;
  statements: { sql: string; manifest: ManifestStatement }[];
}

/** The dump, split. */
export interface SplitSchema {
  sessionSettings: string[];
  files: SplitFile[];
  statementCount: number;
}

/** A statement's fingerprint in the manifest (the text as written to the file). */
export function statementSha256(sql: string): string {
  return createHash('sha256').update(sql.trim()).digest('hex');
}

/** Parses the dump with the PostgreSQL parser and groups its statements by object type. */
export async function splitSchemaDump(dumpText: string, dumpName: string): Promise<SplitSchema> {
  const statements = await parseSqlText(dumpText, dumpName);
  return groupStatements(statements);
}

/** Groups parsed statements into files, in dump order within each file. */
export function groupStatements(statements: readonly ParsedStatement[]): SplitSchema {
  const sessionSettings: string[] = [];
  const files = new Map<string, SplitFile>();
  statements.forEach((statement, position) => {
    if (isSessionSetting(statement.kind)) {
      sessionSettings.push(statement.sql.trim());
      return;
    }
    const { folder, file } = schemaFileFor(statement.kind, statement.foreignKey);
    const path = `${folder}/${file}`;
    let entry = files.get(path);
    if (entry === undefined) {
      entry = { path, statements: [] };
      files.set(path, entry);
    }
    const sql = statement.sql.trim();
    entry.statements.push({
      sql,
      manifest: {
        position,
        sha256: statementSha256(sql),
        kind: statement.kind,
        objectName: statement.objectName ?? null,
        notValid: statement.notValid,
      },
    });
  });
  return { sessionSettings, files: [...files.values()], statementCount: statements.length };
}

/** The text of one schema file: each statement followed by `;` and a blank line. */
export function renderSchemaFile(file: SplitFile): string {
  return file.statements.map((statement) => `${statement.sql};\n\n`).join('');
}
