// Fall-back and cutover to source as a user runs them (issue 6, part 2), every step a separate CLI
// process against a PostgreSQL 15 source and a PostgreSQL 17 target: the forward live migration under
// a workload on the source, cutover to target with fall-back, after which the exporter's process
// continues as `import data to source` and the importer's as `export data from target` while the
// application writes to the target; then `initiate cutover to source`: both exit 0, identical data, the target's fall-back slot and publication gone, an audit
// trigger on the source that fired once per application write on the source and never for a change
// coming back (the target's own audit trigger wrote those rows, and they came back as data), sequences
// on the source past every value the target handed out, the report showing both directions. The
// second test stops the handed-over processes and runs the fall-back commands by hand, SIGKILLing them at
// random moments while they stream and at every step of the cutover to source, re-running the same commands. Bad input: the fall-back commands
// and cutover to source before cutover to target, a second request, a source user who may not set
// session_replication_role (the triggers and foreign keys to disable are listed, nothing applied; with
// --yes, after the DBA disabled the audit trigger, the stream is applied without the role). A TRUNCATE on
// the target stops `export data from target` with a message saying it is not carried.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, query, runSql, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, type GodwitResult } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { connection, env, expectSequencesMovedForward, prepareMigration, printed, sleep, source, supervise, target, watched, workload, type Migration, type Watched } from './cutover-helpers.js';

/** An audit trigger (on tickets: one row per application insert) and a foreign key, both on the source and, through import schema, the target. */
const FALL_BACK_SCHEMA = `
  CREATE TABLE audit (id bigserial PRIMARY KEY, tbl text NOT NULL, op text NOT NULL, row_id bigint NOT NULL);
  CREATE FUNCTION audit_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO audit (tbl, op, row_id) VALUES (TG_TABLE_NAME, TG_OP, NEW.id); RETURN NEW; END $$;
  CREATE TRIGGER tickets_audit AFTER INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION audit_ticket();
  CREATE TABLE ticket_labels (id int PRIMARY KEY, ticket_id int NOT NULL REFERENCES tickets (id));`;

const created: [HarnessServer, string][] = [];
afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
});

interface FallBack extends Migration {
  reverseExportArgs: string[];
  reverseImportArgs: string[];
}

async function migration(prefix: string): Promise<FallBack> {
  const m = await prepareMigration(prefix, FALL_BACK_SCHEMA);
  created.push([source, m.sourceDb], [target, m.targetDb]);
  return {
    ...m,
    reverseExportArgs: ['export', 'data', 'from', 'target', ...m.dir, ...connection(target, 'target', m.targetDb)],
    reverseImportArgs: ['import', 'data', 'to', 'source', ...m.dir, ...connection(source, 'source', m.sourceDb), '--parallel-jobs', '2'],
  };
}

/**
 * The forward migration under a source workload, then cutover to target with fall-back; returns the
 * application's transactions and the two processes, which continue as the fall-back commands.
 */
async function cutOverToTarget(m: FallBack): Promise<{ transactions: number; exporter: Watched; importer: Watched }> {
  const stop = { now: false };
  const app = workload(m.sourceDb, stop);
  const exporter = watched(m.exportArgs);
  const importer = watched(m.importArgs);
  await sleep(5000);
  stop.now = true;
  const transactions = await app;
  const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir, '--prepare-for-fall-back', 'true'], { env });
  expect(initiated.code, initiated.stderr).toBe(0);
  // The exporter's process continues as `import data to source`, the importer's as `export data from target`.
  await printed(exporter, 'import data to source: applying the change stream');
  await printed(importer, "export data from target: streaming the target's changes");
  expect(await tableChecksums(target, m.targetDb, ['public'])).toEqual(await tableChecksums(source, m.sourceDb, ['public']));
  return { transactions, exporter, importer };
}

/** Audit rows per database: one per ticket the application inserted, wherever it was inserted. */
async function auditRows(server: HarnessServer, database: string): Promise<number> {
  const [row] = await query<{ n: number }>(server, database, "SELECT count(*)::int AS n FROM audit WHERE tbl = 'tickets' AND op = 'INSERT'");
  return row?.n ?? -1;
}

/** Everything that must hold once cutover to source is COMPLETED. */
async function expectBackOnSource(m: FallBack, applicationTransactions: number): Promise<void> {
  const status = await runGodwit(['cutover', 'status', ...m.dir], { env });
  expect(status.stdout).toContain('cutover to target status: COMPLETED');
  expect(status.stdout).toContain('cutover to source status: COMPLETED');
  const json = JSON.parse((await runGodwit(['cutover', 'status', ...m.dir, '--output-format', 'json'], { env })).stdout) as {
    history: { direction: string; to: string }[];
  };
  expect(json.history.filter((h) => h.direction === 'to-source').map((h) => h.to)).toEqual([
    'INITIATED', 'MARKER_WRITTEN', 'MARKER_QUEUED', 'CAPTURE_RELEASED', 'DRAINED', 'SEQUENCES_SET', 'COMPLETED',
  ]);
  expect(await tableChecksums(source, m.sourceDb, ['public'])).toEqual(await tableChecksums(target, m.targetDb, ['public']));
  // The audit trigger fired once per application insert: on the source before cutover, on the target after; never for a change coming back.
  expect(await auditRows(source, m.sourceDb)).toBe(applicationTransactions);
  expect(await auditRows(target, m.targetDb)).toBe(applicationTransactions);
  // The target's fall-back slot and publication are gone; nothing of godwit is left replicating.
  expect(await query(target, 'postgres', 'SELECT slot_name FROM pg_replication_slots WHERE database = $1', [m.targetDb])).toEqual([]);
  expect(await query(target, m.targetDb, 'SELECT pubname FROM pg_publication')).toEqual([]);
  // The source's sequences hand out no value the target used (serial, identity, a sequence owned by no column).
  await expectSequencesMovedForward(m.targetDb, m.sourceDb, { from: target, to: source });
}

describe('fall-back and cutover to source', () => {
  it('hands the forward processes over to the fall-back stream and cuts over to the source, through the CLI', async () => {
    const m = await migration('fallback_e2e');
    // Before cutover to target: no fall-back stream, no cutover to source.
    for (const args of [m.reverseExportArgs, m.reverseImportArgs]) {
      const early = await runGodwit(args, { env });
      expect(early.code, early.stderr).toBe(5);
      expect(early.stderr).toMatch(/no fall-back stream yet: cutover to target is NOT INITIATED/);
    }
    const tooEarly = await runGodwit(['initiate', 'cutover', 'to', 'source', ...m.dir], { env });
    expect(tooEarly.code).toBe(5);
    expect(tooEarly.stderr).toMatch(/needs a completed cutover to target/);

    // Fall-back: the application writes to the target; the processes that did the forward migration now keep the source in sync.
    const forward = await cutOverToTarget(m);
    const onSource = forward.transactions;
    const stop = { now: false };
    const app = workload(m.targetDb, stop, target);
    await sleep(3000);
    // Ctrl-C / SIGTERM while streaming: both handed-over processes stop cleanly (exit 0), and the fall-back commands started by hand resume.
    for (const w of [forward.exporter, forward.importer]) w.running.child.kill('SIGTERM');
    const [stoppedImport, stoppedExport] = await Promise.all([forward.exporter.running.done, forward.importer.running.done]);
    expect(stoppedExport.code, stoppedExport.stderr).toBe(0);
    expect(stoppedExport.stdout).toMatch(/export data from target: stopped; the fall-back queue holds \d+ events/);
    expect(stoppedImport.code, stoppedImport.stderr).toBe(0);
    expect(stoppedImport.stdout).toMatch(/import data to source: stopped \(interrupted by SIGTERM\)/);
    const exporter = startGodwit(m.reverseExportArgs, { env });
    const importer = startGodwit(m.reverseImportArgs, { env });
    await sleep(3000);
    stop.now = true;
    const onTarget = await app;
    expect(onTarget).toBeGreaterThan(30);
    const status = await runGodwit(['cutover', 'status', ...m.dir], { env });
    expect(status.stdout).toContain('cutover to source status: NOT INITIATED');

    const initiated = await runGodwit(['initiate', 'cutover', 'to', 'source', ...m.dir], { env });
    expect(initiated.code, initiated.stderr).toBe(0);
    const again = await runGodwit(['initiate', 'cutover', 'to', 'source', ...m.dir], { env });
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/Cutover to source was already requested/);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr + exported.stdout).toBe(0);
    expect(imported.code, imported.stderr + imported.stdout).toBe(0);
    expect(exported.stdout).toMatch(/export data from target: cutover to source: the fall-back stream is complete/);
    expect(imported.stdout).toMatch(/import data to source: cutover to source COMPLETED/);
    await expectBackOnSource(m, onSource + onTarget);

    // The report shows both directions; every change exported from the target was imported into the source.
    const report = JSON.parse((await runGodwit(['get', 'data-migration-report', ...m.dir, '--output-format', 'json'], { env })).stdout) as {
      fallBack: { total: Record<string, number> };
      cutover: { toSource: string };
    };
    expect(report.cutover.toSource).toBe('COMPLETED');
    const total = report.fallBack.total;
    expect(total.exportedInserts).toBeGreaterThanOrEqual(onTarget * 4);
    expect(total.exportedUpdates).toBeGreaterThan(onTarget / 2); // an account moved to another id is not found by later updates
    expect(total.exportedDeletes).toBeGreaterThan(0);
    for (const op of ['Inserts', 'Updates', 'Deletes']) expect(total[`imported${op}`]).toBe(total[`exported${op}`]);
    const text = await runGodwit(['get', 'data-migration-report', ...m.dir], { env });
    expect(text.stdout).toContain('fall-back stream (target-to-source');
    expect(text.stdout).toContain('cutover to source status: COMPLETED');

    // Run again after the cutover: both say where things stand and exit 0.
    for (const args of [m.reverseExportArgs, m.reverseImportArgs]) {
      const rerun = await runGodwit(args, { env, timeoutMs: 60_000 });
      expect(rerun.code, rerun.stderr).toBe(0);
    }
  }, 400_000);

  it('completes with identical data when the reverse exporter and importer are SIGKILLed mid-stream and at every cutover step', async () => {
    const m = await migration('fallback_kill');
    const forward = await cutOverToTarget(m);
    const onSource = forward.transactions;
    // Stopped (as a crash would), the fall-back commands are started by hand from now on.
    for (const w of [forward.exporter, forward.importer]) {
      w.running.child.kill('SIGTERM');
      const stopped = await w.running.done;
      expect(stopped.code, stopped.stderr).toBe(0);
    }

    // A source user who may not set session_replication_role: the trigger and the foreign key are named, nothing is applied.
    const user = `godwit_fb_${m.sourceDb.slice(-8)}`;
    await runSql(source, m.sourceDb, `CREATE ROLE ${user} LOGIN PASSWORD 'pw'; GRANT CONNECT ON DATABASE ${m.sourceDb} TO ${user};`);
    const noRole = await runGodwit(m.reverseImportArgs.map((a) => (a === source.user ? user : a)), { env: { ...env, SOURCE_DB_PASSWORD: 'pw' } });
    expect(noRole.code, noRole.stderr).toBe(7);
    expect(noRole.stderr).toContain(`the source user "${user}" may not set session_replication_role = replica`);
    expect(noRole.stderr).toContain('trigger tickets_audit on "public"."tickets": ALTER TABLE "public"."tickets" DISABLE TRIGGER "tickets_audit";');
    expect(noRole.stderr).toMatch(/foreign key ticket_labels_ticket_id_fkey on "public"."ticket_labels"/);
    expect(noRole.stderr).toContain('--yes');
    await runSql(source, m.sourceDb, `DROP OWNED BY ${user}; DROP ROLE ${user};`);

    const killDir = mkdtempSync(join(tmpdir(), 'godwit-fallback-kills-'));
    const points = ['before-marker', 'marker-inserted', 'MARKER_WRITTEN', 'MARKER_QUEUED', 'capture-dropped', 'CAPTURE_RELEASED', 'marker-applied', 'DRAINED', 'SEQUENCES_SET'];
    const killEnv = { GODWIT_TEST_CUTOVER_KILL_AT: points.join(','), GODWIT_TEST_CUTOVER_KILL_DONE_DIR: killDir };

    const stop = { now: false };
    const streaming = { now: true };
    const app = workload(m.targetDb, stop, target);
    const exporter = killWhileStreaming(m.reverseExportArgs, killEnv, streaming);
    const importer = killWhileStreaming(m.reverseImportArgs, killEnv, streaming);
    await sleep(12_000);
    stop.now = true;
    const onTarget = await app;
    streaming.now = false;
    const initiated = await runGodwit(['initiate', 'cutover', 'to', 'source', ...m.dir], { env });
    expect(initiated.code, initiated.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter, importer]);
    expect(exported.result.code, exported.output).toBe(0);
    expect(imported.result.code, imported.output).toBe(0);
    expect(exported.streamKills).toBeGreaterThanOrEqual(2);
    expect(imported.streamKills).toBeGreaterThanOrEqual(2);
    expect(readdirSync(killDir).sort()).toEqual([...points].sort());
    expect(exported.kills).toBe(6);
    expect(imported.kills).toBe(3);
    await expectBackOnSource(m, onSource + onTarget);
  }, 500_000);

  it('without the right to set session_replication_role: applies after --yes with the trigger disabled; a TRUNCATE on the target stops the fall-back export', async () => {
    const m = await migration('fallback_norole');
    const forward = await cutOverToTarget(m);
    const onSource = forward.transactions;
    for (const w of [forward.exporter, forward.importer]) {
      w.running.child.kill('SIGTERM');
      expect((await w.running.done).code).toBe(0);
    }
    // A source user with the rights to apply but not to set session_replication_role; the DBA disables the audit trigger.
    const user = `godwit_ap_${m.sourceDb.slice(-8)}`;
    await runSql(source, m.sourceDb, `
      CREATE ROLE ${user} LOGIN PASSWORD 'pw';
      GRANT CONNECT ON DATABASE ${m.sourceDb} TO ${user};
      GRANT USAGE, CREATE ON SCHEMA public, godwit_metadata TO ${user};
      GRANT ALL ON ALL TABLES IN SCHEMA public, godwit_metadata TO ${user};
      GRANT ALL ON ALL SEQUENCES IN SCHEMA public, godwit_metadata TO ${user};
      ALTER TABLE tickets DISABLE TRIGGER tickets_audit;`);
    const importArgs = [...m.reverseImportArgs.map((a) => (a === source.user ? user : a)), '--yes'];
    const exporter = startGodwit(m.reverseExportArgs, { env });
    const importer = startGodwit(importArgs, { env: { ...env, SOURCE_DB_PASSWORD: 'pw' } });
    const stop = { now: false };
    const app = workload(m.targetDb, stop, target);
    await sleep(4000);
    stop.now = true;
    const onTarget = await app;
    await caughtUp(m);
    // The application's audit rows came back as data; the source's disabled trigger added none.
    expect(await auditRows(source, m.sourceDb)).toBe(onSource + onTarget);

    // TRUNCATE on the target is not carried: the fall-back export stops and says so.
    await runSql(target, m.targetDb, 'TRUNCATE ticket_labels');
    const exported = await exporter.done;
    expect(exported.code).toBe(1);
    expect(exported.stderr).toContain('Fall-back stream: TRUNCATE of "public"."ticket_labels" on the target');
    expect(exported.stderr).toContain('not carried from the target to the source');
    importer.child.kill('SIGTERM');
    const imported = await importer.done;
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toContain(`the source user "${user}" may not set session_replication_role = replica`);
    expect(imported.stderr).toMatch(/--yes confirms they are disabled; still enabled according to the catalog:\n {2}foreign key ticket_labels_ticket_id_fkey/);
    await runSql(source, m.sourceDb, `DROP OWNED BY ${user}; DROP ROLE ${user};`);
  }, 300_000);
});

/** Waits until the source holds the target's data (the fall-back stream applied everything). */
async function caughtUp(m: FallBack): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const [sourceSums, targetSums] = await Promise.all([tableChecksums(source, m.sourceDb, ['public']), tableChecksums(target, m.targetDb, ['public'])]);
    if (JSON.stringify(sourceSums) === JSON.stringify(targetSums)) return;
    if (Date.now() > deadline) expect(sourceSums).toEqual(targetSums);
    await sleep(500);
  }
}

/**
 * Runs a command and SIGKILLs it 1 to 3 s after each start while `streaming.now`; then lets it run
 * (restarted by supervise after the cutover kill points) to its real exit.
 */
async function killWhileStreaming(
  args: string[],
  killEnv: Record<string, string>,
  streaming: { now: boolean },
): Promise<{ result: GodwitResult; kills: number; streamKills: number; output: string }> {
  let streamKills = 0;
  let output = '';
  while (streaming.now) {
    const running = startGodwit(args, { env: { ...env, ...killEnv } });
    const deadline = Date.now() + 1000 + Math.floor(Math.random() * 2000);
    while (streaming.now && Date.now() < deadline) await sleep(100);
    running.child.kill('SIGKILL');
    const result = await running.done;
    output += result.stdout + result.stderr;
    if (result.code !== null) throw new Error(`${args.slice(0, 4).join(' ')} ended by itself while streaming:\n${output}`);
    streamKills += 1;
  }
  const rest = await supervise(args, killEnv);
  return { ...rest, streamKills, output: output + rest.output };
}
