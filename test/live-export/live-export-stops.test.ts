// The live export stops, with the reason and what to do, instead of letting the target diverge:
// TRUNCATE of a migrated table and a column added to one on the source while changes stream. The
// changes committed before the stopping transaction are in the queue; the stopping one is not, and
// running the same command again stops at the same transaction (it is never skipped silently).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { getLiveExport } from '../../src/state/live-export-store.js';
import { openStore } from '../../src/state/store.js';
import { createDatabase, dropDatabase, runSql } from '../harness/index.js';
import { runGodwit } from '../helpers/run-godwit.js';
import { env, exportData, exportDataArgs, exportSchema, newExportDir, source, startGodwit, waitFor } from '../snapshot-export/helpers.js';

const databases: string[] = [];
afterAll(async () => {
  for (const db of databases) await dropDatabase(source, db); // ends walsenders, drops slots and publications with the database
});

const LIVE = ['--export-type', 'snapshot-and-changes', '--parallel-jobs', '2'];

function streaming(exportDir: string): boolean {
  const store = openStore(join(exportDir, 'metainfo', 'godwit.db'));
  try {
    return getLiveExport(store, 'source-to-target')?.state === 'streaming';
  } finally {
    store.close();
  }
}

async function queuedInserts(exportDir: string): Promise<number> {
  const store = openStore(join(exportDir, 'metainfo', 'godwit.db'));
  try {
    const reader = openQueueReader({ store, queueDir: join(exportDir, 'data', 'queue'), stream: 'source-to-target' });
    let n = 0;
    for (let batch = await reader.read(10_000); batch.length > 0; batch = await reader.read(10_000)) n += batch.filter((e) => e.op === 'insert').length;
    return n;
  } finally {
    store.close();
  }
}

describe('live export stops on what the stream cannot carry', () => {
  for (const [what, statement, message] of [
    ['TRUNCATE', 'TRUNCATE items', /TRUNCATE of "public"\."items" on the source during the live migration/],
    ['a new column', "ALTER TABLE items ADD COLUMN extra text; INSERT INTO items VALUES (100001, 'after', 'x')", /The columns of "public"\."items" changed on the source/],
  ] as const) {
    it(`${what}: stops with the reason, keeps what came before, and stops again at the same place`, async () => {
      const db = await createDatabase(source, `live_stop_${what === 'TRUNCATE' ? 'truncate' : 'ddl'}`);
      databases.push(db);
      await runSql(source, db, `CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, 'v' FROM generate_series(1, 1000) g;`);
      const exportDir = newExportDir('live-stop');
      await exportSchema(exportDir, db);
      const running = startGodwit(exportDataArgs(exportDir, db, LIVE));
      let exited = false;
      void running.done.then(() => (exited = true));
      await waitFor(() => exited || streaming(exportDir), 60_000, 'the snapshot to finish and the stream to start');
      await runSql(source, db, `INSERT INTO items SELECT g, 'before' FROM generate_series(2001, 2010) g;`);
      await waitFor(async () => exited || (await queuedInserts(exportDir)) >= 10, 60_000, 'the first changes in the queue');
      await runSql(source, db, statement);
      const stopped = await running.done;
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toMatch(message);
      expect(stopped.stderr).toMatch(/--start-clean/);
      expect(await queuedInserts(exportDir)).toBe(10);

      const again = await exportData(exportDir, db, LIVE, {}, 60_000);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(message);
      expect(await queuedInserts(exportDir)).toBe(10);
      // The report's exported changes are exactly the queue's (recorded with each queue commit).
      const report = await runGodwit(['get', 'data-migration-report', '--export-dir', exportDir, '--output-format', 'json'], { env });
      expect(report.code, report.stderr).toBe(0);
      const items = (JSON.parse(report.stdout) as { tables: { table: string; exportedInserts: number; exportedUpdates: number }[] }).tables.find(
        (t) => t.table === '"public"."items"',
      );
      expect(items?.exportedInserts).toBe(10);
      expect(items?.exportedUpdates).toBe(0);
    }, 120_000);
  }
});
