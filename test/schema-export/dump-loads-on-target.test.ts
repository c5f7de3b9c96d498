// Proves the dump settings: pg_dump of the everything-schema fixture on the PostgreSQL 15 source,
// made by the runner, loads with `psql -v ON_ERROR_STOP=1` into a fresh database on the PostgreSQL
// 17 target, and the target's catalog then describes the same tables, keys, partitions, sequences
// and types as the source's.

import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../src/engines/postgres/connect.js';
import { readPostgresCatalog } from '../../src/engines/postgres/catalog/read-catalog.js';
import type { DatabaseSettings } from '../../src/core/database-settings.js';
import type { SourceCatalog } from '../../src/engines/source-catalog.js';
import { dumpSchema } from '../../src/schema/export/pg-dump.js';
import { createDatabase, databaseSettings, dropDatabase, servers } from '../harness/index.js';
import { tempDir } from '../state/child-helpers.js';
import { EVERYTHING_SCHEMAS, loadEverythingSchema } from './fixture.js';

const run = promisify(execFile);

let dir: { path: string; cleanup: () => void };
let sourceDb: string;
let targetDb: string;

beforeAll(async () => {
  dir = tempDir('dump-target');
  sourceDb = await loadEverythingSchema(servers().source, 'dump_src');
  targetDb = await createDatabase(servers().target, 'dump_dst');
});

afterAll(async () => {
  if (sourceDb !== undefined) await dropDatabase(servers().source, sourceDb);
  if (targetDb !== undefined) await dropDatabase(servers().target, targetDb);
  dir?.cleanup();
});

async function catalogOf(settings: DatabaseSettings): Promise<SourceCatalog> {
  const connection = await connect(settings, { applicationName: 'godwit dump test' });
  try {
    return await readPostgresCatalog(connection.client, connection.server, EVERYTHING_SCHEMAS);
  } finally {
    await connection.client.end();
  }
}

/** The structure only: what a schema-only copy must reproduce (no statistics, sizes or sequence positions). */
function structure(catalog: SourceCatalog): unknown {
  return {
    tables: catalog.tables.map((table) => ({ ...table, estimatedRows: undefined, sizeBytes: undefined })),
    sequences: catalog.sequences.map((sequence) => ({ ...sequence, lastValue: undefined })),
    enums: catalog.enums,
    domains: catalog.domains,
  };
}

it('dumps the everything schema in a form that psql loads into PostgreSQL 17 without error', async () => {
  const { source, target } = servers();
  const outputFile = join(dir.path, 'temp', 'schema.sql');
  await dumpSchema({
    settings: databaseSettings(source, sourceDb, { schemas: EVERYTHING_SCHEMAS }),
    serverMajor: 15,
    outputFile,
  });
  const dump = readFileSync(outputFile, 'utf8');
  expect(dump).toContain('CREATE TABLE "Sales Data"."Customer Accounts"');
  expect(dump).toContain('NOT VALID');
  expect(dump).toContain('CREATE MATERIALIZED VIEW "everything"."daily_sales"');

  // pg_dump 15.18+ writes `\restrict KEY` / `\unrestrict KEY` psql commands: not SQL, strip them.
  const loadable = join(dir.path, 'loadable.sql');
  writeFileSync(loadable, dump.replace(/^\\(un)?restrict .*$/gm, ''));
  const { stderr } = await run(
    'psql',
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', target.host, '-p', String(target.port), '-U', target.user, '-d', targetDb, '-f', loadable],
    { env: { ...process.env, PGPASSWORD: target.password, PGSSLMODE: 'disable' } },
  );
  expect(stderr).not.toMatch(/ERROR/);

  const before = await catalogOf(databaseSettings(source, sourceDb, { schemas: EVERYTHING_SCHEMAS }));
  const after = await catalogOf(databaseSettings(target, targetDb, { schemas: EVERYTHING_SCHEMAS }));
  expect(after.serverVersion).toMatch(/^PostgreSQL 17\./);
  expect(structure(after)).toEqual(structure(before));
});

it('loads the fixture itself on PostgreSQL 17 with the same structure and data positions as on 15', async () => {
  const { source, target } = servers();
  const direct = await loadEverythingSchema(target, 'fixture17');
  try {
    const on15 = await catalogOf(databaseSettings(source, sourceDb, { schemas: EVERYTHING_SCHEMAS }));
    const on17 = await catalogOf(databaseSettings(target, direct, { schemas: EVERYTHING_SCHEMAS }));
    expect(structure(on17)).toEqual(structure(on15));
    expect(on17.sequences.map((s) => s.lastValue)).toEqual(on15.sequences.map((s) => s.lastValue));
  } finally {
    await dropDatabase(target, direct);
  }
});
