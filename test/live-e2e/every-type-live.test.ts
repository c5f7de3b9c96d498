// Every type of DESIGN.md section 5 through the change stream, not only the snapshot: the everything
// fixture (every built-in type family, enums, domains, composite, arrays with NULLs and quotes, jsonb,
// bytea, numeric(1000,500), NaN and infinities, partitions of two levels, REPLICA IDENTITY FULL and
// USING INDEX, quoted and Unicode names) streamed live while every row of every table is rewritten
// (each UPDATE carries every column), copied with new keys and partly deleted; after the cutover every
// table must be identical. (The table without a replica identity is left out: it is snapshot-only.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, runSql, servers } from '../harness/index.js';
import { psqlFile } from '../helpers/psql.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { EVERYTHING_SCHEMA_FILE } from '../schema-export/fixture.js';
import { connectionArgs as connection, databasePair, harnessEnv, schemaPhase, slotStreaming, waitUntil } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();


/** Rewrites one ordinary column of every row of every published table to its own value: the UPDATE carries every column. */
const REWRITE_EVERY_ROW = `
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT n.nspname, c.relname, (SELECT a.attname FROM pg_attribute a
                                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' AND a.attidentity = ''
                                   ORDER BY a.attnum DESC LIMIT 1) AS col
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname IN ('everything', 'Sales Data') AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'page_views'
  LOOP
    IF r.col IS NOT NULL THEN
      EXECUTE format('UPDATE %I.%I SET %I = %I', r.nspname, r.relname, r.col, r.col);
    END IF;
  END LOOP;
END $$;
CREATE TEMP TABLE copies AS SELECT * FROM everything.all_types;
UPDATE copies SET id = id + 100000;
INSERT INTO everything.all_types OVERRIDING SYSTEM VALUE SELECT * FROM copies;
DELETE FROM everything.all_types WHERE id > 100000 AND id % 2 = 0;
UPDATE everything.all_types SET c_text = coalesce(c_text, '') || ' ü "q" '',', c_int_array = c_int_array || NULL::int WHERE id > 100000;`;

describe('every type through the change stream', () => {
  it('arrives identical after inserts, full-row updates and deletes of every table', async () => {
    const { sourceDb, targetDb } = await databases('types_live');
    await psqlFile(source, sourceDb, EVERYTHING_SCHEMA_FILE);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-types-live-')), 'export')];
    const schemas = 'everything,"Sales Data"';
    const src = [...connection(source, 'source', sourceDb), '--source-db-schema', schemas];
    const dst = [...connection(target, 'target', targetDb), '--target-db-schema', schemas];
    await schemaPhase(dir, src, dst, env);
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes', '--exclude-table-list', 'everything.page_views'], { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    await waitUntil('streaming', () => slotStreaming(source, sourceDb));
    await runSql(source, sourceDb, REWRITE_EVERY_ROW);
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect([exported.code, imported.code], exported.stderr + imported.stderr).toEqual([0, 0]);
    const [sourceSums, targetSums] = await Promise.all([tableChecksums(source, sourceDb, ['everything', 'Sales Data']), tableChecksums(target, targetDb, ['everything', 'Sales Data'])]);
    for (const sums of [sourceSums, targetSums]) delete sums['everything.page_views'];
    expect(targetSums).toEqual(sourceSums);
    const [copies] = await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM everything.all_types WHERE id > 100000');
    expect(Number(copies?.n)).toBeGreaterThan(0);
  }, 180_000);
});
