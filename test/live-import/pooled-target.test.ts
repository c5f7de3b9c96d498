// `import data to target` through a real PgBouncer in transaction mode, the way many targets are
// reached. There each transaction may run on another server connection, and a session setting stays
// on the server connection it was made on, for the pooler's other clients. So the replica role
// (invariant 8) must come with every transaction, and must not reach the application: an
// "application" client polls the settings through the same pooler while godwit loads the snapshot,
// builds the keys (pg_dump's empty search_path must not reach it either) and applies changes, and a
// trigger on the target records any row written without the replica role.
// Skipped where Debian's pgbouncer package is not installed (.ci/run installs it).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeInput } from '../../src/core/change-event.js';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { createDatabase, query, runSql, servers } from '../harness/index.js';
import { runGodwit, startGodwit, type RunningGodwit } from '../helpers/run-godwit.js';
import { findPgbouncer, startPgbouncer, type RunningPgbouncer } from '../helpers/pgbouncer.js';
import { del, ins, upd, writeTransactions } from '../apply/apply-helpers.js';
import { fakeExport } from '../snapshot-import/fake-export.js';

const { source, target } = servers();
const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
const TABLE = { schema: 'live', name: 'items' };
const KEY = ['id'];
const COLUMNS = ['id', 'name', 'n'];
const SNAPSHOT_ROWS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function connection(server: { host: string; port: number; user: string }, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user, `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

async function waitForOutput(running: RunningGodwit, pattern: RegExp, timeoutMs: number, context: () => string): Promise<void> {
  let out = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(out)) {
    if (running.child.exitCode !== null) throw new Error(`godwit exited (${running.child.exitCode}): ${out}\n${(await running.done).stderr}\n${context()}`);
    if (Date.now() > deadline) throw new Error(`no ${String(pattern)} in the output: ${out}`);
    await sleep(50);
  }
}

describe.skipIf(findPgbouncer() === undefined)(`import data to target through PgBouncer in transaction mode${findPgbouncer() === undefined ? " (skipped: Debian's pgbouncer package is not installed)" : ''}`, () => {
  let sourceDb: string;
  let targetDb: string;
  let dirPath: string;
  let dir: ExportDir;
  let store: MigrationStore;
  let bouncer: RunningPgbouncer | undefined;
  const expected = new Map<number, { name: string; n: number }>();

  beforeAll(async () => {
    sourceDb = await createDatabase(source, 'pooled_src');
    await runSql(source, sourceDb, 'CREATE SCHEMA live; CREATE TABLE live.items (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL);');
    await runSql(source, sourceDb, `INSERT INTO live.items SELECT g, 'item-' || g, 0 FROM generate_series(1, ${SNAPSHOT_ROWS}) g`);
    for (let id = 1; id <= SNAPSHOT_ROWS; id++) expected.set(id, { name: `item-${id}`, n: 0 });
    dirPath = join(mkdtempSync(join(tmpdir(), 'godwit-pooled-')), 'export');
    targetDb = await createDatabase(target, 'pooled_dst');
    expect((await runGodwit(['export', 'schema', '--export-dir', dirPath, ...connection(source, 'source', sourceDb), '--source-db-schema', 'live'], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', '--export-dir', dirPath, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);
    // A trigger of the target's own (ENABLE: fires for origin sessions only): a row godwit writes without the replica role leaves a trace.
    await runSql(
      target,
      targetDb,
      `CREATE TABLE live.audit (id int, op text, role text);
       CREATE FUNCTION live.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO live.audit VALUES (coalesce(NEW.id, OLD.id), TG_OP, current_setting('session_replication_role'));
         RETURN NULL;
       END $$;
       CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON live.items FOR EACH ROW EXECUTE FUNCTION live.audit_row();`,
    );
    dir = openExportDir(dirPath);
    await fakeExport(dir, source, sourceDb, ['live'], { kind: 'replication-slot' });
    store = openStore(dir.storeFile);
    bouncer = await startPgbouncer(target, targetDb, { poolMode: 'transaction', poolSize: 2 });
  });
  afterAll(async () => {
    store?.close();
    await bouncer?.stop();
  });

  /** Transactions of inserts, updates and deletes, applied to `expected` as they are made. */
  function workload(firstNewId: number, count: number): ChangeInput[][] {
    const transactions: ChangeInput[][] = [];
    for (let t = 0; t < count; t++) {
      const id = firstNewId + t;
      expected.set(id, { name: `item-${id}`, n: 0 });
      const tx = [ins(TABLE, KEY, COLUMNS, [String(id), `item-${id}`, '0'])];
      const bumped = 1 + ((t * 7919) % SNAPSHOT_ROWS);
      const row = expected.get(bumped);
      if (row !== undefined) {
        row.n += 1;
        tx.push(upd(TABLE, KEY, COLUMNS, [String(bumped), row.name, String(row.n)]));
      }
      const victim = 1 + ((t * 104729) % SNAPSHOT_ROWS);
      if (t % 5 === 0 && victim !== bumped && expected.delete(victim)) tx.push(del(TABLE, KEY, [String(victim)]));
      transactions.push(tx);
    }
    return transactions;
  }

  async function targetMatches(): Promise<boolean> {
    const rows = await query<{ id: number; name: string; n: number }>(target, targetDb, 'SELECT id, name, n FROM live.items ORDER BY id');
    if (rows.length !== expected.size) return false;
    return rows.every((r) => {
      const want = expected.get(r.id);
      return want !== undefined && want.name === r.name && want.n === r.n;
    });
  }

  it('keeps the replica role inside its own transactions: no trigger fires, and no other client of the pooler gets the setting', async () => {
    const pooler = bouncer as RunningPgbouncer;
    await writeTransactions(store, dir.queueDir, workload(100_000, 1500));
    // The application: short transactions through the same pooler, reading the settings its server connection has.
    const app = new pg.Client({ host: pooler.host, port: pooler.port, user: target.user, database: targetDb });
    await app.connect();
    const seen = new Map<string, number>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const { rows } = await app.query<{ role: string; commit: string; path: string }>(
          "SELECT current_setting('session_replication_role') AS role, current_setting('synchronous_commit') AS commit, current_setting('search_path') AS path",
        );
        const key = `${rows[0]?.role}/${rows[0]?.commit}/${rows[0]?.path}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        await sleep(2);
      }
    })();
    try {
      const running = startGodwit(['import', 'data', 'to', 'target', '--export-dir', dirPath, ...connection({ host: pooler.host, port: pooler.port, user: target.user }, 'target', targetDb), '--parallel-jobs', '2'], { env });
      await waitForOutput(running, /applying the change stream/, 120_000, () => `pgbouncer log:\n${pooler.log().slice(-3000)}`);
      // More changes while it follows the queue.
      await writeTransactions(store, dir.queueDir, workload(200_000, 1500));
      const deadline = Date.now() + 120_000;
      while (!(await targetMatches())) {
        if (Date.now() > deadline || running.child.exitCode !== null) throw new Error(`the target did not reach the expected rows; pgbouncer log:\n${pooler.log().slice(-3000)}`);
        await sleep(250);
      }
      running.child.kill('SIGTERM');
      const result = await running.done;
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    } finally {
      polling = false;
      await poll.catch(() => undefined);
      await app.end();
    }
    const audited = await query<{ op: string; role: string; n: string }>(target, targetDb, 'SELECT op, role, count(*)::text AS n FROM live.audit GROUP BY 1, 2 ORDER BY 1, 2');
    expect(audited).toEqual([]);
    // The application's transactions only ever saw the server's defaults.
    expect([...seen.keys()]).toEqual(['origin/on/"$user", public']);
    expect([...seen.values()][0]).toBeGreaterThan(20); // it polled all along
  }, 400_000);
});
