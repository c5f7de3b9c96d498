// Splitting a real pg_dump of pagila into schema/<type>/ files: every statement lands exactly once,
// in dump order, and the files replace schema/ atomically. Uses ../shared/datasets (skipped without).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSqlText } from '../../src/schema/parse/parse-sql.js';
import { buildManifest, writeSchemaFiles } from '../../src/schema/export/write-schema-files.js';
import { splitSchemaDump } from '../../src/schema/export/split-schema.js';
import type { SchemaManifest } from '../../src/schema/schema-files.js';
import { openExportDir } from '../../src/state/export-dir.js';
import { createDatabase, servers } from '../harness/index.js';

const run = promisify(execFile);
const PAGILA = fileURLToPath(new URL('../../../shared/datasets/pagila/pagila-schema.sql', import.meta.url));
const haveDatasets = existsSync(PAGILA);

describe.skipIf(!haveDatasets)('splitting a pg_dump of pagila (needs ../shared/datasets)', () => {
  const { source } = servers();
  const env = { ...process.env, PGPASSWORD: source.password, PGHOST: source.host, PGPORT: String(source.port), PGUSER: source.user };
  let dump = '';

  beforeAll(async () => {
    const db = await createDatabase(source, 'split_pagila');
    await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', db, '-f', PAGILA], { env });
    dump = (await run('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '-d', db], { env, maxBuffer: 64 << 20 })).stdout;
  });

  it('puts every statement in one file of its type, in dump order, with a manifest', async () => {
    const split = await splitSchemaDump(dump, 'pg_dump output');
    const all = await parseSqlText(dump, 'pg_dump output');
    const positions = split.files.flatMap((file) => file.statements.map((s) => s.manifest.position));
    expect(positions.length + split.sessionSettings.length).toBe(all.length);
    expect(new Set(positions).size).toBe(positions.length);
    for (const file of split.files) {
      const own = file.statements.map((s) => s.manifest.position);
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }
    const paths = split.files.map((f) => f.path).sort();
    expect(paths).toEqual(expect.arrayContaining([
      'tables/table.sql', 'partitions/partition.sql', 'indexes/index.sql', 'constraints/constraint.sql',
      'foreign-keys/foreign-key.sql', 'functions/function.sql', 'triggers/trigger.sql', 'views/view.sql',
      'materialized-views/materialized-view.sql', 'sequences/sequence.sql', 'types/type.sql', 'domains/domain.sql',
    ]));
    expect(paths).not.toContain('uncategorized/uncategorized.sql');
    const tables = split.files.find((f) => f.path === 'tables/table.sql');
    expect(tables?.statements.some((s) => s.sql.startsWith('CREATE TABLE public.actor ('))).toBe(true);
    expect(split.sessionSettings).toContain("SELECT pg_catalog.set_config('search_path', '', false)");
  });

  it('writes the files and the manifest, replacing an earlier export', async () => {
    const dir = openExportDir(join(mkdtempSync(join(tmpdir(), 'godwit-split-')), 'export'));
    const split = await splitSchemaDump(dump, 'pg_dump output');
    const manifest = buildManifest(split, { createdAt: new Date().toISOString(), sourceServerVersion: '15', pgDumpVersion: '15', schemas: ['public'] });
    writeSchemaFiles(dir, split, manifest);
    writeSchemaFiles(dir, split, manifest); // a second run replaces the first cleanly
    const written = JSON.parse(readFileSync(join(dir.schemaDir, 'manifest.json'), 'utf8')) as SchemaManifest;
    expect(written.files.map((f) => f.path)).toEqual(split.files.map((f) => f.path));
    const tableText = readFileSync(join(dir.schemaDir, 'tables', 'table.sql'), 'utf8');
    const reparsed = await parseSqlText(tableText, 'tables/table.sql');
    expect(reparsed.map((s) => s.sql.trim())).toEqual(split.files.find((f) => f.path === 'tables/table.sql')?.statements.map((s) => s.sql));
    expect(readdirSync(dir.tempDir).filter((name) => name.startsWith('schema-'))).toEqual([]);
  });
});
