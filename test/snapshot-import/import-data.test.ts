// `import data to target` (snapshot part) through the CLI against the real PostgreSQL 15 source and
// 17 target: every type arrives bit-identical, indexes and keys are built after the load, sequences
// move, a SIGKILL anywhere resumes to identical data, bad target tables are named, reports render.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { adminConfig, createDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { CHINOOK, HAVE_DATASETS, PAGILA_DATA, PAGILA_SCHEMA, chinookBody } from '../helpers/datasets.js';
import { exportSchemaFiles } from '../helpers/export-schema-files.js';
import { psqlFile, psqlText } from '../helpers/psql.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { schemaFingerprint } from '../helpers/schema-fingerprint.js';
import { EVERYTHING_SCHEMAS, loadEverythingSchema } from '../schema-export/fixture.js';
import { fakeExport, sequenceValues, tableChecksums } from './fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

function importData(dir: string, targetDb: string, ...extra: string[]): string[] {
  return ['import', 'data', 'to', 'target', '--export-dir', dir, ...connection(target, 'target', targetDb), ...extra];
}

/** Schema via `godwit export schema` + `godwit import schema`; returns the export dir and target database. */
async function schemaThroughCli(sourceDb: string, schemaFlag: string): Promise<{ dir: string; targetDb: string }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'godwit-snapimp-')), 'export');
  const targetDb = await createDatabase(target, 'snapimp_dst');
  const exported = await runGodwit(['export', 'schema', '--export-dir', dir, ...connection(source, 'source', sourceDb), '--source-db-schema', schemaFlag], { env });
  expect(exported.stderr).toBe('');
  const imported = await runGodwit(['import', 'schema', '--export-dir', dir, ...connection(target, 'target', targetDb)], { env });
  expect(imported.stderr).toBe('');
  expect(imported.code).toBe(0);
  return { dir, targetDb };
}

/** Indexes and every constraint but the NOT VALID ones (finalize adds those). */
function builtAfterLoad(fingerprint: Record<string, string[]>): { indexes: string[]; constraints: string[] } {
  return { indexes: fingerprint.indexes ?? [], constraints: (fingerprint.constraints ?? []).filter((c) => !c.endsWith('(not validated)')) };
}

async function expectSameDatabase(sourceDb: string, targetDb: string, schemas: string[]): Promise<void> {
  const [before, after] = await Promise.all([tableChecksums(source, sourceDb, schemas), tableChecksums(target, targetDb, schemas)]);
  expect(after).toEqual(before);
}

describe('import data to target: the snapshot arrives bit-identical', () => {
  it('the everything fixture: every type, partitions, generated and identity columns, quoted and Unicode names', async () => {
    const sourceDb = await loadEverythingSchema(source, 'snapimp_every');
    const { dir, targetDb } = await schemaThroughCli(sourceDb, 'everything,"Sales Data"');
    const sourceFingerprint = await schemaFingerprint(adminConfig(source, sourceDb), EVERYTHING_SCHEMAS);
    const beforeLoad = await schemaFingerprint(adminConfig(target, targetDb), EVERYTHING_SCHEMAS);
    expect(beforeLoad.indexes?.length).toBeLessThan(sourceFingerprint.indexes?.length ?? 0);

    // One row per index segment, so --batch-size 3 gives batches of 3 rows: many batches even on small tables.
    await fakeExport(openExportDir(dir), source, sourceDb, EVERYTHING_SCHEMAS, { segmentRows: 1 });
    const r = await runGodwit(importData(dir, targetDb, '--batch-size', '3', '--parallel-jobs', '3'), { env, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/import data to target: \d+ rows in \d+ batches loaded into (\d+) tables, \d+ indexes and keys built, \1 tables analyzed, \d+ sequences set\./);
    await expectSameDatabase(sourceDb, targetDb, EVERYTHING_SCHEMAS);
    // Every loaded table has its statistics (a partitioned root's ANALYZE covers its partitions).
    const unanalyzed = await query(
      target,
      targetDb,
      `SELECT relname FROM pg_stat_user_tables WHERE schemaname = ANY($1::text[]) AND last_analyze IS NULL AND n_live_tup > 0 ORDER BY relname`,
      [EVERYTHING_SCHEMAS],
    );
    expect(unanalyzed).toEqual([]);
    const afterLoad = await schemaFingerprint(adminConfig(target, targetDb), EVERYTHING_SCHEMAS);
    expect(builtAfterLoad(afterLoad)).toEqual(builtAfterLoad(sourceFingerprint));
    expect(await sequenceValues(target, targetDb, EVERYTHING_SCHEMAS)).toEqual(await sequenceValues(source, sourceDb, EVERYTHING_SCHEMAS));

    // Triggers did not fire (session_replication_role = replica): the audit table holds the source's rows only (compared above).
    const finalized = await runGodwit(['finalize-schema-post-data-import', '--export-dir', dir, ...connection(target, 'target', targetDb), '--refresh-mviews', 'true'], { env });
    expect(finalized.code).toBe(0);
    expect(await schemaFingerprint(adminConfig(target, targetDb), EVERYTHING_SCHEMAS)).toEqual(sourceFingerprint);

    // Running it again changes nothing.
    const again = await runGodwit(importData(dir, targetDb), { env });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 rows in 0 batches loaded into \d+ tables, \d+ batches were already loaded/);
    await expectSameDatabase(sourceDb, targetDb, EVERYTHING_SCHEMAS);

    // Report and status, table and JSON.
    const reportJson = await runGodwit(['get', 'data-migration-report', '--export-dir', dir, '--output-format', 'json'], { env });
    expect(reportJson.code).toBe(0);
    const report = JSON.parse(reportJson.stdout) as { tables: { table: string; exportedSnapshotRows: number; importedSnapshotRows: number }[]; total: { exportedSnapshotRows: number; importedSnapshotRows: number; erroredRows: number } };
    expect(report.total.importedSnapshotRows).toBe(report.total.exportedSnapshotRows);
    expect(report.total.exportedSnapshotRows).toBeGreaterThan(0);
    expect(report.total.erroredRows).toBe(0);
    const counts = await query<{ n: number }>(source, sourceDb, 'SELECT count(*)::int AS n FROM everything.customers');
    expect(report.tables.find((t) => t.table === '"everything"."customers"')?.importedSnapshotRows).toBe(counts[0]?.n);
    const reportTable = await runGodwit(['get', 'data-migration-report', '--export-dir', dir], { env });
    expect(reportTable.stdout).toContain('EXPORTED SNAPSHOT ROWS');
    expect(reportTable.stdout).toContain('"Sales Data"."Customer Accounts"');
    expect(reportTable.stdout).toMatch(/total/);
    const statusTable = await runGodwit(['import', 'data', 'status', '--export-dir', dir], { env });
    expect(statusTable.code).toBe(0);
    expect(statusTable.stdout).toMatch(/^import data to target: done/);
    expect(statusTable.stdout).toContain('100.0%');
    const statusJson = await runGodwit(['import', 'data', 'status', '--export-dir', dir, '--output-format', 'json'], { env });
    const status = JSON.parse(statusJson.stdout) as { phase: string; tables: { state: string }[] };
    expect(status.phase).toBe('done');
    expect(status.tables.every((t) => t.state === 'done')).toBe(true);
  });

  it.skipIf(!HAVE_DATASETS)('pagila and chinook (schema and data)', async () => {
    for (const [name, load] of [
      ['pagila', async (db: string) => { await psqlFile(source, db, PAGILA_SCHEMA); await psqlFile(source, db, PAGILA_DATA); }],
      ['chinook', async (db: string) => { await psqlText(source, db, chinookBody()); }],
    ] as const) {
      expect(CHINOOK).toBeTruthy();
      const sourceDb = await createDatabase(source, `snapimp_${name}`);
      await load(sourceDb);
      const dir: ExportDir = await exportSchemaFiles(source, sourceDb);
      const targetDb = await createDatabase(target, `snapimp_${name}_dst`);
      const imported = await runGodwit(['import', 'schema', '--export-dir', dir.root, ...connection(target, 'target', targetDb)], { env });
      expect(imported.code).toBe(0);
      await fakeExport(dir, source, sourceDb, ['public']);
      const r = await runGodwit(importData(dir.root, targetDb, '--parallel-jobs', '2', '--batch-size', '1000'), { env, timeoutMs: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      await expectSameDatabase(sourceDb, targetDb, ['public']);
      const [before, after] = await Promise.all([schemaFingerprint(adminConfig(source, sourceDb), ['public']), schemaFingerprint(adminConfig(target, targetDb), ['public'])]);
      expect(builtAfterLoad(after)).toEqual(builtAfterLoad(before));
      expect(await sequenceValues(target, targetDb, ['public'])).toEqual(await sequenceValues(source, sourceDb, ['public']));
    }
  }, 240_000);
});

describe('import data to target: crashes and bad input', () => {
  const SCHEMA = `
    CREATE TABLE big (id bigint PRIMARY KEY, payload text, note text);
    CREATE INDEX big_payload ON big (payload);
    CREATE TABLE small (id int PRIMARY KEY, big_id bigint REFERENCES big (id), v jsonb);
    INSERT INTO big SELECT g, repeat(md5(g::text), 3) || E'\\n\\ttab', CASE WHEN g % 7 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 200000) g;
    INSERT INTO small SELECT g, g, jsonb_build_object('g', g) FROM generate_series(1, 5000) g;`;

  async function prepared(prefix: string): Promise<{ sourceDb: string; dir: ExportDir; targetDb: string }> {
    const sourceDb = await createDatabase(source, `${prefix}_src`);
    await runSql(source, sourceDb, SCHEMA);
    const dir = await exportSchemaFiles(source, sourceDb);
    const targetDb = await createDatabase(target, `${prefix}_dst`);
    const imported = await runGodwit(['import', 'schema', '--export-dir', dir.root, ...connection(target, 'target', targetDb)], { env });
    expect(imported.code).toBe(0);
    return { sourceDb, dir, targetDb };
  }

  it('SIGKILL at random points, then the same command: every row exactly once', async () => {
    const { sourceDb, dir, targetDb } = await prepared('snapimp_kill');
    // Row index segments of 500 rows: batches of exactly 2500 rows.
    await fakeExport(dir, source, sourceDb, ['public'], { segmentRows: 500 });
    const args = importData(dir.root, targetDb, '--batch-size', '2500', '--parallel-jobs', '3');
    const committedBatches = async (): Promise<number> => {
      const rows = await query<{ n: number }>(target, targetDb, `SELECT CASE WHEN to_regclass('godwit_metadata.imported_batches') IS NULL THEN 0
        ELSE (SELECT count(*)::int FROM godwit_metadata.imported_batches) END AS n`);
      return rows[0]?.n ?? 0;
    };
    let kills = 0;
    for (let round = 0; round < 5; round++) {
      // Killed a random moment after this run committed its first batch (the first round also early, while starting).
      const running = startGodwit(args, { env });
      let exited = false;
      void running.done.then(() => (exited = true));
      const before = await committedBatches();
      while (round > 0 && !exited && (await committedBatches()) <= before) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      running.child.kill('SIGKILL');
      const killed = await running.done;
      if (killed.code === 0) break;
      expect(killed.code).toBeNull();
      kills++;
    }
    expect(kills).toBeGreaterThan(1);
    const last = await runGodwit(args, { env, timeoutMs: 120_000 });
    expect(last.stderr).toBe('');
    expect(last.code).toBe(0);
    await expectSameDatabase(sourceDb, targetDb, ['public']);
    const batches = await query<{ n: number; rows: string }>(target, targetDb, 'SELECT count(*)::int AS n, sum(row_count)::text AS rows FROM godwit_metadata.imported_batches');
    expect(batches[0]?.rows).toBe('205000');
    expect(batches[0]?.n).toBe(80 + 2);
  }, 180_000);

  it('starts before the export, waits for it, and loads what arrives', async () => {
    const { sourceDb, dir, targetDb } = await prepared('snapimp_early');
    const running = runGodwit(importData(dir.root, targetDb, '--parallel-jobs', '2'), { env, timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await fakeExport(dir, source, sourceDb, ['public'], { only: 'plan' });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await fakeExport(dir, source, sourceDb, ['public'], { only: 'files' });
    const r = await running;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('waiting for `export data from source` to plan the snapshot');
    await expectSameDatabase(sourceDb, targetDb, ['public']);
  }, 120_000);

  it('a target table of another shape: names table, column and batch; nothing of the batch is committed', async () => {
    const { sourceDb, dir, targetDb } = await prepared('snapimp_shape');
    await runSql(target, targetDb, 'ALTER TABLE small DROP COLUMN v');
    await fakeExport(dir, source, sourceDb, ['public']);
    const r = await runGodwit(importData(dir.root, targetDb, '--parallel-jobs', '1'), { env, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"public"."small"');
    expect(r.stderr).toContain('column "v" of relation "small" does not exist');
    expect(r.stderr).toMatch(/batch public\.small\.0#1 \(rows 1-5000 of data\/\d+_0\.copybin\)/);
    const recorded = await query<{ n: number }>(target, targetDb, `SELECT count(*)::int AS n FROM godwit_metadata.imported_batches WHERE table_name = '"public"."small"'`);
    expect(recorded[0]?.n).toBe(0);
    expect((await query<{ n: number }>(target, targetDb, 'SELECT count(*)::int AS n FROM small'))[0]?.n).toBe(0);

    // A missing table is named too.
    await runSql(target, targetDb, 'DROP TABLE small');
    const missing = await runGodwit(importData(dir.root, targetDb, '--parallel-jobs', '1'), { env, timeoutMs: 60_000 });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Loading table "public"."small"');
    expect(missing.stderr).toContain('relation "public.small" does not exist');
  }, 120_000);

  it('--start-clean --truncate-tables asks, names the tables, and loads again from scratch', async () => {
    const { sourceDb, dir, targetDb } = await prepared('snapimp_clean');
    await fakeExport(dir, source, sourceDb, ['public']);
    expect((await runGodwit(importData(dir.root, targetDb), { env, timeoutMs: 60_000 })).code).toBe(0);
    const refused = await runGodwit(importData(dir.root, targetDb, '--start-clean', '--truncate-tables', 'true'), { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('truncates the target tables "public"."big", "public"."small"');
    const clean = await runGodwit(importData(dir.root, targetDb, '--start-clean', '--truncate-tables', 'true', '--yes'), { env, timeoutMs: 60_000 });
    expect(clean.stderr).toBe('');
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/205000 rows in \d+ batches loaded/);
    await expectSameDatabase(sourceDb, targetDb, ['public']);
  }, 120_000);

  it('refuses to load, and says why, when the target user may not set session_replication_role', async () => {
    const { sourceDb, dir, targetDb } = await prepared('snapimp_role');
    const user = `godwit_norole_${targetDb.slice(-10)}`;
    await runSql(target, targetDb, `CREATE ROLE ${user} LOGIN PASSWORD 'pw'; GRANT ALL ON DATABASE ${targetDb} TO ${user}; GRANT ALL ON SCHEMA public TO ${user};`);
    await fakeExport(dir, source, sourceDb, ['public']);
    const args = importData(dir.root, targetDb).map((a) => (a === target.user ? user : a));
    const r = await runGodwit(args, { env: { TARGET_DB_PASSWORD: 'pw' }, timeoutMs: 60_000 });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`The target user "${user}" may not set session_replication_role = replica`);
    expect(r.stderr).toContain(`GRANT SET ON PARAMETER session_replication_role TO "${user}"`);
    expect((await query<{ n: number }>(target, targetDb, 'SELECT count(*)::int AS n FROM big'))[0]?.n).toBe(0);
  }, 60_000);
});
