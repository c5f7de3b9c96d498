// Shared by the schema-export tests: the everything-schema fixture, loaded into a database of its own.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDatabase, runSql, type HarnessServer } from '../harness/index.js';

/** The path of test/fixtures/sql/everything-schema.sql. */
export const EVERYTHING_SCHEMA_FILE = fileURLToPath(new URL('../fixtures/sql/everything-schema.sql', import.meta.url));

/** The schemas the fixture creates, as the catalog spells them. */
export const EVERYTHING_SCHEMAS = ['everything', 'Sales Data'];

/** Creates a fresh database on `server` and loads the fixture into it; returns the database name. */
export async function loadEverythingSchema(server: HarnessServer, prefix: string): Promise<string> {
  const database = await createDatabase(server, prefix);
  await runSql(server, database, readFileSync(EVERYTHING_SCHEMA_FILE, 'utf8'));
  return database;
}
