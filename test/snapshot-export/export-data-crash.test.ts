// The snapshot export under stress: writes on the source while it runs never reach the files (one
// consistent snapshot); SIGKILL at random moments then the same command gives exactly the source's
// rows; the source dropping the connections mid-export is a clear error and the re-run resumes.

import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import {
  exportData,
  exportDataArgs,
  exportSchema,
  exportedChunkCount,
  exportedFormat,
  exportedLines,
  expectExportEqualsSource,
  newExportDir,
  partialFiles,
  recorded,
  source,
  sourceLines,
  startGodwit,
  waitFor,
} from './helpers.js';

const databases: string[] = [];
afterAll(async () => {
  for (const db of databases) await dropDatabase(source, db);
});

/** A database with a table of `rows` rows spread over many pages, and its recorded catalog. */
async function bigSource(prefix: string, rows: number): Promise<{ db: string; exportDir: string }> {
  const db = await createDatabase(source, prefix);
  databases.push(db);
  await runSql(source, db, `
    CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL, payload text);
    INSERT INTO items SELECT g, md5(g::text), repeat('x', g % 50) FROM generate_series(1, ${rows}) g;
    CREATE TABLE tags (id serial PRIMARY KEY, name text);
    INSERT INTO tags (name) SELECT 'tag ' || g FROM generate_series(1, 500) g;`);
  const exportDir = newExportDir(prefix);
  await exportSchema(exportDir, db);
  return { db, exportDir };
}

const SLOW = { GODWIT_SNAPSHOT_CHUNK_PAGES: '40', GODWIT_TEST_CHUNK_DELAY_MS: '60' };

describe('export data from source: consistency and crashes', () => {
  it('changes made on the source while the export runs never appear in the files', async () => {
    const { db, exportDir } = await bigSource('snapx_consistent', 100_000);
    // Both tables have only built-in types, so their files hold binary tuples (compared as hex).
    const before = await sourceLines(db, 'public', 'items', ['id', 'v', 'payload'], 'binary');
    const tagsBefore = await sourceLines(db, 'public', 'tags', ['id', 'name'], 'binary');
    const running = startGodwit(exportDataArgs(exportDir, db, ['--parallel-jobs', '2']), SLOW);
    await waitFor(() => exportedChunkCount(exportDir) >= 1, 60_000, 'the first exported chunk');
    await runSql(source, db, `
      UPDATE items SET v = 'changed' WHERE id % 7 = 0;
      DELETE FROM items WHERE id % 11 = 0;
      INSERT INTO items SELECT g, 'new', NULL FROM generate_series(200001, 201000) g;
      INSERT INTO tags (name) VALUES ('late');`);
    const r = await running.done;
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const { chunks } = recorded(exportDir);
    expect(chunks.filter((c) => c.tableKey === '"public"."items"').length).toBeGreaterThan(5);
    expect(exportedFormat(exportDir, '"public"."items"')).toBe('binary');
    expect(exportedLines(exportDir, '"public"."items"')).toEqual(before);
    expect(exportedLines(exportDir, '"public"."tags"')).toEqual(tagsBefore);
    expect(tagsBefore.length).toBe(500);
  });

  it('SIGKILL at random moments, then the same command: exactly the source rows, no .partial file', async () => {
    const { db, exportDir } = await bigSource('snapx_sigkill', 100_000);
    const args = exportDataArgs(exportDir, db, ['--parallel-jobs', '3']);
    // One kill early (while starting or planning), then kills a random moment after some progress.
    // Slower chunks than SLOW: since the export writes its files on the main thread it can finish a
    // 100,000-row table between two kills, and this test needs several kills after progress.
    const slower = { ...SLOW, GODWIT_TEST_CHUNK_DELAY_MS: '150' };
    const early = startGodwit(args, slower);
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 400));
    early.child.kill('SIGKILL');
    await early.done;
    let killsAfterProgress = 0;
    for (let round = 0; round < 4; round++) {
      const running = startGodwit(args, slower);
      let exited = false;
      void running.done.then(() => (exited = true));
      const before = exportedChunkCount(exportDir);
      await waitFor(() => exited || exportedChunkCount(exportDir) > before, 60_000, 'progress');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 400));
      running.child.kill('SIGKILL');
      const r = await running.done;
      if (r.code === 0) break; // finished before the kill
      killsAfterProgress++;
    }
    expect(killsAfterProgress).toBeGreaterThan(1);
    const final = await exportData(exportDir, db, ['--parallel-jobs', '3'], { GODWIT_SNAPSHOT_CHUNK_PAGES: '40' });
    expect(final.code).toBe(0);
    await expectExportEqualsSource(exportDir, db);
    expect(partialFiles(exportDir)).toEqual([]);
    const n = (await query<{ n: string }>(source, db, 'SELECT count(*)::text AS n FROM items'))[0]?.n;
    const rows = recorded(exportDir).chunks.filter((c) => c.tableKey === '"public"."items"').reduce((s, c) => s + (c.rowCount ?? 0), 0);
    expect(rows).toBe(Number(n));
  });

  it('the source dropping the connections mid-export is a clear error, and the same command resumes', async () => {
    const { db, exportDir } = await bigSource('snapx_unreachable', 60_000);
    const running = startGodwit(exportDataArgs(exportDir, db, ['--parallel-jobs', '2']), { ...SLOW, GODWIT_TEST_CHUNK_DELAY_MS: '150' });
    await waitFor(() => exportedChunkCount(exportDir) >= 1, 60_000, 'the first exported chunk');
    await query(source, 'postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE 'godwit%'`, [db]);
    const r = await running.done;
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error: The connection to the source database at .* was lost while/);
    expect(r.stderr).toContain('run the same command again');
    const exported = exportedChunkCount(exportDir);
    expect(exported).toBeGreaterThan(0);
    expect(exported).toBeLessThan(recorded(exportDir).chunks.length);
    const again = await exportData(exportDir, db, ['--parallel-jobs', '2'], { GODWIT_SNAPSHOT_CHUNK_PAGES: '40' });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('more than one snapshot');
    await expectExportEqualsSource(exportDir, db);
  });
});
