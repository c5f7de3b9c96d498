// A target table whose columns are in another order than the source's (created by hand, as a DBA
// may): the snapshot, the forward stream, the fall-back stream from the target and the cutover to
// source all carry values by column name, so the data ends the same on both sides. The fall-back
// exporter checks the target's tables against the columns they had when its slot was created (the
// target's own order), not against the source's: a column dropped and added again on the target while
// the exporter was down (the same names, now in the source's order) stops it.
import { afterAll, describe, expect, it } from 'vitest';
import { dropDatabase, query, runSql, type HarnessServer } from '../harness/index.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { connection, env, prepareMigration, printed, sleep, source, target, watched, type Migration, type Watched } from './cutover-helpers.js';

const NOTES = `
  CREATE TABLE notes (id int PRIMARY KEY, title text NOT NULL, body text);
  INSERT INTO notes SELECT g, 'note ' || g, repeat('b', g % 40) FROM generate_series(1, 300) g;`;

const created: [HarnessServer, string][] = [];
afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
});

async function notes(server: HarnessServer, database: string): Promise<unknown[]> {
  return query(server, database, 'SELECT id, title, body FROM notes ORDER BY id');
}

/** Waits for a note to arrive; fails at once, with what they printed, when one of the processes ended. */
async function waitForNote(server: HarnessServer, database: string, id: number, processes: Watched[]): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await query(server, database, 'SELECT 1 FROM notes WHERE id = $1', [id])).length === 0) {
    const ended = processes.find((p) => p.running.child.exitCode !== null);
    if (ended !== undefined || Date.now() > deadline) {
      const outputs = await Promise.all(processes.map(async (p) => p.out() + (p.running.child.exitCode === null ? '' : (await p.running.done).stderr)));
      throw new Error(`note ${id} did not arrive:\n${outputs.join('\n---\n')}`);
    }
    await sleep(200);
  }
}

/** The forward migration into a target whose notes table orders its columns otherwise, then cutover to target with fall-back. */
async function fallBackOnReorderedTarget(prefix: string): Promise<{ m: Migration; exporter: Watched; importer: Watched }> {
  const m = await prepareMigration(prefix, NOTES);
  created.push([source, m.sourceDb], [target, m.targetDb]);
  await runSql(target, m.targetDb, 'DROP TABLE notes; CREATE TABLE notes (body text, id int PRIMARY KEY, title text NOT NULL)');
  const exporter = watched(m.exportArgs);
  const importer = watched(m.importArgs);
  await runSql(source, m.sourceDb, "UPDATE notes SET title = title || ' (source)' WHERE id % 7 = 0; DELETE FROM notes WHERE id = 3; INSERT INTO notes VALUES (1001, 'from the source', 'x')");
  await waitForNote(target, m.targetDb, 1001, [exporter, importer]);
  const initiated = await runGodwit(['initiate', 'cutover', 'to', 'target', ...m.dir, '--prepare-for-fall-back', 'true'], { env });
  expect(initiated.code, initiated.stderr).toBe(0);
  await printed(exporter, 'import data to source: applying the change stream');
  await printed(importer, "export data from target: streaming the target's changes");
  expect(await notes(target, m.targetDb)).toEqual(await notes(source, m.sourceDb));
  return { m, exporter, importer };
}

describe('fall-back with a target table whose columns are in another order', () => {
  it('migrates, falls back and cuts over to the source with the same data', async () => {
    const { m, exporter, importer } = await fallBackOnReorderedTarget('fb_order');
    // The application now writes to the target; the fall-back stream carries it to the source.
    await runSql(
      target,
      m.targetDb,
      "INSERT INTO notes (id, title, body) VALUES (2001, 'from the target', 'y'); UPDATE notes SET body = 'changed on the target' WHERE id % 11 = 0; DELETE FROM notes WHERE id = 5",
    );
    await waitForNote(source, m.sourceDb, 2001, [exporter, importer]);
    const back = await runGodwit(['initiate', 'cutover', 'to', 'source', ...m.dir], { env });
    expect(back.code, back.stderr).toBe(0);
    const [imported, exported] = await Promise.all([exporter.running.done, importer.running.done]);
    expect(exported.code, exported.stderr + exporter.out()).toBe(0);
    expect(imported.code, imported.stderr + importer.out()).toBe(0);
    expect(exporter.out()).toMatch(/import data to source: cutover to source COMPLETED/);
    const onSource = await notes(source, m.sourceDb);
    expect(onSource).toEqual(await notes(target, m.targetDb));
    expect(onSource).toContainEqual({ id: 2001, title: 'from the target', body: 'y' });
    expect(onSource).toContainEqual({ id: 22, title: 'note 22', body: 'changed on the target' });
    expect(onSource.some((row) => (row as { id: number }).id === 5)).toBe(false);
  }, 300_000);

  it('stops the fall-back stream at a column change made on the target while its exporter was down', async () => {
    const { m, exporter, importer } = await fallBackOnReorderedTarget('fb_order_ddl');
    for (const w of [exporter, importer]) w.running.child.kill('SIGTERM');
    await Promise.all([exporter.running.done, importer.running.done]);
    // Dropped and added again: the same names, now in the source's order, and every body lost on the target.
    await runSql(target, m.targetDb, "ALTER TABLE notes DROP COLUMN body; ALTER TABLE notes ADD COLUMN body text; INSERT INTO notes VALUES (3001, 'after the change', 'z')");
    const reverseExport = ['export', 'data', 'from', 'target', ...m.dir, ...connection(target, 'target', m.targetDb)];
    const stopped = await runGodwit(reverseExport, { env, timeoutMs: 120_000 });
    expect(stopped.code).not.toBe(0);
    expect(stopped.stderr).toMatch(/The columns of "public"."notes" changed on the target .*columns reordered, compared with the columns the export expects/);
    expect(await query(source, m.sourceDb, 'SELECT 1 FROM notes WHERE id = 3001')).toEqual([]);
  }, 300_000);
});
