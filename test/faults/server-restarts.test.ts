// Servers restarted in immediate mode (issue 7, fault injection): the target crashes while the
// snapshot loads and again while changes are applied, the source crashes while changes stream, with
// an application writing to the source throughout (it reconnects as applications do). Each crash drops
// every connection and loses what PostgreSQL had not flushed. The exporter and the importer must wait
// for the server and continue (never exit), and after the cutover the target must be identical.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { runGodwit, startGodwit, type RunningGodwit } from '../helpers/run-godwit.js';

let baseDir: string;
let source: EmbeddedServer;
let target: EmbeddedServer;
const running: RunningGodwit[] = [];

beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'godwit-restarts-'));
  await chmod(baseDir, 0o755); // as root the servers run as the postgres OS user
  [source, target] = await Promise.all([
    startEmbeddedServer({ major: 15, baseDir: join(baseDir, 'source'), fsync: false }),
    startEmbeddedServer({ major: 17, baseDir: join(baseDir, 'target'), fsync: false }),
  ]);
}, 120_000);

afterAll(async () => {
  for (const r of running) r.child.kill('SIGKILL');
  await Promise.all([source?.stop(), target?.stop()]);
  if (baseDir) await rm(baseDir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function scalar(server: EmbeddedServer, sql: string): Promise<string | undefined> {
  const client = new pg.Client(server.connectionConfig('app'));
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<{ v: string }>(sql)).rows[0]?.v;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function fingerprint(server: EmbeddedServer): Promise<string[]> {
  const client = new pg.Client(server.connectionConfig('app'));
  await client.connect();
  try {
    const out: string[] = [];
    for (const table of ['accounts', 'history']) {
      const { rows } = await client.query<{ v: string }>(`SELECT count(*) || ' ' || md5(string_agg(t::text, ',' ORDER BY t::text)) AS v FROM ${table} t`);
      out.push(`${table} ${rows[0]?.v}`);
    }
    return out;
  } finally {
    await client.end();
  }
}

function connection(server: EmbeddedServer, role: 'source' | 'target'): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user, `--${role}-db-name`, 'app', `--${role}-ssl-mode`, 'disable'];
}

describe('servers restarted in immediate mode', () => {
  it('the exporter and the importer wait for them and the target ends identical', async () => {
    for (const server of [source, target]) {
      const admin = new pg.Client(server.connectionConfig());
      await admin.connect();
      await admin.query('CREATE DATABASE app');
      await admin.end();
    }
    const setup = new pg.Client(source.connectionConfig('app'));
    await setup.connect();
    await setup.query(`
      CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, filler text);
      INSERT INTO accounts SELECT g, 0, repeat('x', 200) FROM generate_series(1, 300000) g;
      CREATE TABLE history (id bigserial PRIMARY KEY, account_id bigint NOT NULL, delta int NOT NULL);`);
    await setup.end();
    const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
    const dir = ['--export-dir', join(baseDir, 'export')];
    for (const args of [['export', 'schema', ...dir, ...connection(source, 'source')], ['import', 'schema', ...dir, ...connection(target, 'target')]]) {
      const result = await runGodwit(args, { env });
      expect(result.code, result.stderr).toBe(0);
    }
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source'), '--export-type', 'snapshot-and-changes'], { env });
    // Small batches so that the target's crash lands in the middle of the load.
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target'), '--batch-size', '1000', '--parallel-jobs', '2'], { env });
    running.push(exporter, importer);

    const stop = { now: false };
    let transactions = 0;
    const app = (async () => {
      while (!stop.now) {
        const client = new pg.Client(source.connectionConfig('app'));
        client.on('error', () => undefined);
        try {
          await client.connect();
          while (!stop.now) {
            const id = 1 + (transactions % 300000);
            await client.query('BEGIN');
            await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [id]);
            await client.query('INSERT INTO history (account_id, delta) VALUES ($1, 1)', [id]);
            await client.query('COMMIT');
            transactions++;
            if (transactions % 20 === 0) await sleep(10);
          }
        } catch {
          await sleep(200); // the source is down: the application retries
        } finally {
          await client.end().catch(() => undefined);
        }
      }
    })();

    const alive = async (): Promise<void> => {
      for (const r of [exporter, importer]) {
        if (r.child.exitCode !== null) {
          const result = await r.done;
          throw new Error(`a godwit process exited (${result.code}) after a server crash:\n${result.stderr.slice(-3000)}`);
        }
      }
    };
    // 1. The target crashes while the snapshot loads.
    const deadline = Date.now() + 120_000;
    while (Number((await scalar(target, 'SELECT count(*)::text AS v FROM accounts')) ?? 0) < 20_000) {
      if (Date.now() > deadline) throw new Error('the snapshot load never started');
      await sleep(50);
    }
    await target.restartImmediate(1_000);
    await alive();
    // 2. Streaming: the source crashes, then the target again. (The load after the crash may take a while on a busy machine.)
    const streamingDeadline = Date.now() + 240_000;
    while (Number((await scalar(target, 'SELECT count(*)::text AS v FROM history')) ?? 0) === 0) {
      await alive();
      if (Date.now() > streamingDeadline) {
        for (const r of [exporter, importer]) r.child.kill('SIGTERM');
        const [e, i] = await Promise.all([exporter.done, importer.done]);
        throw new Error(`streaming never started:\nexporter: ${e.stdout.slice(-1500)}${e.stderr.slice(-1500)}\nimporter: ${i.stdout.slice(-1500)}${i.stderr.slice(-1500)}`);
      }
      await sleep(250);
    }
    await sleep(1_000);
    await source.restartImmediate(2_000);
    await sleep(3_000);
    await alive();
    await target.restartImmediate(2_000);
    await sleep(3_000);
    await alive();
    stop.now = true;
    await app;
    expect(transactions).toBeGreaterThan(100);

    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr.slice(-3000)).toBe(0);
    expect(imported.code, imported.stderr.slice(-3000)).toBe(0);
    expect(await fingerprint(target)).toEqual(await fingerprint(source));
  }, 480_000);
});
