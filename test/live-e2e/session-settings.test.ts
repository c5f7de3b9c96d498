// Values travel the change stream as text, printed by the source's walsender and read by the target's
// sessions: settings that change how values are printed must not change what lands. A source database
// set to DateStyle 'SQL, DMY', IntervalStyle sql_standard and extra_float_digits 0 (dates as 02/12/2026,
// floats rounded to 15 digits), and a target database set to DateStyle 'SQL, MDY' (which reads
// 02/12/2026 as February 12): after streaming inserts and updates, the target must hold the same values.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSql, servers, withClient, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { connectionArgs as connection, databasePair, harnessEnv, schemaPhase, slotStreaming, waitUntil } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();

/** The rows in one unambiguous spelling, whatever the database's settings. */
async function rows(server: HarnessServer, database: string): Promise<unknown[]> {
  return withClient(server, database, async (client) => {
    await client.query("SET datestyle = 'ISO, YMD'; SET intervalstyle = postgres; SET extra_float_digits = 3");
    return (await client.query('SELECT id, d::text, ts::text, f::text, iv::text FROM t ORDER BY id')).rows;
  });
}

describe('session settings that change how values are printed', () => {
  it('leave the values that land on the target unchanged', async () => {
    const { sourceDb, targetDb } = await databases('settings');
    await runSql(source, sourceDb, 'CREATE TABLE t (id int PRIMARY KEY, d date, ts timestamp, f float8, iv interval)');
    await runSql(source, sourceDb, "INSERT INTO t VALUES (1, '2026-12-02', '2026-12-02 14:15:19.5', 0.1, '1 day')");
    await runSql(source, sourceDb, `ALTER DATABASE "${sourceDb}" SET datestyle = 'SQL, DMY'; ALTER DATABASE "${sourceDb}" SET intervalstyle = sql_standard; ALTER DATABASE "${sourceDb}" SET extra_float_digits = 0`);
    await runSql(target, targetDb, `ALTER DATABASE "${targetDb}" SET datestyle = 'SQL, MDY'`);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-settings-')), 'export')];
    const src = connection(source, 'source', sourceDb);
    const dst = connection(target, 'target', targetDb);
    await schemaPhase(dir, src, dst, env);
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    await waitUntil('streaming', () => slotStreaming(source, sourceDb));
    await runSql(
      source,
      sourceDb,
      `INSERT INTO t VALUES (2, '2026-12-02', '2026-01-11 23:59:59.999999', 0.1 + 0.2, '-1 year 2 mons -3 days 04:05:06.5'),
                            (3, '1999-03-04', '1999-04-03 01:02:03', 1e300 / 3, '-04:05:06');
       INSERT INTO t SELECT g, date '2026-01-01' + g, timestamp '2026-01-01 00:00:00.25' + g * interval '1 hour', g / 7.0, g * interval '-1 day 1 sec' FROM generate_series(10, 200) g;
       UPDATE t SET d = date '2026-06-07', f = f / 3, iv = iv - interval '1 year -1 mon' WHERE id = 1 OR id % 5 = 0;`,
    );
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect([exported.code, imported.code], exported.stderr + imported.stderr).toEqual([0, 0]);
    const [expected, actual] = await Promise.all([rows(source, sourceDb), rows(target, targetDb)]);
    expect(expected).toHaveLength(194);
    expect(actual).toEqual(expected);
  }, 180_000);
});
