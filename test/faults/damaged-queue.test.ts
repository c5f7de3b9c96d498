// A change-queue segment damaged on disk (issue 7): the importer, run as a user runs it, must detect
// it by the records' checksums and stop with a message naming the file and the byte offset (exit 5),
// having applied nothing from the damaged record on.
import { openSync, readdirSync, readSync, writeSync, closeSync, statSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { query, runSql, servers } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { connectionArgs as connection, databasePair, harnessEnv, schemaPhase, slotStreaming, waitUntil } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();


describe('a damaged change-queue segment', () => {
  it('stops the importer with the file and offset named, nothing applied from the damage on', async () => {
    const { sourceDb, targetDb } = await databases('dq');
    await runSql(source, sourceDb, 'CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL);');
    const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-dq-')), 'export');
    const dir = ['--export-dir', exportDir];
    const src = connection(source, 'source', sourceDb);
    const dst = connection(target, 'target', targetDb);
    await schemaPhase(dir, src, dst, env);
    // The import's snapshot part (an empty table) first, so that the damage meets the change apply.
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env });
    const deadline = Date.now() + 60_000;
    await waitUntil('streaming', () => slotStreaming(source, sourceDb));
    // 400 one-row transactions, then the exporter stops (SIGTERM: exit 0).
    await runSql(source, sourceDb, `DO $$ BEGIN FOR i IN 1..400 LOOP INSERT INTO t VALUES (i, repeat('v', 50)); COMMIT; END LOOP; END $$;`);
    const queueDir = join(exportDir, 'data', 'queue');
    const segment = (): string | undefined => readdirSync(queueDir).find((f) => f.endsWith('.seg'));
    while (segment() === undefined || statSync(join(queueDir, segment() as string)).size < 400 * 60) {
      if (Date.now() > deadline) throw new Error('the changes never reached the queue');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    exporter.child.kill('SIGTERM');
    expect((await exporter.done).code).toBe(0);
    // One byte flipped in the middle of the committed part of the segment.
    const file = join(queueDir, segment() as string);
    const size = statSync(file).size;
    const fd = openSync(file, 'r+');
    const byte = Buffer.alloc(1);
    const at = Math.floor(size / 2);
    readSync(fd, byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);

    const imported = await runGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env, timeoutMs: 60_000 });
    expect(imported.code, imported.stderr).toBe(5);
    expect(imported.stderr).toContain(`error: The change queue segment ${file} is damaged at byte offset`);
    expect(imported.stderr).not.toMatch(/\n\s+at .*\.js:\d+/);
    const [row] = await query<{ n: string; max: string | null }>(target, targetDb, 'SELECT count(*)::text AS n, max(id)::text AS max FROM t');
    // Nothing from the damaged record on: what was applied (if anything) is a prefix of the stream.
    expect(Number(row?.n)).toBeLessThan(400);
    if (row?.n !== '0') expect(row?.max).toBe(row?.n);
  }, 120_000);
});
