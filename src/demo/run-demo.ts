// `godwit demo`: the whole workflow of DESIGN.md section 2 on two embedded PostgreSQL servers (15 ->
// 17) with the sample shop application writing throughout to whichever side is primary: schema,
// snapshot and changes, cutover to target with fall-back prepared, the application on the target,
// cutover back to the source, end migration. Every godwit step is the real CLI in its own process.
// At each cutover both databases are compared table by table; any difference fails the demo.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { GodwitError } from '../core/errors.js';
import { startEmbeddedServer, type EmbeddedServer } from '../embedded/embedded-server.js';
import { compareDatabases, renderComparison } from './compare-databases.js';
import { queryGodwit, runGodwitStep, startGodwitCommand, type BackgroundCommand, type Print } from './demo-processes.js';
import { startWorkload, type Workload } from './demo-workload.js';
import { DEMO_SCHEMA, SAMPLE_DATA_SQL, SAMPLE_SCHEMA_SQL } from './sample-app.js';

export interface DemoOptions {
  print: Print;
  /** Whether a godwit command (by its words) is built in this version. */
  isBuilt(command: string): boolean;
  /** Seconds the application writes while changes stream, on each side. */
  streamSeconds: number;
  /** Keep the servers' and export directory's files (printed at the end). */
  keepFiles: boolean;
  signal: AbortSignal;
}

/** What the demo showed. */
export interface DemoSummary {
  seconds: number;
  comparisons: { moment: string; identical: boolean }[];
  downtimeSeconds: number[];
  notBuilt: string[];
}

const DATABASE = 'shop';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function scalar(config: pg.ClientConfig, sql: string): Promise<string | null> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const { rows } = await client.query<{ value: string | null }>(sql);
    return rows[0]?.value ?? null;
  } finally {
    await client.end();
  }
}

/** The demo's YAML config file: connections without passwords (those travel in the environment). */
function configFile(exportDir: string, source: EmbeddedServer, target: EmbeddedServer): string {
  const section = (server: EmbeddedServer): string =>
    [`  db-host: ${server.host}`, `  db-port: ${server.port}`, `  db-user: ${server.user}`, `  db-name: ${DATABASE}`, `  db-schema: ${DEMO_SCHEMA}`, '  ssl-mode: disable'].join('\n');
  return [`export-dir: ${exportDir}`, 'source:', section(source), 'target:', section(target), ''].join('\n');
}

/** Runs the demo; throws when a step fails or the databases differ at a cutover. */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const { print, signal } = options;
  const started = Date.now();
  const summary: DemoSummary = { seconds: 0, comparisons: [], downtimeSeconds: [], notBuilt: [] };
  const base = mkdtempSync(join(tmpdir(), 'godwit-demo-'));
  // As root the servers run as the postgres OS user, which must reach their directories.
  chmodSync(base, 0o755);
  const servers: EmbeddedServer[] = [];
  const background: BackgroundCommand[] = [];
  let workload: Workload | undefined;
  const step = (title: string): void => print(`\n==> ${title}  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  try {
    step('starting an embedded PostgreSQL 15 (source) and PostgreSQL 17 (target)');
    // pg_stat_statements on both sides: assess-migration captures the application's statements on the
    // source, compare-performance puts them beside the same statements on the target.
    const statements = { shared_preload_libraries: 'pg_stat_statements' };
    const [source, target] = await Promise.all([
      startEmbeddedServer({ major: 15, baseDir: join(base, 'source'), settings: statements }),
      startEmbeddedServer({ major: 17, baseDir: join(base, 'target'), settings: statements }),
    ]);
    servers.push(source, target);
    print(`    source: PostgreSQL 15 on ${source.host}:${source.port}; target: PostgreSQL 17 on ${target.host}:${target.port}; files in ${base}`);
    for (const server of servers) {
      const client = new pg.Client(server.connectionConfig());
      await client.connect();
      await client.query(`CREATE DATABASE ${DATABASE}`);
      await client.end();
      const inDatabase = new pg.Client(server.connectionConfig(DATABASE));
      await inDatabase.connect();
      await inDatabase.query('CREATE EXTENSION pg_stat_statements'); // in public: not part of the migrated schema
      await inDatabase.end();
    }
    const sourceDb = source.connectionConfig(DATABASE);
    const targetDb = target.connectionConfig(DATABASE);
    step('creating the sample shop application on the source');
    const app = new pg.Client(sourceDb);
    await app.connect();
    await app.query(SAMPLE_SCHEMA_SQL);
    await app.query(SAMPLE_DATA_SQL);
    await app.query('ANALYZE'); // what autovacuum does soon on a real server: the assessment's row estimates come from it
    await app.end();

    const exportDir = join(base, 'export');
    const config = join(base, 'godwit.yaml');
    writeFileSync(config, configFile(exportDir, source, target));
    const env = { ...process.env, SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password, GODWIT_EXPORT_METRICS_INTERVAL_MS: '5000' };
    const godwit = (...words: string[]): string[] => [...words, '--config-file', config];
    /** Runs one godwit command to its end (`words` are the command words, `flags` the rest); skipped when not built. */
    const run = async (title: string, words: string[], flags: string[] = []): Promise<void> => {
      const command = words.join(' ');
      if (!options.isBuilt(command)) {
        print(`    (skipped: \`godwit ${command}\` is not built in this version)`);
        summary.notBuilt.push(command);
        return;
      }
      step(title);
      await runGodwitStep(godwit(...words, ...flags), env, print);
    };

    step('the application starts writing to the source (2 sessions)');
    workload = startWorkload(sourceDb);
    // Ten seconds of the application's rates are enough to show the sampling (the default is two minutes).
    await run('assess migration', ['assess-migration'], ['--iops-capture-interval', '10']);
    await run('export schema', ['export', 'schema']);
    await run('analyze schema', ['analyze-schema'], ['--output-format', 'txt']);
    await run('import schema', ['import', 'schema']);

    step('export data from source (snapshot and changes) and import data to target, side by side');
    background.push(startGodwitCommand('export', godwit('export', 'data', 'from', 'source', '--export-type', 'snapshot-and-changes'), env, print));
    background.push(startGodwitCommand('import', godwit('import', 'data', 'to', 'target'), env, print));
    await waitCaughtUp(sourceDb, targetDb, background, signal);
    print(`    the target has caught up with the snapshot and the stream; the application keeps writing for ${options.streamSeconds} s`);
    await sleep(options.streamSeconds * 1000, signal);

    for (const [from, to, toDb] of [['source', 'target', targetDb], ['target', 'source', sourceDb]] as const) {
      const result = await (workload as Workload).stop();
      step(`the application stops writing to the ${from} after ${result.transactions} transactions: downtime starts`);
      if (result.error !== undefined) throw new GodwitError(`The application failed on the ${from}: ${result.error.message}`);
      const downtimeStart = Date.now();
      const direction = `cutover to ${to}`;
      if (!options.isBuilt(`initiate ${direction}`)) {
        print(`    (stopping here: \`godwit initiate ${direction}\` is not built in this version)`);
        summary.notBuilt.push(`initiate ${direction}`);
        break;
      }
      await run(`initiate ${direction}${to === 'target' ? ' --prepare-for-fall-back true' : ''}`, ['initiate', 'cutover', 'to', to], to === 'target' ? ['--prepare-for-fall-back', 'true'] : []);
      await waitCutover(direction, godwit('cutover', 'status'), env, background, signal, print);
      summary.downtimeSeconds.push((Date.now() - downtimeStart) / 1000);
      print(`    ${direction} COMPLETED ${((Date.now() - downtimeStart) / 1000).toFixed(1)} s after the application stopped writing`);
      step(`comparing both databases after the ${direction}`);
      const { tables, sequences } = await compareDatabases(sourceDb, targetDb, DEMO_SCHEMA);
      print(renderComparison(tables, sequences).replace(/^/gm, '    '));
      const identical = tables.every((t) => t.identical);
      summary.comparisons.push({ moment: `after the ${direction}`, identical });
      if (!identical) throw new GodwitError(`The databases differ after the ${direction}: ${tables.filter((t) => !t.identical).map((t) => t.table).join(', ')}.`);
      if (to === 'source') {
        await Promise.all(background.splice(0).map(async (b) => print(`    [${b.label}] exited with status ${await b.exited}`)));
        break;
      }
      await run('finalize the schema on the target (held-back constraints, materialized views)', ['finalize-schema-post-data-import'], ['--refresh-mviews', 'true']);

      const reverse = [['export', ['export', 'data', 'from', 'target']], ['import', ['import', 'data', 'to', 'source']]] as const;
      const missing = reverse.map(([, words]) => words.join(' ')).filter((command) => !options.isBuilt(command));
      if (missing.length > 0) {
        print(`    (stopping here: ${missing.map((c) => `\`godwit ${c}\``).join(' and ')} not built in this version)`);
        summary.notBuilt.push(...missing);
        break;
      }
      // The exporter's process continues as `import data to source`, the importer's as `export data from target`.
      step('fall-back: export data from target and import data to source keep the source in sync (the same processes, handed over)');
      step(`the application now writes to the ${to} for ${options.streamSeconds} s`);
      workload = startWorkload(toDb);
      await sleep(options.streamSeconds * 1000, signal);
      await run(`compare performance: the application's statements on the source (at assessment) and on the ${to} now`, ['compare-performance']);
    }
    await workload?.stop();
    workload = undefined;
    await run('end migration', ['end', 'migration'], ['--backup-schema-files', 'false', '--backup-data-files', 'false', '--save-migration-reports', 'false', '--backup-log-files', 'false', '--yes']);
    summary.seconds = (Date.now() - started) / 1000;
    return summary;
  } finally {
    await workload?.stop();
    for (const b of background) b.child.kill('SIGTERM');
    await Promise.all(background.map((b) => b.exited));
    await Promise.all(servers.map((s) => s.stop()));
    if (options.keepFiles) print(`\nfiles kept in ${base}`);
    else rmSync(base, { recursive: true, force: true });
  }
}

/** Waits until the target holds the source's latest audit row as of the start of each check (snapshot loaded, stream caught up). */
async function waitCaughtUp(source: pg.ClientConfig, target: pg.ClientConfig, background: readonly BackgroundCommand[], signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const latest = await scalar(source, 'SELECT max(id)::text AS value FROM shop.audit_log');
    const applied = await scalar(target, "SELECT (CASE WHEN to_regclass('shop.audit_log') IS NULL THEN NULL ELSE (SELECT max(id) FROM shop.audit_log) END)::text AS value").catch(() => null);
    if (latest !== null && applied !== null && BigInt(applied) >= BigInt(latest)) return;
    for (const b of background) {
      if (b.child.exitCode !== null) throw new GodwitError(`\`godwit\` ${b.label} stopped (exit code ${b.child.exitCode}) before the target caught up.`);
    }
    if (Date.now() > deadline) throw new GodwitError('The target did not catch up with the source within 5 minutes.');
    await sleep(1000, signal);
  }
}

/** Polls `cutover status` until the direction is COMPLETED; a background process failing meanwhile fails the demo. */
async function waitCutover(direction: string, statusArgs: string[], env: NodeJS.ProcessEnv, background: readonly BackgroundCommand[], signal: AbortSignal, print: Print): Promise<void> {
  const deadline = Date.now() + 300_000;
  let last = '';
  for (;;) {
    const status = await queryGodwit(statusArgs, env);
    const line = status.split('\n').find((l) => l.startsWith(`${direction} status:`)) ?? '';
    if (line !== last) print(`    ${line}`);
    last = line;
    if (line.endsWith('COMPLETED')) return;
    for (const b of background) {
      if (b.child.exitCode !== null && b.child.exitCode !== 0) throw new GodwitError(`\`godwit\` ${b.label} failed (exit code ${b.child.exitCode}) during the ${direction}.`);
    }
    if (Date.now() > deadline) throw new GodwitError(`The ${direction} did not complete within 5 minutes.`);
    await sleep(500, signal);
  }
}
