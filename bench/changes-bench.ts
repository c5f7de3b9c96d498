// Changes benchmark (DESIGN.md section 9): how fast a backlog of pgbench changes is caught up, by
// godwit (exporter and importer stopped during the backlog, then started again) and by PostgreSQL's
// own logical replication (a subscription disabled during the backlog, then enabled), in the same run
// on the same servers. Both start from `pgbench -i -s SCALE` (plus a primary key on pgbench_history)
// already copied to the target; the backlog is `pgbench -c 4 -j 2 -T SECONDS -n` on the source; the
// time runs from the restart (ENABLE) until the target holds the same data as the source.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { EmbeddedServer } from '../src/embedded/embedded-server.js';
import { exportDirLayout } from '../src/state/export-dir.js';
import { cpuSeconds, findTool, mustSucceed, startTimed, timed, type Started, type Timed } from './tools.js';

const GODWIT = new URL('../bin/godwit.js', import.meta.url).pathname;
const TABLES = ['pgbench_accounts', 'pgbench_branches', 'pgbench_history', 'pgbench_tellers'];

/** One row of the changes table. */
export interface ChangesResult {
  tool: string;
  backlogTransactions: number | undefined;
  seconds: number | undefined;
  /** godwit only: each round's rate over the native rate of the same round. */
  pairedRatios?: number[];
  /** CPU seconds of each process of the catch-up, read when the target matched (where the time went). */
  cpu?: Record<string, number>;
  /** godwit: the importer's and the exporter's peak RSS during the catch-up. */
  peakRssMb: { importer: number; exporter: number } | undefined;
  note: string;
}

export interface ChangesOptions {
  scale: number;
  backlogSeconds: number;
  jobs: number;
  /** Catch-ups per side; the median (by transactions per second) is reported. */
  rounds: number;
}

function libpqEnv(server: EmbeddedServer): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGSSLMODE: 'disable' };
}

function uri(server: EmbeddedServer, database: string): string {
  return `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}?sslmode=disable`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

async function withClient<T>(server: EmbeddedServer, database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(server.connectionConfig(database));
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function createDatabase(server: EmbeddedServer, name: string): Promise<void> {
  await withClient(server, 'postgres', async (client) => {
    // An earlier round's replication slot (godwit's) would keep the database from being dropped.
    await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [name]);
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  });
}

async function checkpointAndSync(servers: EmbeddedServer[]): Promise<void> {
  await Promise.all(servers.map((s) => withClient(s, 'postgres', (c) => c.query('CHECKPOINT'))));
  // The kernel's writeback of what the checkpoint wrote must not run during the timed part either.
  execFileSync('sync');
}

/** pgbench -i on a fresh source database, plus the primary key pgbench_history lacks (a key every tool needs). */
async function prepareSource(pgbench: string, source: EmbeddedServer, database: string, scale: number): Promise<void> {
  await createDatabase(source, database);
  process.stderr.write(`pgbench -i -s ${scale} ${database} on the source...\n`);
  mustSucceed('pgbench -i', await timed(pgbench, ['-i', '-s', String(scale), '-q', database], libpqEnv(source)));
  await withClient(source, database, (c) => c.query('ALTER TABLE pgbench_history ADD COLUMN hid bigserial PRIMARY KEY'));
}

/** The backlog: `pgbench -c 4 -j 2 -T seconds -n`; returns the number of transactions it committed. */
async function backlog(pgbench: string, source: EmbeddedServer, database: string, seconds: number): Promise<number> {
  process.stderr.write(`backlog: pgbench -c 4 -j 2 -T ${seconds} -n ${database}...\n`);
  const run = startTimed(pgbench, ['-c', '4', '-j', '2', '-T', String(seconds), '-n', database], libpqEnv(source), { captureStdout: true });
  mustSucceed('pgbench (backlog)', await run.done);
  const match = /number of transactions actually processed: (\d+)/.exec(run.stdout());
  if (match === null) throw new Error(`pgbench printed no transaction count:\n${run.stdout().slice(-2000)}`);
  return Number(match[1]);
}

/** Cheap, pgbench-specific: balances of the small tables and the history's size (one snapshot). */
async function quickState(client: pg.Client): Promise<string> {
  const row = (
    await client.query<{ b: string; t: string; h: string; m: string }>(
      `SELECT (SELECT sum(bbalance)::text FROM pgbench_branches) AS b, (SELECT sum(tbalance)::text FROM pgbench_tellers) AS t,
              (SELECT count(*)::text FROM pgbench_history) AS h, (SELECT max(hid)::text FROM pgbench_history) AS m`,
    )
  ).rows[0];
  return JSON.stringify(row);
}

/** Every table's row count and sum of a 64-bit hash of each row's text (order-free, one snapshot). */
async function hashState(client: pg.Client): Promise<string> {
  const parts = TABLES.map(
    (t) => `(SELECT count(*)::text || ' ' || coalesce(sum(hashtextextended(x::text, 0)::numeric), 0)::text FROM ${t} x) AS ${t}`,
  );
  return JSON.stringify((await client.query(`SELECT ${parts.join(', ')}`)).rows[0]);
}

/** Every table's row count and md5 of its rows in order: the final, untimed verification. */
async function md5State(client: pg.Client): Promise<string> {
  const result: Record<string, string> = {};
  for (const t of TABLES) {
    const row = (await client.query<{ v: string }>(`SELECT count(*)::text || ' ' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') AS v FROM ${t} x`)).rows[0];
    result[t] = row?.v ?? '';
  }
  return JSON.stringify(result);
}

interface SourceState {
  quick: string;
  hash: string;
}

async function sourceState(source: EmbeddedServer, database: string): Promise<SourceState> {
  return withClient(source, database, async (c) => ({ quick: await quickState(c), hash: await hashState(c) }));
}

/**
 * Polls the target until it holds the source's data; returns the moment (hrtime ns) the matching
 * check's query started (its snapshot), or throws after `timeoutMs` or when `failed()` says so.
 */
async function waitForMatch(target: EmbeddedServer, database: string, expected: SourceState, timeoutMs: number, failed: () => string | undefined): Promise<bigint> {
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

async function verifyIdentical(source: EmbeddedServer, sourceDb: string, target: EmbeddedServer, targetDb: string): Promise<void> {
  const [expected, actual] = await Promise.all([withClient(source, sourceDb, md5State), withClient(target, targetDb, md5State)]);
  if (expected !== actual) throw new Error(`the target differs from the source (md5 of ordered rows): source ${expected}, target ${actual}`);
}

// ---------------------------------------------------------------------------------------------- godwit

/** The queue's head and the importer's applied vsn, read from the export directory's store. */
function queueProgress(storeFile: string): { head: number; applied: number } | undefined {
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

function lastMetricsTable(stdout: string): string {
  const at = stdout.lastIndexOf('TOTAL IMPORTED EVENTS');
  if (at < 0) return '(no metrics table)';
  const start = stdout.lastIndexOf('\n', stdout.lastIndexOf('\n', at) - 1) + 1;
  return stdout.slice(start).split('\n').slice(0, 5).join('\n');
}

async function stopBoth(what: string, running: Started[]): Promise<Timed[]> {
  for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGTERM');
  const results = await Promise.all(running.map((r) => r.done));
  for (const [i, r] of results.entries()) mustSucceed(`${what} (${i === 0 ? 'exporter' : 'importer'}, SIGTERM)`, r);
  return results;
}

/** Set when the bench drops NODE_EXTRA_CA_CERTS from godwit's environment (godwitEnvironment). */
const DROPPED_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS !== undefined && process.env.BENCH_KEEP_NODE_EXTRA_CA_CERTS !== '1';

/**
 * The environment godwit's processes run in: this one without NODE_EXTRA_CA_CERTS, unless
 * BENCH_KEEP_NODE_EXTRA_CA_CERTS=1. The machines this project runs on set it for every process (the
 * system's CA bundle), and Node 20 reads and parses that file at each start, before any code of
 * ours: `node -e 0` takes 0.08 s of CPU with it and 0.03 s without. The exporter and the importer pay
 * it together when they restart for the catch-up (lab races: the stream started 50-75 ms later and
 * the catch-up ended 0.18-0.28 s later with it, three pairs of three). No connection here uses TLS,
 * and a database server seldom sets it. The result's note says when it was dropped.
 */
function godwitEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (DROPPED_CA_CERTS) delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

async function godwitChanges(pgbench: string, source: EmbeddedServer, target: EmbeddedServer, options: ChangesOptions): Promise<ChangesResult> {
  const sourceDb = 'bench_changes';
  const targetDb = 'bench_changes_godwit';
  await prepareSource(pgbench, source, sourceDb, options.scale);
  await createDatabase(target, targetDb);
  const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-changes-bench-')), 'export');
  const env = { ...godwitEnvironment(), SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
  const src = ['--source-db-host', source.host, '--source-db-port', String(source.port), '--source-db-user', source.user, '--source-db-name', sourceDb, '--source-ssl-mode', 'disable'];
  const dst = ['--target-db-host', target.host, '--target-db-port', String(target.port), '--target-db-user', target.user, '--target-db-name', targetDb, '--target-ssl-mode', 'disable'];
  const dirArgs = ['--export-dir', exportDir];
  const jobs = ['--parallel-jobs', String(options.jobs)];
  mustSucceed('godwit export schema', await timed(process.execPath, [GODWIT, 'export', 'schema', ...dirArgs, ...src], env));
  mustSucceed('godwit import schema', await timed(process.execPath, [GODWIT, 'import', 'schema', ...dirArgs, ...dst], env));
  const exportArgs = [GODWIT, 'export', 'data', 'from', 'source', ...dirArgs, ...src, '--export-type', 'snapshot-and-changes', ...jobs];
  const importArgs = [GODWIT, 'import', 'data', 'to', 'target', ...dirArgs, ...dst, ...jobs];
  // BENCH_CPU_PROFILE_DIR: CPU profiles of the exporter and the importer during the catch-up (profiling aid).
  const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
  const profile = (name: string, on: boolean): string[] => (on && profileDir !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []);
  const start = (catchUp = false): Started[] => [
    startTimed(process.execPath, [...profile('export-catch-up', catchUp), ...exportArgs], env, { captureStdout: true }),
    startTimed(process.execPath, [...profile('import-catch-up', catchUp), ...importArgs], env, { captureStdout: true }),
  ];
  const exited = (running: Started[]) => (): string | undefined => {
    const gone = running.findIndex((r) => r.child.exitCode !== null || r.child.signalCode !== null);
    return gone < 0 ? undefined : `godwit ${gone === 0 ? 'export' : 'import'} data exited early (${running[gone]?.child.exitCode ?? running[gone]?.child.signalCode})`;
  };
  const withStderr = async (running: Started[], error: unknown): Promise<never> => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGTERM');
    const results = await Promise.all(running.map((r) => r.done));
    throw new Error(`${(error as Error).message}\n${results.map((r) => r.stderr.slice(-1500)).join('\n')}`);
  };

  // The snapshot, then the importer following the (empty) stream.
  process.stderr.write('godwit: snapshot-and-changes export and import side by side...\n');
  const snapshotStarted = Date.now();
  let running = start();
  try {
    const initial = await sourceState(source, sourceDb);
    for (;;) {
      const failure = exited(running)();
      if (failure !== undefined) throw new Error(failure);
      if (running[0]?.stdout().includes('changes from replication slot') === true && running[1]?.stdout().includes('applying the change stream') === true) break;
      await sleep(250);
    }
    await waitForMatch(target, targetDb, initial, 10 * 60_000, exited(running));
  } catch (error) {
    return withStderr(running, error);
  }
  const snapshotPeaks = await stopBoth('godwit (after the snapshot)', running);
  process.stderr.write(`godwit: snapshot loaded and followed in ${((Date.now() - snapshotStarted) / 1000).toFixed(1)} s (peak RSS export ${snapshotPeaks[0]?.peakRssMb.toFixed(0)} MB, import ${snapshotPeaks[1]?.peakRssMb.toFixed(0)} MB); both stopped\n`);

  // The backlog waits in the slot while both are stopped.
  const transactions = await backlog(pgbench, source, sourceDb, options.backlogSeconds);
  const expected = await sourceState(source, sourceDb);
  await checkpointAndSync([source, target]);
  process.stderr.write(`godwit: catching up ${transactions} transactions...\n`);
  const storeFile = exportDirLayout(exportDir).storeFile;
  const started = process.hrtime.bigint();
  running = start(true);
  const timeline: { at: number; head: number; applied: number }[] = [];
  const sampler = setInterval(() => {
    const progress = queueProgress(storeFile);
    if (progress !== undefined) timeline.push({ at: Number(process.hrtime.bigint() - started) / 1e9, ...progress });
  }, 250);
  let matchedAt: bigint;
  try {
    matchedAt = await waitForMatch(target, targetDb, expected, 20 * 60_000, exited(running));
  } catch (error) {
    clearInterval(sampler);
    return withStderr(running, error);
  } finally {
    clearInterval(sampler);
  }
  const seconds = Number(matchedAt - started) / 1e9;
  const cpu = await catchUpCpu(source, target, targetDb, { exporter: running[0]?.child.pid, importer: running[1]?.child.pid }, "application_name LIKE 'godwit%'");
  const [exporter, importer] = await stopBoth('godwit (after the catch-up)', running);
  await verifyIdentical(source, sourceDb, target, targetDb);

  // Where the time went: when the exporter had the whole backlog in the queue, and the apply's pace.
  const finalHead = timeline.at(-1)?.head ?? 0;
  const firstHead = timeline[0]?.head ?? 0;
  const captured = timeline.find((s) => s.head >= finalHead);
  const firstApply = timeline.find((s) => s.applied > (timeline[0]?.applied ?? 0));
  const events = finalHead - firstHead;
  process.stderr.write(
    `godwit catch-up: ${events} events (${(events / transactions).toFixed(1)} per transaction); whole backlog in the queue after ` +
      `${captured?.at.toFixed(1) ?? '?'} s (capture ${captured === undefined ? '?' : (events / Math.max(captured.at, 0.001)).toFixed(0)} events/s); ` +
      `first apply progress recorded at ${firstApply?.at.toFixed(1) ?? '?'} s; target matched at ${seconds.toFixed(1)} s\n`,
  );
  const step = Math.max(1, Math.floor(timeline.length / 20));
  process.stderr.write(`  timeline (s: queue head / applied): ${timeline.filter((_, i) => i % step === 0).map((s) => `${s.at.toFixed(1)}: ${s.head - firstHead}/${Math.max(0, s.applied - firstHead)}`).join(', ')}\n`);
  process.stderr.write(`  importer's last metrics table:\n${lastMetricsTable(running[1]?.stdout() ?? '')}\n`);
  return {
    tool: 'godwit',
    backlogTransactions: transactions,
    seconds,
    cpu,
    peakRssMb: { importer: importer?.peakRssMb ?? 0, exporter: exporter?.peakRssMb ?? 0 },
    note:
      `${options.jobs} channels; capture and apply restarted together; backlog in the queue after ${captured?.at.toFixed(1) ?? '?'} s; md5 verified` +
      (DROPPED_CA_CERTS ? '; run without NODE_EXTRA_CA_CERTS (BENCH_KEEP_NODE_EXTRA_CA_CERTS=1 keeps it)' : ''),
  };
}

// ---------------------------------------------------------------------------------------------- native

async function nativeChanges(pgbench: string, source: EmbeddedServer, target: EmbeddedServer, options: ChangesOptions): Promise<ChangesResult> {
  const sourceDb = 'bench_native';
  const targetDb = 'bench_native_dst';
  const subscription = 'godwit_bench_sub';
  await prepareSource(pgbench, source, sourceDb, options.scale);
  await createDatabase(target, targetDb);
  mustSucceed(
    'pg_dump -s | psql',
    await timed('bash', ['-o', 'pipefail', '-c', `pg_dump -s -d '${uri(source, sourceDb)}' | psql -X -q -v ON_ERROR_STOP=1 -d '${uri(target, targetDb)}'`], process.env),
  );
  await withClient(source, sourceDb, (c) => c.query('CREATE PUBLICATION godwit_bench_pub FOR ALL TABLES'));
  const conninfo = `host=${source.host} port=${source.port} dbname=${sourceDb} user=${source.user} password=${source.password} sslmode=disable`;
  process.stderr.write('native: subscription with copy_data = true...\n');
  try {
    await withClient(target, targetDb, (c) =>
      c.query(`CREATE SUBSCRIPTION ${subscription} CONNECTION ${literal(conninfo)} PUBLICATION godwit_bench_pub WITH (copy_data = true)`),
    );
    const initial = await sourceState(source, sourceDb);
    await withClient(target, targetDb, async (c) => {
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const row = (
          await c.query<{ n: string; pending: string }>(
            `SELECT count(*)::text AS n, count(*) FILTER (WHERE srsubstate <> 'r')::text AS pending
               FROM pg_subscription_rel WHERE srsubid = (SELECT oid FROM pg_subscription WHERE subname = $1)`,
            [subscription],
          )
        ).rows[0];
        if (row?.n === String(TABLES.length) && row.pending === '0') break;
        if (Date.now() > deadline) throw new Error('the initial sync did not finish within 10 minutes');
        await sleep(250);
      }
    });
    await waitForMatch(target, targetDb, initial, 10 * 60_000, () => undefined);
    await withClient(target, targetDb, async (c) => {
      await c.query(`ALTER SUBSCRIPTION ${subscription} DISABLE`);
      for (;;) {
        const workers = (await c.query('SELECT 1 FROM pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL', [subscription])).rowCount;
        if (workers === 0) break;
        await sleep(100);
      }
    });
    process.stderr.write('native: initial sync done, subscription disabled\n');

    const transactions = await backlog(pgbench, source, sourceDb, options.backlogSeconds);
    const expected = await sourceState(source, sourceDb);
    await checkpointAndSync([source, target]);
    process.stderr.write(`native: catching up ${transactions} transactions...\n`);
    const started = process.hrtime.bigint();
    await withClient(target, targetDb, (c) => c.query(`ALTER SUBSCRIPTION ${subscription} ENABLE`));
    const matchedAt = await waitForMatch(target, targetDb, expected, 20 * 60_000, () => undefined);
    const seconds = Number(matchedAt - started) / 1e9;
    const worker = await withClient(target, targetDb, async (c) => (await c.query<{ pid: number }>('SELECT pid FROM pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL', [subscription])).rows[0]?.pid);
    const cpu = await catchUpCpu(source, target, targetDb, { 'apply worker': worker }, 'false');
    await verifyIdentical(source, sourceDb, target, targetDb);
    return { tool: 'native logical replication', backlogTransactions: transactions, seconds, cpu, peakRssMb: undefined, note: 'one apply worker (PostgreSQL 17 defaults); md5 verified' };
  } finally {
    await withClient(target, targetDb, (c) => c.query(`DROP SUBSCRIPTION IF EXISTS ${subscription}`)).catch(() => undefined);
  }
}

/**
 * CPU seconds of the catch-up's processes when the target matched: `processes` by name, the source's
 * walsenders (only the catch-up's stream runs then), and the target's client backends that `backends`
 * (an SQL condition on pg_stat_activity) selects. Every one of them started with the catch-up.
 */
async function catchUpCpu(source: EmbeddedServer, target: EmbeddedServer, targetDb: string, processes: Record<string, number | undefined>, backends: string): Promise<Record<string, number>> {
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

/** `exporter 1.02, importer 0.98, ...`: a catch-up's CPU seconds per process, and their sum. */
export function describeCpu(cpu: Record<string, number> | undefined): string {
  if (cpu === undefined) return '';
  const parts = Object.entries(cpu).map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`);
  return `CPU s: ${parts.join(', ')}; total ${Object.values(cpu).reduce((a, b) => a + b, 0).toFixed(2)}`;
}

/**
 * Runs both sides, each on its own source database copy, in the order godwit-native, native-godwit,
 * godwit-native... (a host whose speed drifts favours neither side); a side that fails is returned
 * with the failure in its note.
 */
export async function runChangesBenchmark(source: EmbeddedServer, target: EmbeddedServer, options: ChangesOptions): Promise<ChangesResult[]> {
  const pgbench = findTool(['/usr/lib/postgresql/17/bin/pgbench', '/usr/lib/postgresql/16/bin/pgbench', '/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench']);
  if (pgbench === undefined) throw new Error('pgbench not found: apt-get install postgresql-15 (Debian ships pgbench with the server package)');
  const sides: [string, typeof godwitChanges][] = [
    ['godwit', godwitChanges],
    ['native logical replication', nativeChanges],
  ];
  const rounds = new Map<string, ChangesResult[]>(sides.map(([tool]) => [tool, []]));
  for (let round = 1; round <= options.rounds; round++) {
    for (const [tool, run] of round % 2 === 1 ? sides : [...sides].reverse()) {
      process.stderr.write(`changes round ${round}/${options.rounds}: ${tool}\n`);
      let result: ChangesResult;
      try {
        result = await run(pgbench, source, target, options);
        if (result.cpu !== undefined) process.stderr.write(`${tool} catch-up ${describeCpu(result.cpu)}\n`);
      } catch (error) {
        const message = (error as Error).message;
        process.stderr.write(`${tool} failed: ${message}\n`);
        result = { tool, backlogTransactions: undefined, seconds: undefined, peakRssMb: undefined, note: `failed: ${message.split('\n').slice(0, 2).join(' ').slice(0, 160)}` };
      }
      rounds.get(tool)?.push(result);
    }
  }
  const results = sides.map(([tool]) => medianRound(rounds.get(tool) ?? []));
  // Each round's godwit rate over the native rate of the same round: on a host whose speed drifts, a
  // round's two sides share the conditions better than the medians of all rounds do.
  const godwitRounds = rounds.get('godwit') ?? [];
  const nativeRounds = rounds.get('native logical replication') ?? [];
  const paired = godwitRounds.flatMap((g, i) => {
    const [ours, theirs] = [catchUpRate(g), catchUpRate(nativeRounds[i] as ChangesResult)];
    return ours !== undefined && theirs !== undefined ? [ours / theirs] : [];
  });
  const godwit = results[0];
  if (godwit !== undefined && godwit.tool === 'godwit') godwit.pairedRatios = paired;
  return results;
}

/** Transactions per second of one catch-up, undefined for a failed one. */
export function catchUpRate(result: ChangesResult): number | undefined {
  return result.backlogTransactions !== undefined && result.seconds !== undefined && result.seconds > 0 ? result.backlogTransactions / result.seconds : undefined;
}

/** The round with the median rate (the first failure when every round failed), its note listing every round's rate. */
function medianRound(results: ChangesResult[]): ChangesResult {
  const measured = results.filter((r) => catchUpRate(r) !== undefined).sort((a, b) => (catchUpRate(a) ?? 0) - (catchUpRate(b) ?? 0));
  const median = measured[Math.floor((measured.length - 1) / 2)];
  if (median === undefined) return results[0] as ChangesResult;
  if (results.length === 1) return median;
  const rates = results.map((r) => catchUpRate(r)?.toFixed(0) ?? 'failed').join(', ');
  const cpu = median.cpu === undefined ? '' : `; median round's ${describeCpu(median.cpu)}`;
  return { ...median, note: `${median.note}; median of ${results.length} rounds (transactions/s: ${rates})${cpu}` };
}
