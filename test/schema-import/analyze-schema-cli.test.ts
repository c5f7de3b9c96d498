// `godwit analyze-schema` from the CLI over pagila's exported schema: all four report formats.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, servers } from '../harness/index.js';
import { HAVE_DATASETS, PAGILA_SCHEMA } from '../helpers/datasets.js';
import { exportSchemaFiles } from '../helpers/export-schema-files.js';
import { psqlFile } from '../helpers/psql.js';
import { runGodwit } from '../helpers/run-godwit.js';

describe.skipIf(!HAVE_DATASETS)('analyze-schema on pagila (needs ../shared/datasets)', () => {
  it('writes the report in html, json, txt and xml', async () => {
    const { source } = servers();
    const db = await createDatabase(source, 'analyze_pagila');
    await psqlFile(source, db, PAGILA_SCHEMA);
    const dir = await exportSchemaFiles(source, db);
    for (const format of ['html', 'json', 'txt', 'xml']) {
      const r = await runGodwit(['analyze-schema', '--export-dir', dir.root, '--output-format', format]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^analyze-schema: \d+ issues in \d+ schema files\./);
      const file = join(dir.reportsDir, `schema_analysis_report.${format}`);
      expect(r.stdout).toContain(`report: ${file}`);
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain('GIST_INDEX');
    }
    const json = JSON.parse(readFileSync(join(dir.reportsDir, 'schema_analysis_report.json'), 'utf8')) as { issues: { type: string; objectName: string; file: string }[] };
    expect(json.issues).toContainEqual(expect.objectContaining({ type: 'PARTITIONED_TABLE', objectName: 'public.payment', file: 'schema/tables/table.sql' }));
    // The files are read folder by folder (constraints/ before tables/): every pagila table has its
    // primary key, added by an ALTER TABLE in another file.
    expect(json.issues.filter((issue) => issue.type === 'TABLE_WITHOUT_PRIMARY_KEY')).toEqual([]);
  });
});

describe('analyze-schema without an exported schema', () => {
  it('says to run export schema first', async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const empty = join(mkdtempSync(join(tmpdir(), 'godwit-analyze-')), 'export');
    const r = await runGodwit(['analyze-schema', '--export-dir', empty]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('error: There is no exported schema in');
    expect(r.stderr).toContain('Run `godwit export schema` first.');
  });
});
