// `godwit end migration` as a user runs it, on a live migration whose exporter and importer are still
// running: refused without confirmation (nothing touched), refused with a backup but no backup
// directory; then with --yes it stops both processes, backs up what was asked, removes the slot,
// publication and godwit_metadata on both databases and empties the export directory. A second
// migration's bookkeeping rows in the same target database keep godwit_metadata alive.
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, type RunningGodwit } from '../helpers/run-godwit.js';
import { connectionArgs as connection, databasePair, harnessEnv, waitUntil } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();
const running: RunningGodwit[] = [];
afterAll(async () => {
  for (const r of running) r.child.kill('SIGKILL');
});

async function godwitObjects(server: HarnessServer, database: string): Promise<{ slots: number; publications: number; schema: boolean }> {
  const [row] = await query<{ slots: string; publications: string; schema: boolean }>(server, database, `
    SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'godwit%' AND database = current_database()) AS slots,
           (SELECT count(*) FROM pg_publication WHERE pubname LIKE 'godwit%') AS publications,
           EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'godwit_metadata') AS schema`);
  return { slots: Number(row?.slots), publications: Number(row?.publications), schema: row?.schema === true };
}

describe('end migration', () => {
  it('stops the running processes, backs up, and removes everything godwit made on both sides', async () => {
    const { sourceDb, targetDb } = await databases('end');
    await runSql(source, sourceDb, `
      CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
      INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;`);
    const base = mkdtempSync(join(tmpdir(), 'godwit-end-'));
    const exportDir = join(base, 'export');
    const dir = ['--export-dir', exportDir];
    const both = [...connection(source, 'source', sourceDb), ...connection(target, 'target', targetDb)];
    expect((await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env })).code).toBe(0);
    expect((await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env })).code).toBe(0);
    running.push(startGodwit(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb), '--export-type', 'snapshot-and-changes'], { env }));
    running.push(startGodwit(['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb)], { env }));
    await runSql(source, sourceDb, "INSERT INTO items VALUES (1001, 'streamed')");
    await waitUntil('the streamed row on the target', async () =>
      (await query<{ n: string }>(target, targetDb, 'SELECT count(*) AS n FROM items').catch(() => [{ n: '0' }]))[0]?.n === '1001');
    // Another migration's bookkeeping in the same target database must survive this one's end.
    await runSql(target, targetDb, "INSERT INTO godwit_metadata.imported_batches VALUES ('00000000-0000-4000-8000-000000000001', 'other', 'b1', 1)");

    // The report as a page for colleagues, in reports/ (saved with the backups below).
    const html = await runGodwit(['get', 'data-migration-report', ...dir, '--output-format', 'html'], { env });
    expect(html.code, html.stderr).toBe(0);
    const page = readFileSync(join(exportDir, 'reports', 'data_migration_report.html'), 'utf8');
    expect(page).toMatch(/^<!DOCTYPE html>/);
    expect(page).toContain('<td>&quot;public&quot;.&quot;items&quot;</td>');

    const backups = ['--backup-schema-files', 'true', '--backup-data-files', 'true', '--save-migration-reports', 'true', '--backup-log-files', 'true'];
    const backupDir = join(base, 'backup');
    const unconfirmed = await runGodwit(['end', 'migration', ...dir, ...both, ...backups, '--backup-dir', backupDir], { env });
    expect(unconfirmed.code, unconfirmed.stderr).toBe(2);
    expect(unconfirmed.stderr).toMatch(/--yes/);
    expect(unconfirmed.stdout).toMatch(/stop the running `export data from source`/);
    const noBackupDir = await runGodwit(['end', 'migration', ...dir, ...both, ...backups, '--yes'], { env });
    expect(noBackupDir.code).toBe(2);
    expect(noBackupDir.stderr).toMatch(/--backup-dir/);
    const inside = await runGodwit(['end', 'migration', ...dir, ...both, ...backups, '--backup-dir', join(exportDir, 'b'), '--yes'], { env });
    expect(inside.code).toBe(2);
    expect(inside.stderr).toMatch(/inside the export directory/);
    // Nothing was touched by the refusals.
    expect(await godwitObjects(source, sourceDb)).toEqual({ slots: 1, publications: 1, schema: expect.any(Boolean) });
    expect(running.every((r) => r.child.exitCode === null)).toBe(true);

    const ended = await runGodwit(['end', 'migration', ...dir, ...both, ...backups, '--backup-dir', backupDir, '--yes'], { env, timeoutMs: 90_000 });
    expect(ended.code, ended.stderr).toBe(0);
    const exits = await Promise.all(running.map((r) => r.done));
    expect(exits.map((e) => e.code)).toEqual([0, 0]);
    expect(await godwitObjects(source, sourceDb)).toEqual({ slots: 0, publications: 0, schema: false });
    expect(await godwitObjects(target, targetDb)).toMatchObject({ slots: 0, publications: 0, schema: true });
    const bookkeeping = await query<{ migration_id: string }>(target, targetDb, 'SELECT DISTINCT migration_id::text FROM godwit_metadata.imported_batches');
    expect(bookkeeping.map((r) => r.migration_id)).toEqual(['00000000-0000-4000-8000-000000000001']);
    expect(readdirSync(exportDir)).toEqual([]);
    expect(readdirSync(backupDir).sort()).toEqual(['assessment', 'data', 'logs', 'reports', 'schema']);
    expect(existsSync(join(backupDir, 'reports', 'data_migration_report.json'))).toBe(true);
    expect(existsSync(join(backupDir, 'reports', 'data_migration_report.html'))).toBe(true);
    expect(readdirSync(join(backupDir, 'logs'))).toEqual(expect.arrayContaining(['export-data-from-source.log', 'end-migration.log']));
    expect(readdirSync(join(backupDir, 'data')).length).toBeGreaterThan(0);
    // The application's data is untouched on both sides.
    expect((await query<{ n: string }>(target, targetDb, 'SELECT count(*) AS n FROM items'))[0]?.n).toBe('1001');

    // Nothing left to end: a clear refusal, not a crash.
    const again = await runGodwit(['end', 'migration', ...dir, ...both, ...backups, '--backup-dir', backupDir, '--yes'], { env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).not.toMatch(/TypeError|at .*\.js/);
  }, 180_000);
});
