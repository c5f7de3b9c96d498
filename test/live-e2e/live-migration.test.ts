// The live migration as a user runs it, with the real commands side by side: export schema, import
// schema, then `export data from source --export-type snapshot-and-changes` and `import data to
// target` running while an application writes to the source (inserts, updates that leave a TOASTed
// column unchanged, deletes, primary-key changes), both SIGKILLed once mid-stream and started again
// with the same commands. After the workload stops, the target must become identical to the source,
// and both commands must stop cleanly on SIGTERM.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConfig, createDatabase, dropDatabase, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, type RunningGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
const created: [HarnessServer, string][] = [];
afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
});

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

const SCHEMA = `
  CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, note text);
  INSERT INTO accounts SELECT g, 0, CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 200) END FROM generate_series(1, 5000) g;
  CREATE TABLE events (id bigserial PRIMARY KEY, account_id bigint NOT NULL, amount int NOT NULL, at timestamptz NOT NULL DEFAULT now());
  INSERT INTO events (account_id, amount) SELECT g % 5000 + 1, g FROM generate_series(1, 20000) g;`;

/** Small transactions against the source until stopped: the application. */
async function workload(database: string, stop: { now: boolean }): Promise<number> {
  const client = new pg.Client(adminConfig(source, database));
  await client.connect();
  let transactions = 0;
  try {
    while (!stop.now) {
      const id = 1 + Math.floor(Math.random() * 5000);
      await client.query('BEGIN');
      await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [id]); // note (TOAST) unchanged
      await client.query('INSERT INTO events (account_id, amount) VALUES ($1, $2)', [id, transactions]);
      if (transactions % 7 === 0) await client.query('DELETE FROM events WHERE id = (SELECT min(id) FROM events)');
      if (transactions % 50 === 0) await client.query('UPDATE accounts SET id = id + 1000000 WHERE id = $1', [id]); // key change
      if (transactions % 11 === 0) await client.query("UPDATE accounts SET note = 'changed ' || $2 WHERE id = $1", [id, transactions]);
      await client.query('COMMIT');
      transactions++;
    }
  } finally {
    await client.end();
  }
  return transactions;
}

describe('live migration end to end', () => {
  it('the target becomes identical to the source under a workload, with both processes killed once', async () => {
    const sourceDb = await createDatabase(source, 'live_e2e_src');
    const targetDb = await createDatabase(target, 'live_e2e_dst');
    created.push([source, sourceDb], [target, targetDb]);
    await runSql(source, sourceDb, SCHEMA);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-live-e2e-')), 'export')];
    expect((await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);

    const exportArgs = ['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb), '--export-type', 'snapshot-and-changes', '--parallel-jobs', '2'];
    const importArgs = ['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb), '--parallel-jobs', '2'];
    const slow = { GODWIT_SNAPSHOT_CHUNK_PAGES: '8', GODWIT_TEST_CHUNK_DELAY_MS: '30' };
    const stop = { now: false };
    const app = workload(sourceDb, stop);
    let exporter: RunningGodwit = startGodwit(exportArgs, { env: { ...env, ...slow } });
    let importer: RunningGodwit = startGodwit(importArgs, { env });
    await new Promise((resolve) => setTimeout(resolve, 5000));
    // Both killed while streaming and applying, then started again with the same commands.
    for (const running of [exporter, importer]) running.child.kill('SIGKILL');
    const killed = await Promise.all([exporter.done, importer.done]);
    expect(killed.map((r) => r.code), killed.map((r) => r.stderr).join('\n')).toEqual([null, null]);
    exporter = startGodwit(exportArgs, { env });
    importer = startGodwit(importArgs, { env });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    stop.now = true;
    const transactions = await app;
    expect(transactions).toBeGreaterThan(100);

    const expected = await tableChecksums(source, sourceDb, ['public']);
    let actual: Record<string, string> = {};
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      actual = await tableChecksums(target, targetDb, ['public']);
      if (JSON.stringify(actual) === JSON.stringify(expected)) break;
      if (exporter.child.exitCode !== null || importer.child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const running of [exporter, importer]) running.child.kill('SIGTERM');
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(imported.code, imported.stderr).toBe(0);
    expect(actual).toEqual(expected);
    expect(imported.stdout).toMatch(/remaining/i);
    const report = await runGodwit(['get', 'data-migration-report', ...dir, '--output-format', 'json'], { env });
    expect(report.code, report.stderr).toBe(0);
  }, 240_000);
});
