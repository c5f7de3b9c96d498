// The snapshot's two file formats end to end through the CLI (PostgreSQL 15 -> 17): a table whose
// columns are all built-in types with a stable binary form travels as bare COPY binary tuples, and
// its hard values (NaN and infinities, arrays with NULLs, quotes and commas, bytea zero bytes,
// Unicode, extreme timestamps) arrive bit-identical; a table with an enum, a domain or another type
// outside that set travels as COPY text. A damaged file is refused (its row index's CRC-32s) and
// nothing of the damaged batch is loaded.
import { readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

const SCHEMA = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE TABLE stable_types (
    id bigint PRIMARY KEY, c_bool boolean, c_int2 smallint, c_int4 integer, c_float4 real, c_float8 double precision,
    c_numeric numeric, c_numeric_wide numeric(1000, 500), c_text text, c_varchar varchar(20), c_char char(5), c_bytea bytea,
    c_date date, c_time time, c_timestamp timestamp, c_timestamptz timestamptz, c_interval interval, c_uuid uuid,
    c_json json, c_jsonb jsonb, c_inet inet, c_cidr cidr, c_int_array integer[], c_int_matrix integer[][],
    c_text_array text[], c_numeric_array numeric[], c_jsonb_array jsonb[]);
  INSERT INTO stable_types VALUES
    (1, true, -32768, 2147483647, 'NaN', '-Infinity', 'NaN', '1.5e490', E'tab\\there "quoted", comma\\nnewline \\\\ backslash', 'ünïcødé ✓', 'ab',
     '\\x00ff00'::bytea, '-infinity', '24:00', 'infinity', '2024-02-29 23:59:59.999999+14', '-178000000 years 3 mons 2 days 0.000001 sec',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": [1, 2], "a": null}', '{"z": {"nested": ["x", null, 1.0e10]}}', '2001:db8::1/64', '10.0.0.0/8',
     '{1,NULL,3}', '{{1,2},{3,NULL}}', '{"a,b","c\\"d",NULL,"","NULL"}', '{NaN,Infinity,-0.0001,NULL}', ARRAY['{"k": 1}'::jsonb, NULL]),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL),
    (3, false, 0, 0, '-0', 1e308, '-Infinity', 0, '', '', '', '', '4713-01-01 BC', '00:00', '4713-01-01 00:00:00 BC', '294276-12-31 23:59:59.999999+00',
     '0', '00000000-0000-0000-0000-000000000000', 'null', '[]', '0.0.0.0', '::/0', '{}', '{}', '{}', '{}', '{}');
  INSERT INTO stable_types (id, c_int4, c_text, c_bytea, c_numeric)
    SELECT g, g, repeat(md5(g::text), g % 7), decode(repeat('00ff', g % 5), 'hex'), g / 7.0 FROM generate_series(4, 30000) g;
  CREATE TABLE empty_stable (id integer PRIMARY KEY, v text);
  CREATE TABLE padded_chars (id integer PRIMARY KEY, c char(40), b bpchar, ca char(3)[]);
  INSERT INTO padded_chars VALUES (1, 'ab', 'x  ', '{"a","b  ",NULL}'), (2, '', '  ', '{}'), (3, ' a b ', NULL, NULL), (4, NULL, '', NULL),
    (5, 'ünï  cødé', ' ', '{" "}');
  INSERT INTO padded_chars SELECT g, repeat('z', g % 41), repeat(' ', g % 3), NULL FROM generate_series(6, 3000) g;
  CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
  CREATE TABLE with_enum (id integer PRIMARY KEY, m mood, moods mood[], p positive, amount money);
  INSERT INTO with_enum SELECT g, (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, ARRAY['ok'::mood, NULL], g, g FROM generate_series(1, 2000) g;`;

describe('snapshot file formats', () => {
  it('built-in types travel as COPY binary, others as text, and both arrive bit-identical', async () => {
    const sourceDb = await createDatabase(source, 'formats_src');
    await runSql(source, sourceDb, SCHEMA);
    const targetDb = await createDatabase(target, 'formats_dst');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-formats-')), 'export');
    const dir = ['--export-dir', exportDir];
    expect((await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);
    const exported = await runGodwit(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb)], {
      env: { ...env, GODWIT_SNAPSHOT_CHUNK_PAGES: '50' },
    });
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const files = (table: string): string[] => readdirSync(join(exportDir, 'data')).filter((d) => d.startsWith(`public.${table}-`))
      .flatMap((d) => readdirSync(join(exportDir, 'data', d))).filter((f) => !f.endsWith('.index.json'));
    expect(files('stable_types').length).toBeGreaterThan(3);
    expect(files('stable_types').every((f) => f.endsWith('.copybin'))).toBe(true);
    expect(files('with_enum')).toEqual(['00001.copy']);
    expect(files('empty_stable')).toEqual(['00001.copybin']);
    // character(40) values travel without their trailing spaces (about 20 bytes a row less here); bpchar without a length keeps them.
    const paddedDir = readdirSync(join(exportDir, 'data')).find((d) => d.startsWith('public.padded_chars-')) ?? '';
    const paddedBytes = files('padded_chars').reduce((n, f) => n + readFileSync(join(exportDir, 'data', paddedDir, f)).length, 0);
    expect(paddedBytes).toBeLessThan(3000 * 50);

    const imported = await runGodwit(['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb), '--batch-size', '700'], { env });
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(await tableChecksums(target, targetDb, ['public'])).toEqual(await tableChecksums(source, sourceDb, ['public']));
    const sample = `SELECT c_float4::text, c_float8::text, c_numeric::text, c_bytea::text, c_timestamptz::text, c_int_matrix::text FROM stable_types WHERE id <= 3 ORDER BY id`;
    expect(await query(target, targetDb, sample)).toEqual(await query(source, sourceDb, sample));
    const lengths = `SELECT id, octet_length(c) AS c, octet_length(b) AS b, c::text AS ct, b::bytea::text AS bb, ca::text AS ca FROM padded_chars ORDER BY id`;
    expect(await query(target, targetDb, lengths)).toEqual(await query(source, sourceDb, lengths));
    expect(await query(target, targetDb, 'SELECT octet_length(c) AS c, octet_length(b) AS b FROM padded_chars WHERE id = 1')).toEqual([{ c: 40, b: 3 }]);
  }, 120_000);

  it('a damaged binary file is refused with its name, before any of its rows is loaded', async () => {
    const sourceDb = await createDatabase(source, 'formats_bad_src');
    await runSql(source, sourceDb, `CREATE TABLE t (id integer PRIMARY KEY, v text); INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 1000) g;`);
    const targetDb = await createDatabase(target, 'formats_bad_dst');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-formats-')), 'export');
    const dir = ['--export-dir', exportDir];
    expect((await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);
    expect((await runGodwit(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    const folder = readdirSync(join(exportDir, 'data')).find((d) => d.startsWith('public.t-')) ?? '';
    const file = join(exportDir, 'data', folder, '00001.copybin');
    const bytes = readFileSync(file);
    bytes.writeInt32BE(-7, 2 + 4 + 4 + 2); // the first tuple's second field length
    writeFileSync(file, bytes);
    const imported = await runGodwit(['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb)], { env });
    expect(imported.code).toBe(5);
    expect(imported.stderr).toContain(`data/${folder}/00001.copybin does not match what the export recorded`);
    expect(await query(target, targetDb, 'SELECT count(*)::int AS n FROM t')).toEqual([{ n: 0 }]);
  }, 120_000);

  it('a binary table whose target column has another type is refused before any of its rows is loaded', async () => {
    const sourceDb = await createDatabase(source, 'formats_type_src');
    await runSql(source, sourceDb, `CREATE TABLE events (id integer PRIMARY KEY, at timestamp, label varchar(10));
      INSERT INTO events SELECT g, '2024-01-01'::timestamp + g * interval '1 minute', 'e' || g FROM generate_series(1, 500) g;`);
    const targetDb = await createDatabase(target, 'formats_type_dst');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-formats-')), 'export');
    const dir = ['--export-dir', exportDir];
    expect((await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);
    expect((await runGodwit(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    // A wider string type reads the same bytes: allowed. A timestamp read as timestamptz would shift silently: refused.
    await runSql(target, targetDb, 'ALTER TABLE events ALTER COLUMN label TYPE text, ALTER COLUMN at TYPE timestamptz');
    const importArgs = ['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb)];
    const refused = await runGodwit(importArgs, { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Table public.events, column "at": the snapshot holds timestamp without time zone values in COPY binary format, but the target column is timestamp with time zone');
    expect(await query(target, targetDb, 'SELECT count(*)::int AS n FROM events')).toEqual([{ n: 0 }]);
    expect(refused.stderr).toContain('--snapshot-format text');

    // Exported again in text, the values are converted as they load (in the session's time zone).
    const again = await runGodwit(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb), '--start-clean', '--yes', '--snapshot-format', 'text'], { env });
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    const folder = readdirSync(join(exportDir, 'data')).find((d) => d.startsWith('public.events-')) ?? '';
    expect(readdirSync(join(exportDir, 'data', folder)).filter((f) => !f.endsWith('.index.json'))).toEqual(['00001.copy']);
    const loaded = await runGodwit(importArgs, { env });
    expect(loaded.stderr).toBe('');
    expect(loaded.code).toBe(0);
    const show = "SELECT count(*)::int AS n, min(to_char(at, 'YYYY-MM-DD HH24:MI')) AS first FROM events";
    expect(await query(target, targetDb, show)).toEqual(await query(source, sourceDb, show));
  }, 120_000);
});
