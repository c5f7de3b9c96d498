// The snapshot migration as a user runs it: export schema, import schema, then `export data from
// source` and `import data to target` side by side, both SIGKILLed at random moments and restarted
// with the same commands until they finish; every table must then be identical on both sides.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDatabase, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { startGodwit } from '../snapshot-export/helpers.js';
import { EVERYTHING_SCHEMAS, loadEverythingSchema } from '../schema-export/fixture.js';
import { sequenceValues, tableChecksums } from '../snapshot-import/fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

describe('snapshot migration end to end, exporter and importer killed at random', () => {
  it('every row arrives exactly once', async () => {
    const sourceDb = await loadEverythingSchema(source, 'e2e_src');
    // Enough rows for many chunks and batches, so kills land in the middle of the work.
    await runSql(source, sourceDb, `
      CREATE TABLE everything.bulk (id bigint PRIMARY KEY, payload text NOT NULL, at timestamptz NOT NULL DEFAULT now());
      INSERT INTO everything.bulk SELECT g, repeat(md5(g::text), 4), now() - g * interval '1 second' FROM generate_series(1, 150000) g;`);
    const targetDb = await createDatabase(target, 'e2e_dst');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-e2e-')), 'export');
    const dirArgs = ['--export-dir', exportDir];
    const schemaFlag = ['--source-db-schema', 'everything,"Sales Data"'];
    expect((await runGodwit(['export', 'schema', ...dirArgs, ...connection(source, 'source', sourceDb), ...schemaFlag], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', ...dirArgs, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);

    const exportArgs = ['export', 'data', 'from', 'source', ...dirArgs, ...connection(source, 'source', sourceDb), ...schemaFlag, '--parallel-jobs', '2'];
    const importArgs = ['import', 'data', 'to', 'target', ...dirArgs, ...connection(target, 'target', targetDb), '--parallel-jobs', '2', '--batch-size', '2000'];
    const small = { GODWIT_SNAPSHOT_CHUNK_PAGES: '40' };
    // The killed rounds read each chunk a little later, so that the kills land while both still work.
    const slow = { ...small, GODWIT_TEST_CHUNK_DELAY_MS: '40' };
    let kills = 0;
    for (let round = 0; round < 4; round++) {
      const exporter = startGodwit(exportArgs, { ...env, ...slow });
      const importer = startGodwit(importArgs, env);
      await new Promise((resolve) => setTimeout(resolve, 400 + Math.floor(Math.random() * 1500)));
      for (const process of [exporter, importer]) {
        if (process.child.exitCode === null) {
          process.child.kill('SIGKILL');
          kills++;
        }
      }
      await Promise.all([exporter.done, importer.done]);
    }
    const [exported, imported] = await Promise.all([
      runGodwit(exportArgs, { env: { ...env, ...small }, timeoutMs: 120_000 }),
      runGodwit(importArgs, { env, timeoutMs: 120_000 }),
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(imported.code, imported.stderr).toBe(0);
    expect(kills).toBeGreaterThan(0);
    expect(await tableChecksums(target, targetDb, EVERYTHING_SCHEMAS)).toEqual(await tableChecksums(source, sourceDb, EVERYTHING_SCHEMAS));
    expect(await sequenceValues(target, targetDb, EVERYTHING_SCHEMAS)).toEqual(await sequenceValues(source, sourceDb, EVERYTHING_SCHEMAS));
  }, 300_000);
});
