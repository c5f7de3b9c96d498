// `godwit export data from source --export-type snapshot-only` through the CLI against the PostgreSQL
// 15 source: the everything fixture, pagila and a big table split into page ranges; each table's
// chunk files hold exactly the rows the source's own COPY gives; bad input fails clearly.

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import { HAVE_DATASETS, PAGILA_DATA, PAGILA_SCHEMA } from '../helpers/datasets.js';
import { psqlFile } from '../helpers/psql.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { loadEverythingSchema } from '../schema-export/fixture.js';
import { env, expectExportEqualsSource, exportData, exportSchema, newExportDir, recorded, source } from './helpers.js';

const databases: string[] = [];
afterAll(async () => {
  for (const db of databases) await dropDatabase(source, db);
});

describe('export data from source, snapshot-only', () => {
  it('the everything fixture: every type, partitions through the root, generated columns left out, sequences', async () => {
    const db = await loadEverythingSchema(source, 'snapx_everything');
    databases.push(db);
    const exportDir = newExportDir('snapx-everything');
    await exportSchema(exportDir, db, 'everything,"Sales Data"');
    const r = await exportData(exportDir, db, ['--parallel-jobs', '3']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^export data from source: \d+ tables, \d+ chunks, \d+ rows exported to data\//);
    await expectExportEqualsSource(exportDir, db);

    const { tables, chunks } = recorded(exportDir);
    const keys = tables.map((t) => t.tableKey);
    expect(keys).toContain('"everything"."measurements"');
    expect(keys).toContain('"Sales Data"."Customer Accounts"');
    expect(keys.some((k) => k.includes('measurements_'))).toBe(false);
    // Leaves (two levels) are read separately and recorded under the root; the partitioned middle level has no chunk.
    const leaves = chunks.filter((c) => c.tableKey === '"everything"."measurements"').map((c) => c.sourceRelation).sort();
    expect(leaves).toEqual(['measurements_2024_eu', 'measurements_2024_other', 'measurements_2025', 'measurements_default']);
    const items = tables.find((t) => t.tableKey === '"everything"."order_items"');
    expect(items?.columns).toEqual(['order_id', 'line_no', 'product_id', 'quantity', 'unit_price']);
    for (const table of tables) {
      const n = (await query<{ n: string }>(source, db, `SELECT count(*)::text AS n FROM ${table.tableKey}`))[0]?.n;
      const rows = chunks.filter((c) => c.tableKey === table.tableKey).reduce((sum, c) => sum + (c.rowCount ?? 0), 0);
      expect(rows, table.tableKey).toBe(Number(n));
    }

    const status = await runGodwit(['export', 'data', 'status', '--export-dir', exportDir, '--output-format', 'json'], { env });
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { finished: boolean; tables: { state: string }[] };
    expect(parsed.finished).toBe(true);
    expect(parsed.tables.every((t) => t.state === 'done')).toBe(true);
    const text = await runGodwit(['export', 'data', 'status', '--export-dir', exportDir], { env });
    expect(text.stdout).toContain('"Sales Data"."Order Lines"');

    // A second run finds nothing to do.
    const again = await exportData(exportDir, db);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already complete');
  });

  it.skipIf(!HAVE_DATASETS)('pagila with its data', async () => {
    const db = await createDatabase(source, 'snapx_pagila');
    databases.push(db);
    await psqlFile(source, db, PAGILA_SCHEMA);
    await psqlFile(source, db, PAGILA_DATA);
    const exportDir = newExportDir('snapx-pagila');
    await exportSchema(exportDir, db);
    const r = await exportData(exportDir, db, ['--parallel-jobs', '2']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await expectExportEqualsSource(exportDir, db);
    const { tables } = recorded(exportDir);
    expect(tables.map((t) => t.tableKey)).toContain('"public"."payment"');
  });

  it('splits a big table into page ranges whose union is exactly the table', async () => {
    const db = await createDatabase(source, 'snapx_big');
    databases.push(db);
    await runSql(source, db, `
      CREATE TABLE big (id bigint PRIMARY KEY, v text, n numeric);
      INSERT INTO big SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 200000) g;
      DELETE FROM big WHERE id % 13 = 0;
      CREATE TABLE small (k text PRIMARY KEY);
      INSERT INTO small VALUES ('a'), ('b');`);
    const exportDir = newExportDir('snapx-big');
    await exportSchema(exportDir, db);
    const r = await exportData(exportDir, db, ['--parallel-jobs', '4'], { GODWIT_SNAPSHOT_CHUNK_PAGES: '100' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { chunks } = recorded(exportDir);
    const big = chunks.filter((c) => c.tableKey === '"public"."big"').sort((a, b) => (a.firstPage ?? 0) - (b.firstPage ?? 0));
    expect(big.length).toBeGreaterThan(10);
    expect(big[0]?.firstPage).toBe(0);
    for (let i = 1; i < big.length; i++) expect(big[i]?.firstPage).toBe(big[i - 1]?.endPage);
    expect(big.at(-1)?.endPage).toBeNull();
    expect(chunks.filter((c) => c.tableKey === '"public"."small"').map((c) => [c.firstPage, c.endPage])).toEqual([[null, null]]);
    await expectExportEqualsSource(exportDir, db);
  });
});

describe('export data from source refuses bad input clearly', () => {
  it('before export schema ran', async () => {
    const db = await createDatabase(source, 'snapx_noschema');
    databases.push(db);
    const exportDir = newExportDir('snapx-noschema');
    const r = await exportData(exportDir, db);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('holds no source catalog');
    expect(r.stderr).toContain('godwit export schema');
  });

  it('a --table-list name that matches nothing, a partition instead of its root, snapshot-and-changes', async () => {
    const db = await loadEverythingSchema(source, 'snapx_badlist');
    databases.push(db);
    const exportDir = newExportDir('snapx-badlist');
    await exportSchema(exportDir, db, 'everything,"Sales Data"');
    const r = await exportData(exportDir, db, ['--table-list', 'countries,"No Such Table"']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--table-list: table "No Such Table" matches no table');
    const p = await exportData(exportDir, db, ['--table-list', 'everything.measurements_2025']);
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('is a partition of everything.measurements');
    const live = await exportData(exportDir, db, ['--export-type', 'snapshot-and-changes']);
    // The fixture has tables without a key: the live export refuses before creating anything (test/live-export covers it).
    expect(live.code).toBe(7);
    expect(live.stderr).toContain('NOT ready for change capture');
    expect(existsSync(join(exportDir, 'data')) ? readdirSync(join(exportDir, 'data')).filter((n) => n !== 'queue') : []).toEqual([]);

    // A list selects only those tables; --start-clean starts over with another list.
    const some = await exportData(exportDir, db, ['--table-list', 'countries,"Sales Data"."Order Lines"', '--exclude-table-list', 'countries']);
    expect(some.code).toBe(0);
    expect(recorded(exportDir).tables.map((t) => t.tableKey)).toEqual(['"Sales Data"."Order Lines"']);
    const other = await exportData(exportDir, db, ['--table-list', 'countries']);
    expect(other.code).toBe(5);
    expect(other.stderr).toContain('planned a different set of tables');
    const clean = await exportData(exportDir, db, ['--table-list', 'countries', '--start-clean', '--yes']);
    expect(clean.code).toBe(0);
    expect(recorded(exportDir).tables.map((t) => t.tableKey)).toEqual(['"everything"."countries"']);
    await expectExportEqualsSource(exportDir, db);
  });
});
