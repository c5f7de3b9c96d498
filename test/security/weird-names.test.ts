// Names real schemas carry (issue 7): quotes, spaces, Unicode, upper case, SQL keywords and the
// maximum identifier length (63 bytes) in schema, table, column, sequence and index names, through the
// whole live path as a user runs it: export schema, import schema, snapshot and changes under writes
// (inserts, updates, key changes, deletes), cutover to target. The data must arrive identical and every
// name intact; nothing may be built by pasting names into SQL unquoted.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, runSql, servers } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { connectionArgs as connection, databasePair, harnessEnv, schemaPhase } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();


/** 63 bytes: the longest name PostgreSQL keeps whole. */
const LONG = `t${'x'.repeat(61)}z`;
const SCHEMA = 'Sales "Data" ü';
const q = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const ORDERS = `${q(SCHEMA)}.${q('Order Items')}`;
const LONG_TABLE = `${q(SCHEMA)}.${q(LONG)}`;
const KEYWORDS = `${q(SCHEMA)}.${q('select')}`;

const DDL = `
  CREATE SCHEMA ${q(SCHEMA)};
  CREATE TABLE ${ORDERS} (
    ${q('Order ID')} bigint PRIMARY KEY,
    ${q('Ünïcödé Näme')} text NOT NULL,
    ${q('from')} int,
    ${q('we"ird')} text,
    ${q('CamelCase')} numeric(10, 2));
  CREATE INDEX ${q('idx with space')} ON ${ORDERS} (${q('from')});
  CREATE TABLE ${LONG_TABLE} (${q(LONG)} text PRIMARY KEY, ${q('value')} int NOT NULL);
  CREATE TABLE ${KEYWORDS} (${q('table')} serial PRIMARY KEY, ${q('order')} text, ${q('group')} int);
  INSERT INTO ${ORDERS} SELECT g, 'näme ' || g || ' 日本', g % 7, 'quote '' and " here', g / 3.0 FROM generate_series(1, 2000) g;
  INSERT INTO ${LONG_TABLE} SELECT 'key ' || g, g FROM generate_series(1, 500) g;
  INSERT INTO ${KEYWORDS} (${q('order')}, ${q('group')}) SELECT 'o' || g, g FROM generate_series(1, 300) g;`;

describe('names with quotes, spaces, Unicode, keywords and maximum length', () => {
  it('migrate live and cut over with every name and value intact', async () => {
    const { sourceDb, targetDb } = await databases('names');
    await runSql(source, sourceDb, DDL);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-names-')), 'export')];
    // The schema list follows SQL identifier rules: a quoted name is taken exactly.
    const schemaList = q(SCHEMA);
    const src = [...connection(source, 'source', sourceDb), '--source-db-schema', schemaList];
    const dst = [...connection(target, 'target', targetDb), '--target-db-schema', schemaList];
    await schemaPhase(dir, src, dst, env);
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    await runSql(source, sourceDb, `
      INSERT INTO ${ORDERS} VALUES (5001, 'neu ✓', 1, 'x"y', 1.5);
      UPDATE ${ORDERS} SET ${q('Ünïcödé Näme')} = ${q('Ünïcödé Näme')} || ' ändert' WHERE ${q('Order ID')} % 10 = 0;
      UPDATE ${ORDERS} SET ${q('Order ID')} = ${q('Order ID')} + 100000 WHERE ${q('Order ID')} BETWEEN 1 AND 20;
      DELETE FROM ${ORDERS} WHERE ${q('Order ID')} BETWEEN 21 AND 40;
      UPDATE ${LONG_TABLE} SET ${q(LONG)} = ${q(LONG)} || ' moved', ${q('value')} = -${q('value')} WHERE ${q('value')} <= 50;
      INSERT INTO ${KEYWORDS} (${q('order')}, ${q('group')}) SELECT 'new ' || g, g FROM generate_series(1, 50) g;
      DELETE FROM ${KEYWORDS} WHERE ${q('group')} % 9 = 0;`);
    // Wait until the streamed rows arrived, then cut over.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const rows = await query<{ n: string }>(target, targetDb, `SELECT count(*)::text AS n FROM ${ORDERS} WHERE ${q('Order ID')} = 5001`).catch(() => []);
      if (rows[0]?.n === '1') break;
      if (Date.now() > deadline) throw new Error('the streamed row never arrived');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(imported.code, imported.stderr).toBe(0);
    expect(await tableChecksums(target, targetDb, [SCHEMA])).toEqual(await tableChecksums(source, sourceDb, [SCHEMA]));
    // Every name arrived byte for byte, and the sequence of "select"."table" moved past the source's.
    const names = `SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1`;
    expect(await query(target, targetDb, names, [SCHEMA])).toEqual(await query(source, sourceDb, names, [SCHEMA]));
    const columns = `SELECT attname::text AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`;
    expect(await query(target, targetDb, columns, [ORDERS])).toEqual(await query(source, sourceDb, columns, [ORDERS]));
    const [next] = await query<{ id: string }>(target, targetDb, `INSERT INTO ${KEYWORDS} (${q('order')}) VALUES ('after') RETURNING ${q('table')}::text AS id`);
    expect(Number(next?.id)).toBeGreaterThan(350);
  }, 180_000);
});
