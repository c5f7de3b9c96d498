import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { analyzeSchema } from '../../src/schema/analyze/analyze-schema.js';
import { parseSqlText } from '../../src/schema/parse/parse-sql.js';
import { SqlSyntaxError } from '../../src/schema/parse/sql-syntax-error.js';
import { stripPsqlMetaCommands } from '../../src/schema/parse/strip-psql-meta.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const datasets = resolve(repoRoot, '../shared/datasets');
const noDatasets = !existsSync(datasets);

describe('parseSqlText', () => {
  it('cuts exact statement text and 1-based start lines, also after multi-byte characters', async () => {
    const text = "SET x = 'ünïcødé 🐦';\n\n-- comment ü\nCREATE DOMAIN public.\"bıgınt\" AS bigint  ;\n/* é */ CREATE TABLE t (a int);";
    const statements = await parseSqlText(text, 'f.sql');
    expect(statements.map((s) => [s.line, s.sql])).toEqual([
      [1, "SET x = 'ünïcødé 🐦'"],
      [4, 'CREATE DOMAIN public."bıgınt" AS bigint'],
      [5, 'CREATE TABLE t (a int)'],
    ]);
    expect(statements[1]?.objectName).toBe('public."bıgınt"');
  });

  it('strips \\restrict, \\unrestrict and other psql lines, keeping line numbers', async () => {
    const text = '\\restrict abc123\nCREATE SCHEMA s;\n\\connect db\nCREATE TABLE s.t (a text DEFAULT \'\n\\not a command\');\n\\unrestrict abc123\n';
    const statements = await parseSqlText(text, 'dump.sql');
    expect(statements.map((s) => [s.line, s.kind])).toEqual([
      [2, 'schema'],
      [4, 'table'],
    ]);
    expect(statements[1]?.sql).toContain('\\not a command');
    expect(stripPsqlMetaCommands(text).strippedLines).toEqual([1, 3, 6]);
  });

  it('skips COPY ... FROM stdin data blocks', async () => {
    const text = 'COPY t (a) FROM stdin;\n1\n\\N\n\\.\nSELECT 1;';
    const statements = await parseSqlText(text, 'data.sql');
    expect(statements.map((s) => [s.line, s.kind])).toEqual([
      [1, 'data'],
      [5, 'other'],
    ]);
  });

  it('turns a syntax error into a typed error naming file, line and the parser message', async () => {
    const text = "CREATE TABLE a (x int);\n-- é\nCREATE TABLE b (\n  y int,\n  z intt text\n);";
    const error = await parseSqlText(text, 'schema/tables/table.sql').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqlSyntaxError);
    expect((error as SqlSyntaxError).line).toBe(5);
    expect((error as SqlSyntaxError).message).toMatch(/^schema\/tables\/table\.sql, line 5: syntax error at or near "text"/);
  });

  const kinds: [string, string, string | undefined, string | undefined][] = [
    ['CREATE SCHEMA app', 'schema', 'app', undefined],
    ['CREATE EXTENSION IF NOT EXISTS pgcrypto', 'extension', 'pgcrypto', undefined],
    ["CREATE TYPE app.mood AS ENUM ('a')", 'type', 'app.mood', undefined],
    ['CREATE DOMAIN app.d AS int', 'domain', 'app.d', undefined],
    ['CREATE SEQUENCE app.s', 'sequence', 'app.s', undefined],
    ['CREATE TABLE app."Sales Data" (a int)', 'table', 'app."Sales Data"', undefined],
    ['CREATE TABLE app.p1 PARTITION OF app.p FOR VALUES FROM (1) TO (2)', 'partition', 'app.p1', 'app.p'],
    ['ALTER TABLE ONLY app.p ATTACH PARTITION app.p2 FOR VALUES FROM (2) TO (3)', 'partition', 'app.p2', 'app.p'],
    ['CREATE INDEX i ON app.t (a)', 'index', 'app.i', 'app.t'],
    ['ALTER TABLE ONLY app.t ADD CONSTRAINT t_pkey PRIMARY KEY (a)', 'constraint', 't_pkey', 'app.t'],
    ['CREATE FUNCTION app.f(a int, OUT b text) RETURNS text LANGUAGE sql AS $$ SELECT 1 $$', 'function', 'app.f(integer)', undefined],
    ['CREATE PROCEDURE app.p() LANGUAGE sql AS $$ SELECT 1 $$', 'procedure', 'app.p()', undefined],
    ['CREATE AGGREGATE app.agg(text) (SFUNC = textcat, STYPE = text)', 'aggregate', 'app.agg(text)', undefined],
    ['CREATE TRIGGER tr AFTER INSERT ON app.t FOR EACH ROW EXECUTE FUNCTION app.f()', 'trigger', 'tr', 'app.t'],
    ['CREATE VIEW app.v AS SELECT 1', 'view', 'app.v', undefined],
    ['CREATE MATERIALIZED VIEW app.mv AS SELECT 1', 'materialized-view', 'app.mv', undefined],
    ['CREATE POLICY pol ON app.t USING (true)', 'policy', 'pol', 'app.t'],
    ["COMMENT ON COLUMN app.t.a IS 'x'", 'comment', 'app.t.a', 'app.t'],
    ['GRANT SELECT ON app.t TO bob', 'grant', 'app.t', undefined],
    ['ALTER TABLE app.t OWNER TO bob', 'owner', 'app.t', undefined],
    ['ALTER FUNCTION app.f(int) OWNER TO bob', 'owner', 'app.f(integer)', undefined],
    ['SET search_path = app', 'set', 'search_path', undefined],
    ["SELECT pg_catalog.set_config('search_path', '', false)", 'set', undefined, undefined],
    ['CREATE RULE r AS ON INSERT TO app.t DO INSTEAD NOTHING', 'rule', 'r', 'app.t'],
    ["CREATE COLLATION app.c (locale = 'C')", 'collation', 'app.c', undefined],
    ['CREATE OPERATOR app.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = int4eq)', 'operator', 'app.===', undefined],
    ['CREATE PUBLICATION pub FOR ALL TABLES', 'publication', 'pub', undefined],
    ['CREATE TEXT SEARCH CONFIGURATION app.ts (COPY = english)', 'text-search', 'app.ts', undefined],
    ['CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION f()', 'event-trigger', 'et', undefined],
    ['INSERT INTO t VALUES (1)', 'data', 't', 't'],
    ['DROP TABLE t', 'drop', undefined, undefined],
  ];
  it.each(kinds)('classifies %s', async (sql, kind, objectName, tableName) => {
    const [statement] = await parseSqlText(`${sql};`, 'k.sql');
    expect(statement).toMatchObject({ kind, objectName, tableName });
  });

  it('flags foreign keys and NOT VALID constraints', async () => {
    const [fk, check] = await parseSqlText(
      'ALTER TABLE ONLY t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p (id) NOT VALID;\nALTER TABLE t ADD CONSTRAINT c CHECK (a > 0);',
      'c.sql',
    );
    expect(fk).toMatchObject({ kind: 'constraint', foreignKey: true, notValid: true });
    expect(check).toMatchObject({ kind: 'constraint', foreignKey: false, notValid: false });
  });
});

describe.skipIf(noDatasets)('sample datasets (need ../shared/datasets)', () => {
  it('parses and classifies every statement of pagila and chinook', async () => {
    for (const file of ['pagila/pagila-schema.sql', 'chinook/Chinook_PostgreSql.sql']) {
      const text = readFileSync(resolve(datasets, file), 'utf8');
      const statements = await parseSqlText(text, file);
      expect(statements.length).toBeGreaterThan(50);
      expect(statements.filter((s) => s.kind === 'other').map((s) => s.sql)).toEqual([]);
      for (const s of statements) expect(text.split('\n')[s.line - 1]).toContain(s.sql.split('\n')[0]);
    }
  });

  it('reports plausible issues for pagila', async () => {
    const text = readFileSync(resolve(datasets, 'pagila/pagila-schema.sql'), 'utf8');
    const report = analyzeSchema(await parseSqlText(text, 'pagila-schema.sql'));
    const has = (type: string, name: string): boolean => report.issues.some((i) => i.type === type && i.objectName === name);
    expect(has('GIST_INDEX', 'public.film_fulltext_idx ON public.film')).toBe(true);
    expect(has('PARTITIONED_TABLE', 'public.payment')).toBe(true);
    expect(has('MATERIALIZED_VIEW', 'public.rental_by_category')).toBe(true);
    expect(has('REDUNDANT_INDEX', 'public.payment_p2022_01_customer_id_idx ON public.payment_p2022_01')).toBe(true);
    expect(has('HOTSPOT_ON_TIMESTAMP_INDEX', 'public.idx_unq_rental_rental_date_inventory_id_customer_id ON public.rental')).toBe(true);
    expect(has('PLPGSQL_DYNAMIC_SQL', 'public.rewards_report(integer, numeric)')).toBe(true);
    // pagila's triggers are BEFORE ROW triggers on plain tables: supported, so not reported.
    expect(report.issues.filter((i) => i.objectType === 'trigger')).toEqual([]);
    expect(report.summary.byObjectType.find((o) => o.objectType === 'trigger')?.totalObjects).toBe(15);
    expect(report.issues.some((i) => i.type === 'TABLE_WITHOUT_PRIMARY_KEY')).toBe(false);
  });
});
