// Connections cut between godwit and each server (issue 7, fault injection): the live migration runs
// through TCP proxies that reset every connection several times while changes stream and a workload
// writes to the source, refuse new connections for a few seconds, and answer them for eight seconds as
// servers in crash recovery do (57P03). The exporter and the importer must reconnect and continue
// (never exit), and after the cutover the target must be identical.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConfig, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { databasePair, harnessEnv, schemaPhase, sleep } from '../helpers/migration-cli.js';

const { source, target } = servers();
const env = harnessEnv();
const databases = databasePair();
const proxies: TcpProxy[] = [];
afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
});

function viaProxy(server: HarnessServer, proxy: TcpProxy, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, '127.0.0.1', `--${role}-db-port`, String(proxy.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

describe('connections cut by the network', () => {
  it('the exporter and the importer reconnect and the target ends identical', async () => {
    const { sourceDb, targetDb } = await databases('cuts');
    await runSql(source, sourceDb, `
      CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
      INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 5000) g;
      CREATE TABLE history (id bigserial PRIMARY KEY, account_id bigint NOT NULL, delta int NOT NULL);`);
    const sourceProxy = await startTcpProxy('127.0.0.1', source.port);
    const targetProxy = await startTcpProxy('127.0.0.1', target.port);
    proxies.push(sourceProxy, targetProxy);
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-cuts-')), 'export')];
    const src = viaProxy(source, sourceProxy, 'source', sourceDb);
    const dst = viaProxy(target, targetProxy, 'target', targetDb);
    await schemaPhase(dir, src, dst, env);
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    const stop = { now: false };
    const app = (async () => {
      const client = new pg.Client(adminConfig(source, sourceDb));
      await client.connect();
      let n = 0;
      while (!stop.now) {
        const id = 1 + (n % 5000);
        await client.query('BEGIN');
        await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [id]);
        await client.query('INSERT INTO history (account_id, delta) VALUES ($1, 1)', [id]);
        await client.query('COMMIT');
        n++;
        if (n % 50 === 0) await sleep(20);
      }
      await client.end();
      return n;
    })();
    // Streaming first (the snapshot of a live export cannot survive losing its slot's connection).
    const deadline = Date.now() + 90_000;
    while (Number((await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM history').catch(() => []))[0]?.n ?? 0) === 0) {
      if (Date.now() > deadline) throw new Error('streaming never started');
      await sleep(250);
    }
    let cuts = 0;
    /** Every connection to both servers cut, and new ones treated by `set` for `ms`. */
    const outage = async (set: (proxy: TcpProxy, on: boolean) => void, ms: number): Promise<void> => {
      for (const proxy of [sourceProxy, targetProxy]) set(proxy, true);
      cuts += sourceProxy.cutAll() + targetProxy.cutAll();
      await sleep(ms);
      for (const proxy of [sourceProxy, targetProxy]) set(proxy, false);
    };
    const assertAlive = async (after: string): Promise<void> => {
      for (const r of [exporter, importer]) {
        if (r.child.exitCode !== null) throw new Error(`a godwit process exited (${r.child.exitCode}) ${after}:\n${(await r.done).stderr.slice(-3000)}`);
      }
    };
    for (let round = 0; round < 6; round++) {
      await sleep(1_200);
      cuts += (round % 2 === 0 ? sourceProxy : targetProxy).cutAll();
      if (round === 3) {
        // Both sides unreachable for a while: new connections are refused, then accepted again.
        await outage((proxy, on) => proxy.refuse(on), 3_000);
      }
      await assertAlive('after a cut');
    }
    // Both servers in crash recovery for longer than one connect's attempts (about 3.5 s): every new
    // connection gets FATAL 57P03, as from a server replaying a long WAL. The processes wait it out.
    await outage((proxy, on) => proxy.startingUp(on), 8_000);
    await sleep(1_500);
    await assertAlive('while a server was starting up');
    expect(cuts).toBeGreaterThanOrEqual(6);
    stop.now = true;
    const transactions = await app;
    expect(transactions).toBeGreaterThan(100);
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr.slice(-2000)).toBe(0);
    expect(imported.code, imported.stderr.slice(-2000)).toBe(0);
    expect(await tableChecksums(target, targetDb, ['public'])).toEqual(await tableChecksums(source, sourceDb, ['public']));
  }, 180_000);
});
