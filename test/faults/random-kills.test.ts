// SIGKILL at random moments of every phase (issue 7): the whole workflow with fall-back as a user
// runs it, while a killer SIGKILLs a random running godwit process every 0.3-1.5 s and a supervisor
// starts each killed one again with the same command: the snapshot load, the change stream, the
// cutover to target, the fall-back stream and the cutover to source. (The live exporter is spared only
// while it reads its snapshot: a snapshot-and-changes export cannot resume a snapshot, by design, and
// says so.) Applications write to whichever side is primary. Both cutovers must end identical.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConfig, createDatabase, dropDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, stopAfterHandOver, type RunningGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { connectionArgs as connection, harnessEnv, schemaPhase, sleep } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const created: [HarnessServer, string][] = [];
const live = new Set<{ running: RunningGodwit; killable: () => boolean; startedAt: number }>();
/**
 * A process younger than this is killed only now and then (YOUNG_KILL_SHARE of the picks): on a slow,
 * busy machine a command's start alone can take most of a second, and one killed before it does any
 * work every time would never get anywhere. Kills during the start still happen.
 */
const GROWN_UP_MS = 1_000;
const YOUNG_KILL_SHARE = 0.3;
afterAll(async () => {
  for (const r of live) r.running.child.kill('SIGKILL');
  for (const [server, db] of created) await dropDatabase(server, db);
});



/** Runs a command until it ends by itself (an exit code), starting it again whenever it was killed; returns its last result. */
async function supervised(args: string[], killable: () => boolean = () => true, extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; runs: number }> {
  for (let runs = 1; runs <= 200; runs++) {
    const entry = { running: startGodwit(args, { env: { ...env, ...extraEnv } }), killable, startedAt: Date.now() };
    // A forward command that hands over to its fall-back command after the cutover is stopped there (the test starts those by hand).
    stopAfterHandOver(entry.running);
    live.add(entry);
    const result = await entry.running.done;
    live.delete(entry);
    if (result.code !== null) return { code: result.code, stderr: result.stderr, runs };
  }
  throw new Error(`${args.slice(0, 4).join(' ')} was killed 200 times`);
}

/** Kills a random killable godwit process every 0.3-1.5 s until stopped; returns how many it killed. */
function startKiller(): { stop: () => Promise<number> } {
  let stopping = false;
  let kills = 0;
  const loop = (async () => {
    while (!stopping) {
      await sleep(300 + Math.random() * 1200);
      const young = Math.random() < YOUNG_KILL_SHARE;
      const candidates = [...live].filter((r) => r.killable() && r.running.child.exitCode === null && (young || Date.now() - r.startedAt >= GROWN_UP_MS));
      const victim = candidates[Math.floor(Math.random() * candidates.length)];
      if (victim !== undefined && !stopping) {
        victim.running.child.kill('SIGKILL');
        kills++;
      }
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return kills;
    },
  };
}

/** An application writing small transactions to `database` on `server` until stopped. */
function application(server: HarnessServer, database: string): { stop: () => Promise<number> } {
  let stopping = false;
  let n = 0;
  const loop = (async () => {
    const client = new pg.Client(adminConfig(server, database));
    client.on('error', () => undefined); // a failed test drops the database under it: its queries fail instead
    await client.connect();
    try {
      while (!stopping) {
        const id = 1 + Math.floor(Math.random() * 4000);
        await client.query('BEGIN');
        await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [id]);
        await client.query('INSERT INTO moves (account_id, amount) VALUES ($1, $2)', [id, n]);
        if (n % 9 === 0) await client.query('DELETE FROM moves WHERE id = (SELECT min(id) FROM moves)');
        await client.query('COMMIT');
        n++;
        if (n % 25 === 0) await sleep(20);
      }
    } finally {
      await client.end();
    }
  })();
  loop.catch(() => undefined); // awaited by stop(); a test that failed before it must not report it again
  return {
    stop: async () => {
      stopping = true;
      await loop;
      return n;
    },
  };
}

describe('SIGKILL at random moments of every phase, the whole workflow with fall-back', () => {
  it('ends identical at both cutovers', async () => {
    const sourceDb = await createDatabase(source, 'kills_src');
    const targetDb = await createDatabase(target, 'kills_dst');
    created.push([source, sourceDb], [target, targetDb]);
    await runSql(source, sourceDb, `
      CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, note text);
      INSERT INTO accounts SELECT g, 0, repeat(md5(g::text), 20) FROM generate_series(1, 4000) g;
      CREATE TABLE moves (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, amount int NOT NULL);
      INSERT INTO moves (account_id, amount) SELECT 1 + g % 4000, g FROM generate_series(1, 60000) g;`);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-kills-')), 'export')];
    const src = connection(source, 'source', sourceDb);
    const dst = connection(target, 'target', targetDb);
    await schemaPhase(dir, src, dst, env);
    const killer = startKiller();
    // Forward: snapshot (small batches, so that kills land inside the load) and stream.
    let streaming = false;
    const onSource = application(source, sourceDb);
    const exporter = supervised(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], () => streaming, { GODWIT_SNAPSHOT_CHUNK_PAGES: '16' });
    const importer = supervised(['import', 'data', 'to', 'target', ...dir, ...dst, '--batch-size', '1000']);
    const deadline = Date.now() + 180_000;
    while (!streaming) {
      const [row] = await query<{ n: string }>(source, sourceDb, "SELECT count(*)::text AS n FROM pg_replication_slots WHERE active AND slot_name LIKE 'godwit%' AND database = current_database()");
      const [moved] = await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM moves WHERE amount < 0 OR id > 60000').catch(() => [{ n: '0' }]);
      streaming = row?.n === '1' && Number(moved?.n) > 0;
      if (Date.now() > deadline) throw new Error('streaming never started');
      await sleep(200);
    }
    await sleep(6_000);
    const sourceWrites = await onSource.stop();
    const toTarget = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'true'], { env });
    expect(toTarget.code, toTarget.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter, importer]);
    expect([exported.code, imported.code], exported.stderr + imported.stderr).toEqual([0, 0]);
    expect(await tableChecksums(target, targetDb, ['public'])).toEqual(await tableChecksums(source, sourceDb, ['public']));

    // Fall-back: the application on the target, streamed back under kills, then cutover to source.
    const onTarget = application(target, targetDb);
    const reverseExporter = supervised(['export', 'data', 'from', 'target', ...dir, ...dst]);
    const reverseImporter = supervised(['import', 'data', 'to', 'source', ...dir, ...src]);
    await sleep(6_000);
    const targetWrites = await onTarget.stop();
    const toSource = await runGodwit(['initiate', 'cutover', 'to', 'source', ...dir], { env });
    expect(toSource.code, toSource.stderr).toBe(0);
    const [reverseExported, reverseImported] = await Promise.all([reverseExporter, reverseImporter]);
    const kills = await killer.stop();
    expect([reverseExported.code, reverseImported.code], reverseExported.stderr + reverseImported.stderr).toEqual([0, 0]);
    expect(await tableChecksums(source, sourceDb, ['public'])).toEqual(await tableChecksums(target, targetDb, ['public']));
    expect(sourceWrites).toBeGreaterThan(50);
    expect(targetWrites).toBeGreaterThan(50);
    expect(kills).toBeGreaterThanOrEqual(10);
    const runs = [exported, imported, reverseExported, reverseImported].map((r) => r.runs);
    process.stderr.write(`random kills: ${kills} SIGKILLs; runs per command ${runs.join(', ')}; ${sourceWrites} writes on the source, ${targetWrites} on the target\n`);
  }, 420_000);
});
