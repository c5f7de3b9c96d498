// Cutover to target as a user runs it (issue 6): `export data from source --export-type
// snapshot-and-changes` and `import data to target` run as separate CLI processes while an application
// writes to the PostgreSQL 15 source; the application stops, `initiate cutover to target
// --prepare-for-fall-back true` is run; the exporter writes the end marker, releases the source and
// continues as `import data to source`, the importer drains up to the marker, moves every sequence
// forward (serial, identity, one owned by no column), prepares the reverse stream on the PostgreSQL 17
// target and continues as `export data from target` (both stopped here with SIGTERM: exit 0). Then: identical data, `cutover status` (text and JSON) COMPLETED, the source's
// slot and publication gone, the target's reverse slot holding none of godwit's writes but the
// application's first write, and sequences that never hand out a used value. The second test kills
// the exporter and importer with SIGKILL at every step of the cutover and re-runs the same commands.
// Without fall-back (on an export whose publication lacks the end-marker table, as older exports do):
// nothing is created on the target. Bad input: a second request, and a cutover without a live export.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, query, runSql, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import {
  connection,
  env,
  HAND_OVER_LINE,
  expectSequencesMovedForward,
  pendingChanges,
  prepareMigration,
  sleep,
  source,
  stopAfterHandOver,
  supervise,
  target,
  workload,
  type Migration,
} from './cutover-helpers.js';

const created: [HarnessServer, string][] = [];
afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
});

async function migration(prefix: string): Promise<Migration> {
  const m = await prepareMigration(prefix);
  created.push([source, m.sourceDb], [target, m.targetDb]);
  return m;
}

/** Every check after a completed cutover with fall-back. */
async function expectCompleted(m: Migration): Promise<void> {
  const status = await runGodwit(['cutover', 'status', ...m.dir], { env });
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toContain('cutover to target status: COMPLETED');
  expect(status.stdout).toContain('cutover to source status: NOT INITIATED');
  const json = await runGodwit(['cutover', 'status', ...m.dir, '--output-format', 'json'], { env });
  const parsed = JSON.parse(json.stdout) as {
    cutoverToTarget: { status: string; step: string; prepareForFallBack: boolean; reverseSlot: string; reversePublication: string };
    cutoverToSource: { status: string };
    history: { to: string; at: string }[];
  };
  expect(parsed.cutoverToTarget).toMatchObject({ status: 'COMPLETED', step: 'COMPLETED', prepareForFallBack: true });
  expect(parsed.cutoverToSource.status).toBe('NOT INITIATED');
  expect(parsed.history.map((h) => h.to)).toEqual([
    'INITIATED', 'MARKER_WRITTEN', 'MARKER_QUEUED', 'CAPTURE_RELEASED', 'DRAINED', 'SEQUENCES_SET', 'REVERSE_PREPARED', 'COMPLETED',
  ]);

  // The data-migration report shows the cutover and its history.
  const report = await runGodwit(['get', 'data-migration-report', ...m.dir], { env });
  expect(report.code, report.stderr).toBe(0);
  expect(report.stdout).toContain('cutover to target status: COMPLETED');
  expect(report.stdout).toContain('REVERSE_PREPARED -> COMPLETED');
  const reportJson = JSON.parse((await runGodwit(['get', 'data-migration-report', ...m.dir, '--output-format', 'json'], { env })).stdout) as { cutover: { toTarget: string; history: unknown[] } };
  expect(reportJson.cutover.toTarget).toBe('COMPLETED');
  expect(reportJson.cutover.history).toHaveLength(8);

  // Identical data, the source released, the target holding the reverse stream's slot and publication.
  expect(await tableChecksums(target, m.targetDb, ['public'])).toEqual(await tableChecksums(source, m.sourceDb, ['public']));
  const sourceSlots = await query(source, 'postgres', "SELECT slot_name FROM pg_replication_slots WHERE database = $1", [m.sourceDb]);
  expect(sourceSlots).toEqual([]);
  expect(await query(source, m.sourceDb, 'SELECT pubname FROM pg_publication')).toEqual([]);
  const { reverseSlot, reversePublication } = parsed.cutoverToTarget;
  expect(await query(target, m.targetDb, 'SELECT pubname FROM pg_publication')).toEqual([{ pubname: reversePublication }]);
  // None of godwit's writes is in the reverse stream; the application's first write on the target is.
  expect(await pendingChanges(m.targetDb, reverseSlot, reversePublication)).toBe(0);
  await expectSequencesMovedForward(m.sourceDb, m.targetDb);
  expect(await pendingChanges(m.targetDb, reverseSlot, reversePublication)).toBe(3);
}

describe('cutover to target', () => {
  it('drains, moves sequences forward and prepares fall-back under a workload, through the CLI', async () => {
    const m = await migration('cutover_e2e');
    const stop = { now: false };
    const app = workload(m.sourceDb, stop);
    const exporter = startGodwit(m.exportArgs, { env });
    const importer = startGodwit(m.importArgs, { env });
    stopAfterHandOver(exporter);
    stopAfterHandOver(importer);
    await sleep(6000);
    const before = await runGodwit(['cutover', 'status', ...m.dir], { env });
    expect(before.stdout.trim()).toBe('cutover to target status: NOT INITIATED');
    stop.now = true; // the application stops writing, then the cutover is initiated
    expect(await app).toBeGreaterThan(50);
    const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir, '--prepare-for-fall-back', 'true'], { env });
    expect(initiated.code, initiated.stderr).toBe(0);
    const again = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir], { env });
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/already requested/);

    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr + exported.stdout).toBe(0);
    expect(imported.code, imported.stderr + imported.stdout).toBe(0);
    for (const out of [exported.stdout, imported.stdout]) {
      expect(out).toContain('godwit export data from target');
      expect(out).toContain('godwit import data to source');
    }
    expect(imported.stdout).toMatch(/cutover to target COMPLETED/);
    expect(exported.stdout).toContain(`${HAND_OVER_LINE}import data to source\``);
    expect(imported.stdout).toContain(`${HAND_OVER_LINE}export data from target\``);
    expect(exported.stdout).toMatch(/import data to source: applying the change stream/);
    expect(imported.stdout).toMatch(/export data from target: streaming the target's changes/);
    await expectCompleted(m);

    // Run again after the cutover (as after a crash): both say where things stand and hand over again.
    const reruns = [startGodwit(m.exportArgs, { env }), startGodwit(m.importArgs, { env })];
    for (const running of reruns) stopAfterHandOver(running);
    for (const rerun of await Promise.all(reruns.map((r) => r.done))) {
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stdout).toContain(HAND_OVER_LINE);
    }
  }, 300_000);

  it('completes with identical data when exporter and importer are SIGKILLed at every cutover step and re-run', async () => {
    const m = await migration('cutover_kill');
    const killDir = mkdtempSync(join(tmpdir(), 'godwit-cutover-kills-'));
    const points = [
      'before-marker', 'marker-inserted', 'MARKER_WRITTEN', 'MARKER_QUEUED', 'capture-dropped', 'CAPTURE_RELEASED',
      'marker-applied', 'DRAINED', 'SEQUENCES_SET', 'reverse-slot-created', 'REVERSE_PREPARED',
    ];
    const killEnv = { GODWIT_TEST_CUTOVER_KILL_AT: points.join(','), GODWIT_TEST_CUTOVER_KILL_DONE_DIR: killDir };
    const stop = { now: false };
    const app = workload(m.sourceDb, stop);
    const exporter = supervise(m.exportArgs, killEnv, { stopHandOver: true });
    const importer = supervise(m.importArgs, killEnv, { stopHandOver: true });
    await sleep(6000);
    stop.now = true;
    await app;
    const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir, '--prepare-for-fall-back', 'true'], { env });
    expect(initiated.code, initiated.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter, importer]);
    expect(exported.result.code, exported.output).toBe(0);
    expect(imported.result.code, imported.output).toBe(0);
    expect(readdirSync(killDir).sort()).toEqual([...points].sort());
    expect(exported.kills).toBe(6);
    expect(imported.kills).toBe(5);
    await expectCompleted(m);
  }, 400_000);

  it('without fall-back: drains, moves sequences forward, creates nothing on the target, both exit 0', async () => {
    const m = await migration('cutover_nofb');
    const stop = { now: false };
    const app = workload(m.sourceDb, stop);
    const exporter = startGodwit(m.exportArgs, { env });
    const importer = startGodwit(m.importArgs, { env });
    await sleep(5000);
    stop.now = true;
    await app;
    // As an export created before the end-marker table existed: the marker table is not in the publication.
    const [publication] = await query<{ pubname: string }>(source, m.sourceDb, 'SELECT pubname FROM pg_publication');
    await runSql(source, m.sourceDb, `ALTER PUBLICATION ${publication?.pubname ?? '?'} DROP TABLE godwit_metadata.stream_markers`);
    const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir], { env });
    expect(initiated.code, initiated.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr + exported.stdout).toBe(0);
    expect(imported.code, imported.stderr + imported.stdout).toBe(0);
    expect(imported.stdout).toMatch(/cutover to target COMPLETED/);
    expect(imported.stdout).not.toContain('godwit import data to source');
    const status = await runGodwit(['cutover', 'status', ...m.dir], { env });
    expect(status.stdout.trim()).toBe('cutover to target status: COMPLETED');
    expect(await tableChecksums(target, m.targetDb, ['public'])).toEqual(await tableChecksums(source, m.sourceDb, ['public']));
    expect(await query(source, 'postgres', 'SELECT slot_name FROM pg_replication_slots WHERE database = $1', [m.sourceDb])).toEqual([]);
    expect(await query(target, 'postgres', 'SELECT slot_name FROM pg_replication_slots WHERE database = $1', [m.targetDb])).toEqual([]);
    expect(await query(target, m.targetDb, 'SELECT pubname FROM pg_publication')).toEqual([]);
    await expectSequencesMovedForward(m.sourceDb, m.targetDb);
    // Without fall-back there is no way back: cutover to source and the fall-back commands are refused.
    const back = await runGodwit(['initiate', 'cutover', 'to', 'source', ...m.dir], { env });
    expect(back.code).toBe(5);
    expect(back.stderr).toMatch(/made without --prepare-for-fall-back true/);
    const reverse = await runGodwit(['export', 'data', 'from', 'target', ...m.dir, ...connection(target, 'target', m.targetDb)], { env });
    expect(reverse.code).toBe(5);
    expect(reverse.stderr).toMatch(/made without fall-back/);
  }, 300_000);

  it('refuses a cutover when the export directory holds no live export', async () => {
    const { dir } = await migration('cutover_none'); // the schema exported and imported, no data export
    const refused = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir], { env });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/no snapshot-and-changes export/);
    const status = await runGodwit(['cutover', 'status', ...dir], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.trim()).toBe('cutover to target status: NOT INITIATED');
  }, 60_000);
});
