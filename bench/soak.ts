// `npm run soak` (issue 7): pgbench at full rate on the source for SOAK_SECONDS (default 600) while
// godwit streams it live to the target. Every SOAK_SAMPLE_SECONDS (default 30) it samples the lag
// (events in the queue not yet applied; the source's WAL not yet acknowledged by godwit's slot) and the
// resident memory of the exporter and the importer, and prints them as a table; at the end it stops
// pgbench, cuts over and checks that the target is identical. A bounded lag and flat memory are the goal.
// Needs Debian's postgresql-15 (pgbench). SOAK_SCALE (default 10) sets pgbench's size.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Table from 'cli-table3';
import pg from 'pg';
import { startEmbeddedServer, type EmbeddedServer } from '../src/embedded/embedded-server.js';
import { exportDirLayout } from '../src/state/export-dir.js';
import { findPgbench, mustSucceed, timed } from './tools.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 600);
const sampleSeconds = Number(process.env.SOAK_SAMPLE_SECONDS ?? 30);
const scale = Number(process.env.SOAK_SCALE ?? 10);
const GODWIT = new URL('../bin/godwit.js', import.meta.url).pathname;
const pgbench = findPgbench();
if (pgbench === undefined) throw new Error('pgbench not found: apt-get install postgresql-15');

function libpqEnv(server: EmbeddedServer): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGSSLMODE: 'disable' };
}

function connection(server: EmbeddedServer, role: 'source' | 'target'): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user, `--${role}-db-name`, 'bench', `--${role}-ssl-mode`, 'disable'];
}

async function one<T extends pg.QueryResultRow>(server: EmbeddedServer, sql: string): Promise<T | undefined> {
  const client = new pg.Client(server.connectionConfig('bench'));
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows[0];
  } finally {
    await client.end();
  }
}

function rssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return Number(line?.split(/\s+/)[1] ?? Number.NaN) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Events written to the queue and events every importer applied, from the store (read-only). */
function queueCounts(storeFile: string): { written: number; applied: number } {
  const db = new Database(storeFile, { readonly: true, fileMustExist: true });
  try {
    const written = (db.prepare("SELECT last_vsn AS v FROM queue_streams WHERE stream = 'source-to-target'").get() as { v: number } | undefined)?.v ?? 0;
    const applied = (db.prepare("SELECT min(applied_vsn) AS v FROM queue_importers WHERE stream = 'source-to-target'").get() as { v: number | null } | undefined)?.v ?? 0;
    return { written, applied };
  } finally {
    db.close();
  }
}

const base = mkdtempSync(join(tmpdir(), 'godwit-soak-'));
chmodSync(base, 0o755);
const settings = { max_wal_size: '4GB', checkpoint_timeout: '30min', shared_buffers: '512MB' };
const [source, target] = await Promise.all([
  startEmbeddedServer({ major: 15, baseDir: join(base, 'source'), settings }),
  startEmbeddedServer({ major: 17, baseDir: join(base, 'target'), settings }),
]);
const children: ReturnType<typeof spawn>[] = [];
try {
  for (const server of [source, target]) {
    const client = new pg.Client(server.connectionConfig());
    await client.connect();
    await client.query('CREATE DATABASE bench');
    await client.end();
  }
  mustSucceed('pgbench -i', await timed(pgbench, ['-i', '-s', String(scale), '-q', 'bench'], libpqEnv(source)));
  execFileSync('psql', ['-X', '-q', '-d', 'bench', '-c', 'ALTER TABLE pgbench_history ADD COLUMN id bigserial PRIMARY KEY'], { env: libpqEnv(source) });
  const exportDir = join(base, 'export');
  const env = { ...process.env, SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
  const dir = ['--export-dir', exportDir];
  mustSucceed('export schema', await timed(process.execPath, [GODWIT, 'export', 'schema', ...dir, ...connection(source, 'source')], env));
  mustSucceed('import schema', await timed(process.execPath, [GODWIT, 'import', 'schema', ...dir, ...connection(target, 'target')], env));
  const start = (args: string[]): ReturnType<typeof spawn> => {
    const child = spawn(process.execPath, [GODWIT, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    return child;
  };
  const exporter = start(['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source'), '--export-type', 'snapshot-and-changes']);
  const importer = start(['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target')]);
  const storeFile = exportDirLayout(exportDir).storeFile;
  // Streaming: the importer registered on the stream.
  for (let waited = 0; ; waited += 1) {
    try {
      if ((new Database(storeFile, { readonly: true }).prepare("SELECT count(*) AS n FROM queue_importers WHERE stream = 'source-to-target'").get() as { n: number }).n > 0) break;
    } catch {
      // not yet created
    }
    if (waited > 300) throw new Error('the live migration never started streaming');
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  process.stderr.write(`streaming; pgbench -c 4 -j 2 at full rate for ${seconds} s\n`);
  const load = spawn(pgbench, ['-c', '4', '-j', '2', '-T', String(seconds), '-n', '-P', String(sampleSeconds), 'bench'], { env: libpqEnv(source), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(load);
  let pgbenchOutput = '';
  load.stdout?.on('data', (d: Buffer) => (pgbenchOutput += d.toString()));
  load.stderr?.on('data', (d: Buffer) => (pgbenchOutput += d.toString()));
  const loadDone = new Promise<void>((resolve) => load.on('close', () => resolve()));
  const table = new Table({ head: ['t (s)', 'queue written', 'applied', 'lag (events)', 'slot lag (MB of WAL)', 'exporter RSS MB', 'importer RSS MB'], style: { head: [], border: [] } });
  const started = Date.now();
  let finished = false;
  void loadDone.then(() => (finished = true));
  const samples: { lag: number; exporter: number; importer: number }[] = [];
  while (!finished) {
    await Promise.race([new Promise((resolve) => setTimeout(resolve, sampleSeconds * 1000)), loadDone]);
    const counts = queueCounts(storeFile);
    const slot = await one<{ mb: string }>(source, "SELECT round(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) / 1048576.0, 1)::text AS mb FROM pg_replication_slots WHERE slot_name LIKE 'godwit%'");
    const sample = { lag: counts.written - counts.applied, exporter: rssMb(exporter.pid), importer: rssMb(importer.pid) };
    samples.push(sample);
    table.push([((Date.now() - started) / 1000).toFixed(0), counts.written, counts.applied, sample.lag, slot?.mb ?? '-', sample.exporter.toFixed(0), sample.importer.toFixed(0)]);
    process.stderr.write(`${table.toString().split('\n').slice(-2, -1)[0] ?? ''}\n`);
  }
  const tps = /tps = ([\d.]+)/.exec(pgbenchOutput)?.[1];
  mustSucceed('initiate cutover', await timed(process.execPath, [GODWIT, 'initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], env));
  await Promise.all([exporter, importer].map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('close', resolve)))));
  const checksum = "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) AS m FROM (SELECT aid, abalance FROM pgbench_accounts UNION ALL SELECT bid, bbalance FROM pgbench_branches UNION ALL SELECT tid, tbalance FROM pgbench_tellers UNION ALL SELECT id::int, delta FROM pgbench_history) t";
  const [a, b] = await Promise.all([one<{ m: string }>(source, checksum), one<{ m: string }>(target, checksum)]);
  const maxLag = Math.max(...samples.map((s) => s.lag));
  const rss = (pick: (s: (typeof samples)[number]) => number): string => `${Math.min(...samples.map(pick)).toFixed(0)}-${Math.max(...samples.map(pick)).toFixed(0)}`;
  process.stdout.write(
    `soak: pgbench scale ${scale}, -c 4 -j 2, ${seconds} s at full rate (${tps ?? '?'} tps)\n${table.toString()}\n` +
      `max lag ${maxLag} events; exporter RSS ${rss((s) => s.exporter)} MB, importer RSS ${rss((s) => s.importer)} MB; ` +
      `after cutover the target is ${a?.m === b?.m ? 'identical' : 'DIFFERENT'}\n`,
  );
  if (a?.m !== b?.m) process.exitCode = 1;
} finally {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all([source.stop(), target.stop()]);
  rmSync(base, { recursive: true, force: true });
}
