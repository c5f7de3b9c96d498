// Snapshot benchmark (DESIGN.md section 9): copy `pgbench -i -s SCALE` from a PostgreSQL 15 source to
// fresh PostgreSQL 17 targets with godwit, with pg_dump | psql and with pgcopydb clone, in the same run
// (several rounds, medians), and print wall times, peak memory and ratios.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { EmbeddedServer } from '../src/embedded/embedded-server.js';
import { exportDirLayout, type ExportDir } from '../src/state/export-dir.js';
import { isLockHeld } from '../src/state/lock.js';
import { findPgbench, findTool, mustSucceed, timed, type Timed } from './tools.js';

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

async function godwitCopy(source: EmbeddedServer, target: EmbeddedServer, database: string, jobs: number): Promise<Timed> {
  const exportDir = join(mkdtempSync(join(tmpdir(), 'godwit-bench-')), 'export');
  const env = { ...process.env, SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
  const src = ['--source-db-host', source.host, '--source-db-port', String(source.port), '--source-db-user', source.user, '--source-db-name', 'bench', '--source-ssl-mode', 'disable'];
  const dst = ['--target-db-host', target.host, '--target-db-port', String(target.port), '--target-db-user', target.user, '--target-db-name', database, '--target-ssl-mode', 'disable'];
  const dirArgs = ['--export-dir', exportDir];
  const started = process.hrtime.bigint();
  const run = (args: string[]): Promise<Timed> => timed(process.execPath, [GODWIT, ...args], env);
  // The four commands run side by side, as a DBA runs them in four terminals: each one started after
  // the command it depends on has started (holds its lock), and each waits while that one runs (export
  // data and import schema for export schema, import data for import schema).
  const layout = exportDirLayout(exportDir);
  const exportSchema = run(['export', 'schema', ...dirArgs, ...src]);
  await lockTaken(layout, 'export-schema', exportSchema);
  const exportData = run(['export', 'data', 'from', 'source', ...dirArgs, ...src, '--parallel-jobs', String(jobs)]);
  const importSchema = run(['import', 'schema', ...dirArgs, ...dst]);
  await lockTaken(layout, 'import-schema', importSchema);
  const importData = run(['import', 'data', 'to', 'target', ...dirArgs, ...dst, '--parallel-jobs', String(jobs)]);
  const names = ['godwit export schema', 'godwit export data from source', 'godwit import schema', 'godwit import data to target'];
  const steps = (await Promise.all([exportSchema, exportData, importSchema, importData])).map((step, i) => mustSucceed(names[i] ?? '', step));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const [exportSchemaS, exportDataS, importSchemaS, importDataS] = steps.map((s) => s.seconds.toFixed(2));
  process.stderr.write(`  godwit steps, side by side: export schema ${exportSchemaS} s, export data ${exportDataS} s, import schema ${importSchemaS} s, import data ${importDataS} s\n`);
  return { seconds, peakRssMb: Math.max(...steps.map((s) => s.peakRssMb)), code: 0, stderr: '' };
}

/** Resolves once `command` holds its lock in `dir` (it has started), or once it has ended. */
async function lockTaken(dir: ExportDir, command: string, running: Promise<Timed>): Promise<void> {
  let ended = false;
  running.then(
    () => (ended = true),
    () => (ended = true),
  );
  while (!ended && !isLockHeld(dir, command)) await new Promise((resolve) => setTimeout(resolve, 20));
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

/** One tool's copy of `bench` into a fresh target database `database`; throws when it fails. */
interface CopyTool {
  tool: string;
  copy(database: string): Promise<{ seconds: number; peakRssMb: number | undefined; note: string }>;
}

async function checkpoint(server: EmbeddedServer): Promise<void> {
  const client = new pg.Client(server.connectionConfig('postgres'));
  await client.connect();
  await client.query('CHECKPOINT');
  await client.end();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * Runs the copies of pgbench scale `scale` `rounds` times, the tools in a rotating order, each into a
 * fresh target database after a CHECKPOINT on both servers and a sync (so no tool pays for the WAL
 * and dirty pages of the one before), and returns each tool's median time with every round's time in the note.
 */
export async function runSnapshotBenchmark(source: EmbeddedServer, target: EmbeddedServer, scale: number, jobs: number, rounds = 3): Promise<SnapshotResult[]> {
  const pgbench = findPgbench();
  if (pgbench === undefined) throw new Error('pgbench not found: apt-get install postgresql-15 (Debian ships pgbench with the server package)');
  await createDatabase(source, 'bench');
  process.stderr.write(`pgbench -i -s ${scale} on the source...\n`);
  mustSucceed('pgbench -i', await timed(pgbench, ['-i', '-s', String(scale), '-q', 'bench'], libpqEnv(source)));

  const tools: CopyTool[] = [
    {
      tool: 'pg_dump | psql',
      copy: async (database) => {
        const dump = await timed('bash', ['-o', 'pipefail', '-c', `pg_dump -d '${uri(source, 'bench')}' | psql -X -q -v ON_ERROR_STOP=1 -d '${uri(target, database)}'`], process.env);
        return { seconds: mustSucceed('pg_dump | psql', dump).seconds, peakRssMb: undefined, note: 'one stream' };
      },
    },
  ];
  const skipped: SnapshotResult[] = [];
  const pgcopydb = findTool(['/usr/bin/pgcopydb', '/usr/lib/postgresql/15/bin/pgcopydb']);
  if (pgcopydb === undefined) {
    skipped.push({ tool: 'pgcopydb clone', seconds: undefined, peakRssMb: undefined, note: 'not installed: apt-get install pgcopydb' });
  } else {
    tools.push({
      tool: 'pgcopydb clone',
      copy: async (database) => {
        const work = mkdtempSync(join(tmpdir(), 'pgcopydb-bench-'));
        const copy = await timed(pgcopydb, ['clone', '--source', uri(source, 'bench'), '--target', uri(target, database), '--table-jobs', String(jobs), '--index-jobs', String(jobs), '--dir', work, '--no-owner', '--no-acl'], process.env);
        mustSucceed('pgcopydb clone', copy);
        return { seconds: copy.seconds, peakRssMb: copy.peakRssMb, note: `${jobs} table jobs, ${jobs} index jobs` };
      },
    });
  }
  tools.push({
    tool: 'godwit',
    copy: async (database) => {
      const copy = await godwitCopy(source, target, database, jobs);
      return { seconds: copy.seconds, peakRssMb: copy.peakRssMb, note: `${jobs} jobs, the four commands side by side` };
    },
  });

  const times = new Map<string, number[]>(tools.map((t) => [t.tool, []]));
  const memory = new Map<string, number>();
  const notes = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < tools.length; i++) {
      const tool = tools[(i + round) % tools.length] as CopyTool;
      const database = 'bench_copy';
      await createDatabase(target, database);
      await Promise.all([checkpoint(source), checkpoint(target)]);
      // The kernel's writeback of what the checkpoint wrote must not run during the next copy either.
      execFileSync('sync');
      process.stderr.write(`round ${round + 1}/${rounds}: ${tool.tool}...\n`);
      try {
        const result = await tool.copy(database);
        const verified = await verifyCopy(target, database, scale);
        times.get(tool.tool)?.push(result.seconds);
        if (result.peakRssMb !== undefined) memory.set(tool.tool, Math.max(memory.get(tool.tool) ?? 0, result.peakRssMb));
        notes.set(tool.tool, `${result.note}; ${verified}`);
      } catch (error) {
        notes.set(tool.tool, `failed: ${(error as Error).message.split('\n').slice(0, 2).join(' ').slice(0, 120)}`);
      }
    }
  }
  const results = tools.map((t): SnapshotResult => {
    const all = times.get(t.tool) ?? [];
    const note = notes.get(t.tool) ?? '';
    return {
      tool: t.tool,
      seconds: all.length === 0 ? undefined : median(all),
      peakRssMb: memory.get(t.tool),
      note: all.length === 0 ? note : `${note}; rounds ${all.map((x) => x.toFixed(1)).join(', ')} s`,
    };
  });
  return [...results, ...skipped];
}
