// `godwit import schema` and finalize from the CLI against the real PostgreSQL 17 target, with schema
// files made from a real pg_dump of the PostgreSQL 15 source: re-runs, bad files, failures.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExportDir } from '../../src/state/export-dir.js';
import { exportSchemaFiles } from '../helpers/export-schema-files.js';
import { adminConfig, createDatabase, query, runSql, servers } from '../harness/index.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { schemaFingerprint } from '../helpers/schema-fingerprint.js';

const { source, target } = servers();

/** The files `export schema` writes, from pg_dump of the source database. */
function exportSchemaOf(database: string): Promise<ExportDir> {
  return exportSchemaFiles(source, database);
}

function importArgs(dir: ExportDir, database: string, ...extra: string[]): string[] {
  return ['import', 'schema', '--export-dir', dir.root, '--target-db-host', target.host, '--target-db-port', String(target.port),
    '--target-db-user', target.user, '--target-db-name', database, '--target-ssl-mode', 'disable', ...extra];
}
const env = { TARGET_DB_PASSWORD: target.password };

describe('import schema failures', () => {
  const SCHEMA = `
    CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
    CREATE TABLE parent (id int PRIMARY KEY, m mood);
    CREATE TABLE child (id int PRIMARY KEY, parent_id int);
    ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id) NOT VALID;
    -- Two tables, so that PostgreSQL 15 and 17 both qualify the columns in pg_get_viewdef (17 drops
    -- the qualification for a single table, a rendering difference, not a migration one).
    CREATE VIEW happy_parents AS SELECT p.id, c.id AS child_id FROM parent p JOIN child c ON c.parent_id = p.id WHERE p.m = 'happy';
    CREATE INDEX child_parent_idx ON child (parent_id);`;

  async function prepared(): Promise<{ dir: ExportDir; targetDb: string }> {
    const sourceDb = await createDatabase(source, 'failures_src');
    await runSql(source, sourceDb, SCHEMA);
    return { dir: await exportSchemaOf(sourceDb), targetDb: await createDatabase(target, 'failures_dst') };
  }

  it('holds NOT VALID constraints back, refuses an existing object without --ignore-exist, skips it with', async () => {
    const { dir, targetDb } = await prepared();
    const first = await runGodwit(importArgs(dir, targetDb), { env });
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('1 held back for finalize-schema-post-data-import');
    const fks = await query(target, targetDb, `SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'child_parent_fk'`);
    expect(fks[0]?.n).toBe(0);

    const again = await runGodwit(importArgs(dir, targetDb), { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^error: schema\/types\/type\.sql, line 1 \(type public\.mood\): type "mood" already exists\n/);
    expect(again.stderr).toContain('Run again with --ignore-exist to skip existing objects');

    const ignoring = await runGodwit(importArgs(dir, targetDb, '--ignore-exist', 'true'), { env });
    expect(ignoring.code).toBe(0);
    expect(ignoring.stdout).toMatch(/import schema: 0 statements applied, \d+ already existed, 3 indexes and keys left for import data to build after the load, 1 held back/);
  });

  it('finalize adds the held-back constraint NOT VALID, refreshes materialized views, and can run again', async () => {
    const sourceDb = await createDatabase(source, 'finalize_src');
    await runSql(source, sourceDb, `${SCHEMA}
      CREATE MATERIALIZED VIEW "Parent Count" AS SELECT count(*) AS n FROM parent;
      INSERT INTO parent VALUES (1, 'happy');`);
    const dir = await exportSchemaOf(sourceDb);
    const targetDb = await createDatabase(target, 'finalize_dst');
    expect((await runGodwit(importArgs(dir, targetDb), { env })).code).toBe(0);
    await runSql(target, targetDb, `INSERT INTO parent VALUES (1, 'happy'), (2, 'ok'); INSERT INTO child VALUES (1, 99);`);
    const finalizeArgs = importArgs(dir, targetDb, '--refresh-mviews', 'true').map((a) => (a === 'import' ? 'finalize-schema-post-data-import' : a)).filter((a) => a !== 'schema');
    const first = await runGodwit(finalizeArgs, { env });
    expect(first.stderr).toBe('');
    // 3 indexes and keys that import data would have built after a load, and the NOT VALID foreign key.
    expect(first.stdout).toBe('finalize-schema-post-data-import: 4 held-back statements added, 1 materialized views refreshed.\n');
    const fk = await query<{ convalidated: boolean }>(target, targetDb, `SELECT convalidated FROM pg_constraint WHERE conname = 'child_parent_fk'`);
    expect(fk).toEqual([{ convalidated: false }]);
    const mv = await query<{ n: string }>(target, targetDb, 'SELECT n::text FROM "Parent Count"');
    expect(mv).toEqual([{ n: '2' }]);
    const again = await runGodwit(finalizeArgs, { env });
    expect(again.stdout).toBe('finalize-schema-post-data-import: 0 held-back statements added, 4 were already there, 1 materialized views refreshed.\n');
    expect(await schemaFingerprint(adminConfig(target, targetDb), ['public'])).toEqual(await schemaFingerprint(adminConfig(source, sourceDb), ['public']));
  });

  it('--start-clean drops what the import created, after confirmation, and imports again', async () => {
    const { dir, targetDb } = await prepared();
    expect((await runGodwit(importArgs(dir, targetDb), { env })).code).toBe(0);
    await runSql(target, targetDb, `INSERT INTO parent VALUES (7, 'ok')`);
    const refused = await runGodwit(importArgs(dir, targetDb, '--start-clean', 'true'), { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--start-clean drops the schemas public, godwit_metadata and everything in them (tables and their data) in the target database "${targetDb}"`);
    expect(refused.stderr).toContain('Run the command again with --yes to confirm.');
    expect(await query(target, targetDb, 'SELECT id FROM parent')).toEqual([{ id: 7 }]);
    const cleaned = await runGodwit(importArgs(dir, targetDb, '--start-clean', 'true', '--yes'), { env });
    expect(cleaned.stderr).toBe('');
    expect(cleaned.code).toBe(0);
    expect(await query(target, targetDb, 'SELECT id FROM parent')).toEqual([]);
  });

  it('names the file and line of a syntax error and applies nothing at all', async () => {
    const { dir, targetDb } = await prepared();
    const viewFile = join(dir.schemaDir, 'views', 'view.sql');
    writeFileSync(viewFile, readFileSync(viewFile, 'utf8').replace('CREATE VIEW', 'CREATE VEIW'));
    const r = await runGodwit(importArgs(dir, targetDb), { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error: schema\/views\/view\.sql, line 1(, column \d+)?: syntax error at or near "VEIW"/);
    const tables = await query(target, targetDb, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
    expect(tables[0]?.n).toBe(0);
  });

  it('collects failures with --continue-on-error into a report and applies the rest', async () => {
    const { dir, targetDb } = await prepared();
    const viewFile = join(dir.schemaDir, 'views', 'view.sql');
    writeFileSync(viewFile, readFileSync(viewFile, 'utf8').replace('FROM (public.parent', 'FROM (public.no_such_table'));
    const r = await runGodwit(importArgs(dir, targetDb, '--continue-on-error', 'true'), { env });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/import schema: \d+ statements applied, 3 indexes and keys left for import data to build after the load, 1 held back for finalize-schema-post-data-import, 1 failed\./);
    expect(r.stderr).toContain('error: 1 schema statement(s) failed on the target; the others are applied.');
    const report = readFileSync(join(dir.reportsDir, 'schema_import_failures.sql'), 'utf8');
    expect(report).toContain('-- schema/views/view.sql, line 1: relation "public.no_such_table" does not exist (SQLSTATE 42P01)');
    const tables = await query(target, targetDb, `SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('parent', 'child')`);
    expect(tables[0]?.n).toBe(2);
  });

  it('applies only the object types asked for (keys and indexes wait for the data load)', async () => {
    const { dir, targetDb } = await prepared();
    const r = await runGodwit(importArgs(dir, targetDb, '--object-type-list', 'type,tables,constraint', '--exclude-object-type-list', 'foreign-key'), { env });
    expect(r.code).toBe(0);
    const rels = await query<{ relname: string }>(target, targetDb, `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = 'public' AND relkind IN ('r','v','i') ORDER BY 1`);
    expect(rels.map((r) => r.relname)).toEqual(['child', 'parent']);
    expect(r.stdout).toContain('2 indexes and keys left for import data to build after the load');
  });
});
