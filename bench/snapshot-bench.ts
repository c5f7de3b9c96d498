// Snapshot benchmark (DESIGN.md section 9): copy `pgbench -i -s SCALE` from a PostgreSQL 15 source to
// fresh PostgreSQL 17 targets with godwit, with pg_dump | psql and with pgcopydb clone, in the same run,
// and print wall times, peak memory and ratios.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { EmbeddedServer } from '../src/embedded/embedded-server.js';
import { findTool, mustSucceed, timed, type Timed } from './tools.js';

const GODWIT = new URL('../bin/godwit.js', import.meta.url).pathname;

function libpqEnv(server: EmbeddedServer): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGSSLMODE: 'disable' };
}

function uri(server: EmbeddedServer, database: string): string {
  return `postgres://${encodeURIComponent(server.user)}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}?sslmode=disable`;
}

async function createDatabase(server: EmbeddedServer, name: string): Promise<void> {
  const client = new pg.Client(server.connectionConfig('postgres'));
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  await client.end();
}

async function godwitCopy(source: EmbeddedServer, target: EmbeddedServer, jobs: number): Promise<Timed> {
  const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-bench-')), 'export');
  const env = { ...process.env, SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
  const src = ['--source-db-host', source.host, '--source-db-port', String(source.port), '--source-db-user', source.user, '--source-db-name', 'bench', '--source-ssl-mode', 'disable'];
  const dst = ['--target-db-host', target.host, '--target-db-port', String(target.port), '--target-db-user', target.user, '--target-db-name', 'bench_godwit', '--target-ssl-mode', 'disable'];
  const dirArgs = ['--export-dir', exportDir];
  const started = process.hrtime.bigint();
  const steps: Timed[] = [];
  steps.push(mustSucceed('godwit export schema', await timed(process.execPath, [GODWIT, 'export', 'schema', ...dirArgs, ...src], env)));
  steps.push(mustSucceed('godwit import schema', await timed(process.execPath, [GODWIT, 'import', 'schema', ...dirArgs, ...dst], env)));
  // The exporter and the importer run side by side, as a user runs them.
  const [exported, imported] = await Promise.all([
    timed(process.execPath, [GODWIT, 'export', 'data', 'from', 'source', ...dirArgs, ...src, '--parallel-jobs', String(jobs)], env),
    timed(process.execPath, [GODWIT, 'import', 'data', 'to', 'target', ...dirArgs, ...dst, '--parallel-jobs', String(jobs)], env),
  ]);
  steps.push(mustSucceed('godwit export data from source', exported), mustSucceed('godwit import data to target', imported));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { seconds, peakRssMb: Math.max(...steps.map((s) => s.peakRssMb)), code: 0, stderr: '' };
}

/** Checks that a copy really holds the data (a benchmark of a broken copy would mean nothing). */
async function verifyCopy(target: EmbeddedServer, database: string, scale: number): Promise<string> {
  const client = new pg.Client(target.connectionConfig(database));
  await client.connect();
  try {
    const accounts = (await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pgbench_accounts')).rows[0]?.n;
    const indexes = (await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_indexes WHERE tablename LIKE 'pgbench_%'`)).rows[0]?.n;
    if (accounts !== String(scale * 100_000)) throw new Error(`${database}: pgbench_accounts has ${accounts} rows, expected ${scale * 100_000}`);
    return `${accounts} accounts, ${indexes} indexes`;
  } finally {
    await client.end();
  }
}

/** One snapshot benchmark row. */
export interface SnapshotResult {
  tool: string;
  seconds: number | undefined;
  peakRssMb: number | undefined;
  note: string;
}

/** Runs the three copies of pgbench scale `scale` and returns their times. */
export async function runSnapshotBenchmark(source: EmbeddedServer, target: EmbeddedServer, scale: number, jobs: number): Promise<SnapshotResult[]> {
  const pgbench = findTool(['/usr/lib/postgresql/17/bin/pgbench', '/usr/lib/postgresql/16/bin/pgbench', '/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench']);
  if (pgbench === undefined) throw new Error('pgbench not found: apt-get install postgresql-15 (Debian ships pgbench with the server package)');
  await createDatabase(source, 'bench');
  process.stderr.write(`pgbench -i -s ${scale} on the source...\n`);
  mustSucceed('pgbench -i', await timed(pgbench, ['-i', '-s', String(scale), '-q', 'bench'], libpqEnv(source)));

  const results: SnapshotResult[] = [];
  await createDatabase(target, 'bench_dump');
  process.stderr.write('pg_dump | psql...\n');
  const dump = await timed('bash', ['-o', 'pipefail', '-c', `pg_dump -d '${uri(source, 'bench')}' | psql -X -q -v ON_ERROR_STOP=1 -d '${uri(target, 'bench_dump')}'`], process.env);
  results.push({ tool: 'pg_dump | psql', seconds: mustSucceed('pg_dump | psql', dump).seconds, peakRssMb: undefined, note: `one stream; ${await verifyCopy(target, 'bench_dump', scale)}` });

  const pgcopydb = findTool(['/usr/bin/pgcopydb', '/usr/lib/postgresql/15/bin/pgcopydb']);
  if (pgcopydb === undefined) {
    results.push({ tool: 'pgcopydb clone', seconds: undefined, peakRssMb: undefined, note: 'not installed: apt-get install pgcopydb' });
  } else {
    await createDatabase(target, 'bench_pgcopydb');
    process.stderr.write(`pgcopydb clone --table-jobs ${jobs} --index-jobs ${jobs}...\n`);
    const work = mkdtempSync(join(tmpdir(), 'pgcopydb-bench-'));
    const copy = await timed(pgcopydb, ['clone', '--source', uri(source, 'bench'), '--target', uri(target, 'bench_pgcopydb'), '--table-jobs', String(jobs), '--index-jobs', String(jobs), '--dir', work, '--no-owner', '--no-acl'], process.env);
    mustSucceed('pgcopydb clone', copy);
    results.push({ tool: 'pgcopydb clone', seconds: copy.seconds, peakRssMb: copy.peakRssMb, note: `${jobs} table jobs, ${jobs} index jobs; ${await verifyCopy(target, 'bench_pgcopydb', scale)}` });
  }

  await createDatabase(target, 'bench_godwit');
  process.stderr.write(`godwit (${jobs} jobs)...\n`);
  try {
    const copy = await godwitCopy(source, target, jobs);
    results.push({ tool: 'godwit', seconds: copy.seconds, peakRssMb: copy.peakRssMb, note: `${jobs} jobs, export and import side by side; ${await verifyCopy(target, 'bench_godwit', scale)}` });
  } catch (error) {
    results.push({ tool: 'godwit', seconds: undefined, peakRssMb: undefined, note: `failed: ${(error as Error).message.split('\n').slice(0, 2).join(' ').slice(0, 120)}` });
  }
  return results;
}
