// The export directory's file system full (issue 7, fault injection), on a small tmpfs: the snapshot
// export and then the change stream run out of space. Each must stop with a clear message (exit code
// non-zero, no stack trace), leave no corrupt state, and finish when the same command is run again
// after space was freed; the target must then be identical. Needs root (mount); skipped otherwise.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { query, runSql, servers } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { connectionArgs as connection, databasePair, harnessEnv, rowCount, schemaPhase, waitWhileRunning } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();
const snapshotMount = mkdtempSync(join(tmpdir(), 'godwit-full-'));
const streamMount = mkdtempSync(join(tmpdir(), 'godwit-full-stream-'));
const mountTmpfs = (path: string, megabytes: number): boolean =>
  process.getuid?.() === 0 && spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${megabytes}m`, 'tmpfs', path]).status === 0;
const mounted = mountTmpfs(snapshotMount, 6) && mountTmpfs(streamMount, 4);

afterAll(async () => {
  for (const path of [snapshotMount, streamMount]) {
    spawnSync('umount', ['-l', path]);
    rmSync(path, { recursive: true, force: true });
  }
});

function resize(mountPoint: string, megabytes: number): void {
  const result = spawnSync('mount', ['-o', `remount,size=${megabytes}m`, mountPoint], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
}

/** A failure the user can act on: exit code non-zero, the full file system named, no stack trace. */
function expectDiskFullMessage(result: { code: number | null; stderr: string }): void {
  expect(result.code, result.stderr).toBe(5);
  expect(result.stderr).toContain('The file system of the export directory is full');
  expect(result.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
}

describe.skipIf(!mounted)('the export directory file system full (root only: tmpfs)', () => {
  it('stops the snapshot export with a clear message, which resumes after space is freed', async () => {
    const { sourceDb, targetDb } = await databases('full');
    // About 12 MB of snapshot: twice what the file system holds.
    await runSql(source, sourceDb, `
      CREATE TABLE docs (id int PRIMARY KEY, body text NOT NULL);
      INSERT INTO docs SELECT g, repeat(md5(g::text), 12) FROM generate_series(1, 30000) g;`);
    const dir = ['--export-dir', join(snapshotMount, 'export')];
    const src = connection(source, 'source', sourceDb);
    const dst = connection(target, 'target', targetDb);
    await schemaPhase(dir, src, dst, env);
    const exportArgs = ['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-only'];
    const full = await runGodwit(exportArgs, { env: { ...env, GODWIT_SNAPSHOT_CHUNK_PAGES: '64' } });
    expectDiskFullMessage(full);
    resize(snapshotMount, 64);
    const resumed = await runGodwit(exportArgs, { env: { ...env, GODWIT_SNAPSHOT_CHUNK_PAGES: '64' } });
    expect(resumed.code, resumed.stderr).toBe(0);
    const imported = await runGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(await tableChecksums(target, targetDb, ['public'])).toEqual(await tableChecksums(source, sourceDb, ['public']));
    const [{ n } = { n: '' }] = await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM docs');
    expect(n).toBe('30000');
  }, 180_000);

  it('stops the change stream with a clear message, which resumes after space is freed', async () => {
    const { sourceDb, targetDb } = await databases('full_stream');
    await runSql(source, sourceDb, 'CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL); INSERT INTO notes VALUES (1, $$first$$);');
    const dir = ['--export-dir', join(streamMount, 'export')];
    const src = connection(source, 'source', sourceDb);
    const dst = connection(target, 'target', targetDb);
    await schemaPhase(dir, src, dst, env);
    const exportArgs = ['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'];
    const exporter = startGodwit(exportArgs, { env });
    const deadline = Date.now() + 60_000;
    const streaming = "SELECT count(*)::text AS n FROM pg_replication_slots WHERE active AND slot_name LIKE 'godwit%' AND database = current_database()";
    while ((await query<{ n: string }>(source, sourceDb, streaming))[0]?.n !== '1') {
      if (Date.now() > deadline) throw new Error('streaming never started');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // About 8 MB of changes (not compressible): twice what the file system has left.
    await runSql(source, sourceDb, `INSERT INTO notes SELECT g, (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 30) i) FROM generate_series(2, 8001) g`);
    const full = await exporter.done;
    expectDiskFullMessage(full);
    resize(streamMount, 64);
    const resumed = startGodwit(exportArgs, { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    await waitWhileRunning('the target to catch up', async () => (await rowCount(target, targetDb, 'notes')) === 8001,
      { exporter: resumed, importer }, { exportDir: dir[1] });
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([resumed.done, importer.done]);
    expect([exported.code, imported.code], exported.stderr + imported.stderr).toEqual([0, 0]);
    expect(await tableChecksums(target, targetDb, ['public'])).toEqual(await tableChecksums(source, sourceDb, ['public']));
  }, 180_000);
});
