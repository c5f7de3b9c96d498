// No password anywhere (issue 7, DESIGN.md section 2): passwords given the worst way, as flags, to
// every command of a live migration (schema, snapshot and changes, reports, cutover, end migration with
// every backup). While the long-running commands run, `ps` must not show them; afterwards neither the
// export directory (logs, store, queue, reports) nor the backup directory may contain them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, stopAfterHandOver } from '../helpers/run-godwit.js';
import { databasePair } from '../helpers/migration-cli.js';

const { source, target } = servers();
const databases = databasePair();

function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable', `--${role}-db-password`, server.password];
}

/** Files under `dir` that contain any of the passwords (grep exits 1 when it searched everything and found nothing). */
function filesWithPasswords(dir: string): string[] {
  const grep = spawnSync('grep', ['-rlF', '--binary-files=text', '-e', source.password, '-e', target.password, dir], { encoding: 'utf8' });
  expect(grep.status, grep.stderr).not.toBe(2);
  return grep.stdout.split('\n').filter((line) => line !== '');
}

describe('passwords given as flags', () => {
  it('never reach ps, the export directory, reports, logs or backups', async () => {
    const { sourceDb, targetDb } = await databases('leak');
    await runSql(source, sourceDb, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;`);
    const base = mkdtempSync(join(tmpdir(), 'godwit-leak-'));
    const exportDir = join(base, 'export');
    const dir = ['--export-dir', exportDir];
    const src = connection(source, 'source', sourceDb);
    const dst = connection(target, 'target', targetDb);
    const noEnv = { SOURCE_DB_PASSWORD: undefined, TARGET_DB_PASSWORD: undefined };
    for (const args of [['export', 'schema', ...dir, ...src], ['analyze-schema', ...dir, '--output-format', 'html'], ['import', 'schema', ...dir, ...dst]]) {
      const result = await runGodwit(args, { env: noEnv });
      expect(result.code, `${args[0]}: ${result.stderr}`).toBe(0);
    }
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env: noEnv });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env: noEnv });
    // After the cutover with fall-back their processes continue as the fall-back commands: stop them there.
    stopAfterHandOver(exporter);
    stopAfterHandOver(importer);
    await runSql(source, sourceDb, "INSERT INTO t VALUES (501, 'streamed')");
    const deadline = Date.now() + 90_000;
    while ((await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM t').catch(() => []))[0]?.n !== '501') {
      if (Date.now() > deadline) throw new Error('the streamed row never arrived');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // What anyone on the machine sees of the running commands.
    const ps = spawnSync('ps', ['-eo', 'pid,args', '--no-headers'], { encoding: 'utf8' }).stdout;
    const ours = ps.split('\n').filter((line) => line.includes('export data from source') || line.includes('import data to target'));
    expect(ours.length).toBeGreaterThanOrEqual(2);
    expect(ours.join('\n')).toContain('--source-db-password ********');
    expect(ps).not.toContain(source.password);
    expect(ps).not.toContain(target.password);

    for (const args of [['get', 'data-migration-report', ...dir], ['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'true']]) {
      const result = await runGodwit(args, { env: noEnv });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(source.password);
    }
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect([exported.code, imported.code], exported.stderr + imported.stderr).toEqual([0, 0]);
    for (const output of [exported, imported]) expect(output.stdout + output.stderr).not.toMatch(new RegExp(`${source.password}|${target.password}`));
    expect(filesWithPasswords(exportDir)).toEqual([]);

    const backupDir = join(base, 'backup');
    const ended = await runGodwit(['end', 'migration', ...dir, ...src, ...dst, '--backup-schema-files', 'true', '--backup-data-files', 'true',
      '--save-migration-reports', 'true', '--backup-log-files', 'true', '--backup-dir', backupDir, '--yes'], { env: noEnv });
    expect(ended.code, ended.stderr).toBe(0);
    expect(filesWithPasswords(backupDir)).toEqual([]);
    expect(spawnSync('find', [backupDir, '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').length).toBeGreaterThan(10);
  }, 180_000);
});
