// The schema workflow as a user runs it: export schema from the PostgreSQL 15 source, import schema
// and finalize on the PostgreSQL 17 target; the two schemas must be identical object for object.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminConfig, createDatabase, servers, type HarnessServer } from '../harness/index.js';
import { CHINOOK, HAVE_DATASETS, PAGILA_SCHEMA, chinookBody } from '../helpers/datasets.js';
import { psqlFile, psqlText } from '../helpers/psql.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { schemaFingerprint } from '../helpers/schema-fingerprint.js';
import { EVERYTHING_SCHEMAS, loadEverythingSchema } from '../schema-export/fixture.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

async function roundTrip(sourceDb: string, schemas: string[], schemaFlag: string): Promise<void> {
  const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-roundtrip-')), 'export');
  const targetDb = await createDatabase(target, 'roundtrip_dst');
  const exported = await runGodwit(['export', 'schema', '--export-dir', exportDir, ...connection(source, 'source', sourceDb), '--source-db-schema', schemaFlag], { env });
  expect(exported.stderr).toBe('');
  expect(exported.code).toBe(0);
  expect(exported.stdout).toMatch(/^export schema: \d+ statements, \d+ tables, \d+ sequences from schemas /);
  const imported = await runGodwit(['import', 'schema', '--export-dir', exportDir, ...connection(target, 'target', targetDb)], { env });
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
  const finalized = await runGodwit(['finalize-schema-post-data-import', '--export-dir', exportDir, ...connection(target, 'target', targetDb), '--refresh-mviews', 'true'], { env });
  expect(finalized.stderr).toBe('');
  expect(finalized.code).toBe(0);
  const [before, after] = await Promise.all([
    schemaFingerprint(adminConfig(source, sourceDb), schemas),
    schemaFingerprint(adminConfig(target, targetDb), schemas),
  ]);
  expect(after).toEqual(before);
}

describe('schema round trip through the CLI, PostgreSQL 15 to 17', () => {
  it('the everything schema (every type, partitions, identity, quoted and Unicode names, NOT VALID)', async () => {
    const sourceDb = await loadEverythingSchema(source, 'rt_everything');
    await roundTrip(sourceDb, EVERYTHING_SCHEMAS, 'everything,"Sales Data"');
  });

  it.skipIf(!HAVE_DATASETS)('pagila (needs ../shared/datasets)', async () => {
    const sourceDb = await createDatabase(source, 'rt_pagila');
    await psqlFile(source, sourceDb, PAGILA_SCHEMA);
    await roundTrip(sourceDb, ['public'], 'public');
  });

  it.skipIf(!HAVE_DATASETS)('chinook (needs ../shared/datasets)', async () => {
    expect(CHINOOK).toBeTruthy();
    const sourceDb = await createDatabase(source, 'rt_chinook');
    await psqlText(source, sourceDb, chinookBody());
    await roundTrip(sourceDb, ['public'], 'public');
  });
});

describe('export schema refuses bad input before writing anything', () => {
  it('names a schema that does not exist', async () => {
    const sourceDb = await createDatabase(source, 'rt_missing');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-roundtrip-')), 'export');
    const r = await runGodwit(['export', 'schema', '--export-dir', exportDir, ...connection(source, 'source', sourceDb), '--source-db-schema', 'public,"Sales"'], { env });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`error: schema "Sales" does not exist in the source database "${sourceDb}".`);
  });

  it('says what to install when pg_dump is missing or too old', async () => {
    const sourceDb = await createDatabase(source, 'rt_pgdump');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-roundtrip-')), 'export');
    const r = await runGodwit(['export', 'schema', '--export-dir', exportDir, ...connection(source, 'source', sourceDb)], {
      env: { ...env, GODWIT_PG_DUMP: '/nonexistent/pg_dump' },
    });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('pg_dump');
    expect(r.stderr).toContain('apt-get install postgresql-client-15');
  });
});
