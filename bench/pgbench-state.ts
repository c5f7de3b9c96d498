// What the changes benchmark (changes-benchmark.ts) and the catch-up lab (catch-up-lab.ts) share: pgbench
// databases on a server, the backlog, the states compared to tell when a target holds the source's data,
// the queue's progress in an export directory, and the CPU seconds of a catch-up's processes.
import { execFileSync } from 'node:child_process';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { EmbeddedServer } from '../src/embedded/embedded-server.js';
import { cpuSeconds, mustSucceed, startTimed, timed } from './tools.js';

/** What the benchmarks use of a server: an embedded one, or one the lab started from a copy of its files. */
export type BenchServer = Pick<EmbeddedServer, 'host' | 'port' | 'user' | 'password' | 'connectionConfig'>;

/** The pgbench tables, compared by every state below. */
export const TABLES = ['pgbench_accounts', 'pgbench_branches', 'pgbench_history', 'pgbench_tellers'];

/** The environment of libpq tools (pgbench, pg_dump, psql) connecting to `server`. */
export function libpqEnv(server: BenchServer): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGSSLMODE: 'disable' };
}

/** A libpq URI of `database` on `server`, password included (benchmark servers only). */
export function uri(server: BenchServer, database: string): string {
  return `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}?sslmode=disable`;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An SQL string literal. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** Runs `work` on a new connection to `database`, closed afterwards. */
export async function withClient<T>(server: BenchServer, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(server.connectionConfig(database));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates `name` on `server` afresh (dropping an earlier one and its inactive slots). */
export async function createDatabase(server: BenchServer, name: string): Promise<void> {
  await withClient(server, 'postgres', async (client) => {
    // An earlier round's replication slot (godwit's) would keep the database from being dropped.
    await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [name]);
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  });
}

/** A checkpoint on each server and a sync, so that neither runs during a timed part. */
export async function checkpointAndSync(servers: BenchServer[]): Promise<void> {
  await Promise.all(servers.map((s) => withClient(s, 'postgres', (c) => c.query('CHECKPOINT'))));
  // The kernel's writeback of what the checkpoint wrote must not run during the timed part either.
  execFileSync('sync');
}

/** pgbench -i on a fresh source database, plus the primary key pgbench_history lacks (a key every tool needs). */
export async function prepareSource(pgbench: string, source: BenchServer, database: string, scale: number): Promise<void> {
  await createDatabase(source, database);
  process.stderr.write(`pgbench -i -s ${scale} ${database} on the source...\n`);
  mustSucceed('pgbench -i', await timed(pgbench, ['-i', '-s', String(scale), '-q', database], libpqEnv(source)));
  await withClient(source, database, (c) => c.query('ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY'));
}

/** The backlog: `pgbench -c 4 -j 2 -T seconds -n`; returns the number of transactions it committed. */
export async function backlog(pgbench: string, source: BenchServer, database: string, seconds: number): Promise<number> {
  process.stderr.write(`backlog: pgbench -c 4 -j 2 -T ${seconds} -n ${database}...\n`);
  const run = startTimed(pgbench, ['-c', '4', '-j', '2', '-T', String(seconds), '-n', database], libpqEnv(source), { captureStdout: true });
  mustSucceed('pgbench (backlog)', await run.done);
  const match = /number of transactions actually processed: (\d+)/.exec(run.stdout());
  if (match === null) throw new Error(`pgbench printed no transaction count:\n${run.stdout().slice(-2000)}`);
  return Number(match[1]);
}

/** Cheap, pgbench-specific: balances of the small tables and the history's size (one snapshot). */
export async function quickState(client: pg.Client): Promise<string> {
  const row = (
    await client.query<{ b: string; t: string; h: string; m: string }>(
      `SELECT (SELECT sum(bbalance)::text FROM pgbench_branches) AS b, (SELECT sum(tbalance)::text FROM pgbench_tellers) AS t,
              (SELECT count(*)::text FROM pgbench_history) AS h, (SELECT max(hid)::text FROM pgbench_history) AS m`,
    )
  ).rows[0];
  return JSON.stringify(row);
}

/** Every table's row count and sum of a 64-bit hash of each row's text (order-free, one snapshot). */
export async function hashState(client: pg.Client): Promise<string> {
  const parts = TABLES.map(
    (t) => `(SELECT count(*)::text || ' ' || coalesce(sum(hashtextextended(x::text, 0)::numeric), 0)::text FROM ${t} x) AS ${t}`,
  );
  return JSON.stringify((await client.query(`SELECT ${parts.join(', ')}`)).rows[0]);
}

/** Every table's row count and md5 of its rows in order: the final, untimed verification. */
export async function md5State(client: pg.Client): Promise<string> {
  const result: Record<string, string> = {};
  for (const t of TABLES) {
    const row = (await client.query<{ v: string }>(`SELECT count(*)::text || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS v FROM ${t} x`)).rows[0];
    result[t] = row?.v ?? '';
  }
  return JSON.stringify(result);
}

/** The two states compared when polling: a cheap one, then the hash of every row. */
export interface SourceState {
  quick: string;
  hash: string;
}

/** The source's states after the backlog: what the target must reach. */
export async function sourceState(source: BenchServer, database: string): Promise<SourceState> {
  return withClient(source, database, async (c) => ({ quick: await quickState(c), hash: await hashState(c) }));
}

/**
 * Polls the target until it holds the source's data; returns the moment (hrtime ns) the matching
 * check's query started (its snapshot), or throws after `timeoutMs` or when `failed()` says so.
 */
export async function waitForMatch(target: BenchServer, database: string, expected: SourceState, timeoutMs: number, failed: () => string | undefined): Promise<bigint> {
  return withClient(target, database, async (client) => {
    // Polled every 100 ms while the catch-up runs: no parallel workers taking the CPU the catch-up needs.
    await client.query('SET max_parallel_workers_per_gather = 0');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = process.hrtime.bigint();
      if ((await quickState(client)) === expected.quick) {
        if ((await hashState(client)) === expected.hash) return at;
        // A row-by-row hash of every table costs the catch-up CPU: say so when it ran before the end.
        process.stderr.write('  (the quick state matched before the whole target did: one more full hash)\n');
      }
      const failure = failed();
      if (failure !== undefined) throw new Error(failure);
      if (Date.now() > deadline) throw new Error(`the target did not match the source within ${timeoutMs / 1000} s`);
      await sleep(100);
    }
  });
}

/** Throws when the target's rows differ from the source's (md5 of the ordered rows). */
export async function verifyIdentical(source: BenchServer, sourceDb: string, target: BenchServer, targetDb: string): Promise<void> {
  const [expected, actual] = await Promise.all([withClient(source, sourceDb, md5State), withClient(target, targetDb, md5State)]);
  if (expected !== actual) throw new Error(`the target differs from the source (md5 of ordered rows): source ${expected}, target ${actual}`);
}

/** The queue's head and the importer's applied vsn, read from the export directory's store. */
export function queueProgress(storeFile: string): { head: number; applied: number } | undefined {
  try {
    const db = new Database(storeFile, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 1000');
      const head = db.prepare("SELECT last_vsn FROM queue_streams WHERE stream = 'source-to-target'").get() as { last_vsn: number } | undefined;
      const applied = db.prepare("SELECT max(applied_vsn) AS v FROM queue_importers WHERE stream = 'source-to-target'").get() as { v: number | null } | undefined;
      return { head: head?.last_vsn ?? 0, applied: applied?.v ?? 0 };
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/** Set when the bench drops NODE_EXTRA_CA_CERTS from godwit's environment (godwitEnvironment). */
export const DROPPED_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS !== undefined && process.env.BENCH_KEEP_NODE_EXTRA_CA_CERTS !== '1';

/**
 * The environment godwit's processes run in: this one without NODE_EXTRA_CA_CERTS, unless
 * BENCH_KEEP_NODE_EXTRA_CA_CERTS=1. The machines this project runs on set it for every process (the
 * system's CA bundle), and Node 20 reads and parses that file at each start, before any code of
 * ours: `node -e 0` takes 0.08 s of CPU with it and 0.03 s without. The exporter and the importer pay
 * it together when they restart for the catch-up (lab races: the stream started 50-75 ms later and
 * the catch-up ended 0.18-0.28 s later with it, three pairs of three). No connection here uses TLS,
 * and a database server seldom sets it. The result's note says when it was dropped.
 */
export function godwitEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (DROPPED_CA_CERTS) delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/**
 * CPU seconds of the catch-up's processes when the target matched: `processes` by name, the source's
 * walsenders (only the catch-up's stream runs then), and the target's client backends that `backends`
 * (an SQL condition on pg_stat_activity) selects. Every one of them started with the catch-up.
 */
export async function catchUpCpu(source: BenchServer, target: BenchServer, targetDb: string, processes: Record<string, number | undefined>, backends: string): Promise<Record<string, number>> {
  const senders = await withClient(source, 'postgres', async (c) => (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_replication')).rows.map((r) => r.pid));
  const clients = await withClient(target, targetDb, async (c) =>
    (await c.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND (${backends})`, [targetDb])).rows.map((r) => r.pid),
  );
  const cpu: Record<string, number> = {};
  for (const [name, pid] of Object.entries(processes)) cpu[name] = cpuSeconds(pid);
  cpu.walsender = senders.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  if (clients.length > 0) cpu['target backends'] = clients.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  return cpu;
}
