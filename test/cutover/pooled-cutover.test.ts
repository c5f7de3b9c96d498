// A live migration whose importer reaches the target through PgBouncer in transaction mode, to the
// end: `export data from source` (direct) and `import data to target` (through the pooler) follow an
// application's writes on the source, `initiate cutover to target` (without fall-back, which would
// need a replication connection to the target) drains the stream, moves the sequences forward and
// completes; the data is identical, no write of godwit's fired a trigger of the target's own, and
// none of its settings stayed on the pooler's server connections: the application, writing to the
// target through the same pooler after cutover, has the replica role off, synchronous commits and
// its search_path (the import's index builds used to leave pg_dump's empty one behind, and the
// application's unqualified table names failed). With fall-back, the importer behind the pooler
// cannot open the replication connection the fall-back stream needs: it says the address is a
// pooler's, and the same command with the target's own address resumes the cutover and completes it.
// Skipped where Debian's pgbouncer package is not installed (.ci/run installs it).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropDatabase, runSql } from '../harness/index.js';
import { HAND_OVER_LINE, runGodwit, startGodwit, stopAfterHandOver } from '../helpers/run-godwit.js';
import { findPgbouncer, startPgbouncer, type RunningPgbouncer } from '../helpers/pgbouncer.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { env, expectSequencesMovedForward, prepareMigration, sleep, source, target, type Migration, workload } from './cutover-helpers.js';

/** `args` with the target's host and port replaced by the pooler's. */
function throughPooler(args: readonly string[], pooler: RunningPgbouncer): string[] {
  return args.map((arg, i) => (args[i - 1] === '--target-db-host' ? pooler.host : args[i - 1] === '--target-db-port' ? String(pooler.port) : arg));
}

describe.skipIf(findPgbouncer() === undefined)(`cutover to target with the importer behind PgBouncer in transaction mode${findPgbouncer() === undefined ? " (skipped: Debian's pgbouncer package is not installed)" : ''}`, () => {
  let m: Migration;
  let bouncer: RunningPgbouncer | undefined;

  beforeAll(async () => {
    m = await prepareMigration('pooled_cut');
    // A trigger of the target's own, as in pooled-target.test.ts: fires for writes without the replica role.
    await runSql(
      target,
      m.targetDb,
      `CREATE SCHEMA audit_log;
       CREATE TABLE audit_log.audit (tbl text, op text);
       CREATE FUNCTION audit_log.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO audit_log.audit VALUES (TG_TABLE_NAME, TG_OP); RETURN NULL; END $$;
       CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION audit_log.audit_row();
       CREATE TRIGGER audit_row AFTER INSERT OR UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION audit_log.audit_row();`,
    );
    bouncer = await startPgbouncer(target, m.targetDb, { poolMode: 'transaction', poolSize: 2 });
  });
  afterAll(async () => {
    await bouncer?.stop();
    if (m !== undefined) await Promise.all([dropDatabase(source, m.sourceDb), dropDatabase(target, m.targetDb)]);
  });

  /** The target trigger's rows so far (read directly, not through the pooler). */
  async function auditRows(): Promise<{ tbl: string; op: string }[]> {
    const client = new pg.Client({ host: target.host, port: target.port, user: target.user, password: target.password, database: m.targetDb });
    await client.connect();
    try {
      return (await client.query<{ tbl: string; op: string }>('SELECT tbl, op FROM audit_log.audit')).rows;
    } finally {
      await client.end();
    }
  }

  it('streams, drains and completes the cutover; the application then writes through the pooler with its own settings', async () => {
    const pooler = bouncer as RunningPgbouncer;
    const through = throughPooler(m.importArgs, pooler);
    const stop = { now: false };
    const app = workload(m.sourceDb, stop);
    const exporter = startGodwit(m.exportArgs, { env });
    const importer = startGodwit(through, { env });
    await sleep(5000);
    stop.now = true;
    await app;
    const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir], { env });
    expect(initiated.code, initiated.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr + exported.stdout).toBe(0);
    expect(imported.code, `${imported.stderr}${imported.stdout}\npgbouncer log:\n${pooler.log().slice(-3000)}`).toBe(0);
    expect(imported.stdout).toMatch(/cutover to target COMPLETED/);
    expect(await tableChecksums(target, m.targetDb, ['public'])).toEqual(await tableChecksums(source, m.sourceDb, ['public']));
    // None of godwit's writes (snapshot, changes, cutover) fired the target's trigger.
    expect(await auditRows()).toEqual([]);
    await expectSequencesMovedForward(m.sourceDb, m.targetDb); // writes a row per table on the target, directly
    const before = await auditRows();

    // After cutover the application writes to the target through the same pooler: with the server's
    // defaults on every server connection (each of its transactions may get another one), so its trigger fires.
    const client = new pg.Client({ host: pooler.host, port: pooler.port, user: target.user, database: m.targetDb });
    await client.connect();
    let updated = 0;
    try {
      const settings = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const { rows } = await client.query<{ s: string }>(
          "SELECT current_setting('session_replication_role') || '/' || current_setting('synchronous_commit') || '/' || current_setting('search_path') AS s",
        );
        settings.add(rows[0]?.s ?? '');
        const update = await client.query<{ role: string }>("UPDATE accounts SET balance = balance + 1 WHERE id = $1 RETURNING current_setting('session_replication_role') AS role", [i + 1]);
        for (const row of update.rows) settings.add(`update ${row.role}`);
        updated += update.rowCount ?? 0;
      }
      expect([...settings].sort()).toEqual(['origin/on/"$user", public', 'update origin']);
    } finally {
      await client.end();
    }
    expect(updated).toBeGreaterThan(10);
    const after = await auditRows();
    expect(after.filter((row) => row.op === 'UPDATE').length - before.filter((row) => row.op === 'UPDATE').length).toBe(updated);
  }, 300_000);
  it('with fall-back: says the pooler cannot carry the fall-back stream, and the same command with the target\'s own address completes the cutover', async () => {
    const fb = await prepareMigration('pooled_fb');
    const pooler = await startPgbouncer(target, fb.targetDb, { poolMode: 'transaction', poolSize: 2 });
    try {
      const stop = { now: false };
      const app = workload(fb.sourceDb, stop);
      const exporter = startGodwit(fb.exportArgs, { env });
      const importer = startGodwit(throughPooler(fb.importArgs, pooler), { env });
      stopAfterHandOver(exporter);
      await sleep(4000);
      stop.now = true;
      await app;
      const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...fb.dir, '--prepare-for-fall-back', 'true'], { env });
      expect(initiated.code, initiated.stderr).toBe(0);
      const refused = await importer.done;
      expect(refused.code).toBe(3); // a connection problem: the address
      expect(refused.stderr).toContain('unsupported startup parameter: replication');
      expect(refused.stderr).toContain("The target address is a connection pooler's (PgBouncer), which does not pass replication connections.");
      // The same command with the target's own address: the cutover resumes and completes, then hands over to the fall-back export.
      const direct = startGodwit(fb.importArgs, { env });
      stopAfterHandOver(direct);
      const [exported, imported] = await Promise.all([exporter.done, direct.done]);
      expect(exported.code, exported.stderr).toBe(0);
      expect(imported.code, imported.stderr + imported.stdout).toBe(0);
      expect(imported.stdout).toMatch(/cutover to target COMPLETED/);
      expect(imported.stdout).toContain(`${HAND_OVER_LINE}export data from target\``);
      expect(await tableChecksums(target, fb.targetDb, ['public'])).toEqual(await tableChecksums(source, fb.sourceDb, ['public']));
    } finally {
      await pooler.stop();
      await Promise.all([dropDatabase(source, fb.sourceDb), dropDatabase(target, fb.targetDb)]).catch(() => undefined);
    }
  }, 300_000);
});
