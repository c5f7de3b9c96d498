// The commands of a migration may be started side by side, as a DBA does in several terminals:
// `import data to target` waits while `import schema` runs (the tables must exist before the first
// batch); `export data from source` waits while `export schema` runs until that run has recorded the
// source catalog, and `import schema` (the schema files) until it ends. Each waiting command says
// what it waits for, then does its whole job. The test holds the other command's lock itself (as a
// running command does), so the overlap is certain.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSql, servers } from '../harness/index.js';
import { connectionArgs, databasePair, harnessEnv, rowCount, sleep, waitUntil } from '../helpers/migration-cli.js';
import { runGodwit, startGodwit, type RunningGodwit } from '../helpers/run-godwit.js';
import { acquireCommandLock } from '../../src/state/lock.js';
import { exportDirLayout } from '../../src/state/export-dir.js';
import { CATALOG_RECORDED } from '../../src/state/catalog-store.js';
import { openStore } from '../../src/state/store.js';

const { source, target } = servers();
const env = harnessEnv();
const pair = databasePair();

describe('commands started side by side', () => {
  it('export data waits for a running export schema, import data for a running import schema', async () => {
    const { sourceDb, targetDb } = await pair('side_by_side');
    await runSql(source, sourceDb, `CREATE TABLE items (id integer PRIMARY KEY, label text);
      INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 5000) g;`);
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-side-by-side-')), 'export');
    const dir = ['--export-dir', exportDir];
    const src = connectionArgs(source, 'source', sourceDb);
    const dst = connectionArgs(target, 'target', targetDb);
    const layout = exportDirLayout(exportDir);

    // export schema "running": export data and import schema wait, writing nothing.
    expect((await runGodwit(['export', 'schema', ...dir, ...src], { env })).code).toBe(0);
    const exportSchemaLock = acquireCommandLock(layout, 'export-schema');
    const exporting = watched(startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--parallel-jobs', '2'], { env }));
    const schemaImport = watched(startGodwit(['import', 'schema', ...dir, ...dst], { env }));
    await waitUntil('export data to say it waits', async () => exporting.output().includes('waiting for `export schema` to finish'), 30_000, 50);
    await waitUntil('import schema to say it waits', async () => schemaImport.output().includes('waiting for `export schema` to finish'), 30_000, 50);
    await sleep(300);
    expect(exporting.running.child.exitCode).toBeNull();
    expect(schemaImport.running.child.exitCode).toBeNull();
    expect(await rowCount(target, targetDb, 'items')).toBe(-1);
    // Once the running export schema has recorded the source catalog, the data export goes on; the
    // schema import still waits for the schema files, that is for export schema to end.
    const store = openStore(layout.storeFile);
    store.setPhaseStatus('export-schema', 'running', CATALOG_RECORDED);
    store.close();
    const exported = await exporting.running.done;
    expect(exported.code, exported.stderr).toBe(0);
    expect(schemaImport.running.child.exitCode).toBeNull();
    exportSchemaLock.release();
    const schemaImported = await schemaImport.running.done;
    expect(schemaImported.code, schemaImported.stderr).toBe(0);

    // import schema "running": import data waits, then loads everything.
    const importSchemaLock = acquireCommandLock(layout, 'import-schema');
    const importing = watched(startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst, '--parallel-jobs', '2'], { env }));
    await waitUntil('import data to say it waits', async () => importing.output().includes('waiting for `import schema` to finish'), 30_000, 50);
    await sleep(300);
    expect(importing.running.child.exitCode).toBeNull();
    expect(await rowCount(target, targetDb, 'items')).toBe(0);
    importSchemaLock.release();
    const imported = await importing.running.done;
    expect(imported.code, imported.stderr).toBe(0);
    expect(await rowCount(target, targetDb, 'items')).toBe(5000);
  });
});

/** A started command with everything it printed so far (both streams). */
function watched(running: RunningGodwit): { running: RunningGodwit; output: () => string } {
  let output = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  running.child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { running, output: () => output };
}
