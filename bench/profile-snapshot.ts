// Profiling aid (not part of npm run bench): times each godwit step of the snapshot copy of pgbench
// separately and leaves the export directory (logs at debug level) for a look. BENCH_SCALE sets the size.
import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedServer } from '../src/embedded/embedded-server.js';
import { timed, mustSucceed } from './tools.js';

const base = mkdtempSync(join(tmpdir(), 'godwit-prof-'));
chmodSync(base, 0o755);
const settings = { max_wal_size: '4GB', checkpoint_timeout: '30min', shared_buffers: '512MB', maintenance_work_mem: '256MB' };
const [source, target] = await Promise.all([
  startEmbeddedServer({ major: 15, baseDir: join(base, 'source'), settings }),
  startEmbeddedServer({ major: 17, baseDir: join(base, 'target'), settings }),
]);
const env = { ...process.env, PGHOST: source.host, PGPORT: String(source.port), PGUSER: source.user, PGPASSWORD: source.password, SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
for (const [server, db] of [[source, 'bench'], [target, 'dst']] as const) {
  const c = new pg.Client(server.connectionConfig('postgres')); await c.connect(); await c.query(`CREATE DATABASE ${db}`); await c.end();
}
mustSucceed('pgbench', await timed('/usr/lib/postgresql/15/bin/pgbench', ['-i', '-s', process.env.BENCH_SCALE ?? '30', '-q', 'bench'], env));
const G = new URL('../bin/godwit.js', import.meta.url).pathname;
const exportDir = join(base, 'export');
const src = ['--source-db-host', source.host, '--source-db-port', String(source.port), '--source-db-user', source.user, '--source-db-name', 'bench', '--source-ssl-mode', 'disable'];
const dst = ['--target-db-host', target.host, '--target-db-port', String(target.port), '--target-db-user', target.user, '--target-db-name', 'dst', '--target-ssl-mode', 'disable'];
const steps: [string, string[]][] = [
  ['export schema', ['export', 'schema', '--export-dir', exportDir, ...src]],
  ['import schema', ['import', 'schema', '--export-dir', exportDir, ...dst]],
  ['export data', ['export', 'data', 'from', 'source', '--export-dir', exportDir, ...src, '--parallel-jobs', process.env.BENCH_JOBS ?? '2', '--log-level', 'debug']],
  ['import data', ['import', 'data', 'to', 'target', '--export-dir', exportDir, ...dst, '--parallel-jobs', process.env.BENCH_JOBS ?? '2', '--log-level', 'debug']],
];
const sideBySide = process.env.SIDE_BY_SIDE === '1';
const onlyExport = process.env.ONLY_EXPORT === '1';
if (onlyExport) steps.splice(3, 1);
for (const [name, args] of sideBySide ? steps.slice(0, 2) : steps) {
  const profile = process.env.CPU_PROFILE_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.CPU_PROFILE_DIR}`, `--cpu-prof-name=${name.replace(/ /g, '-')}.cpuprofile`];
  const r = mustSucceed(name, await timed(process.execPath, [...profile, G, ...args], env));
  process.stdout.write(`${name}: ${r.seconds.toFixed(2)} s, peak ${r.peakRssMb.toFixed(0)} MB\n`);
}

if (sideBySide) {
  const t0 = Date.now();
  const [e, i] = await Promise.all(steps.slice(2).map(([, args]) => timed(process.execPath, [G, ...args], env)));
  process.stdout.write(`side by side: export ${mustSucceed('export', e!).seconds.toFixed(2)} s, import ${mustSucceed('import', i!).seconds.toFixed(2)} s, wall ${((Date.now() - t0) / 1000).toFixed(2)} s\n`);
}
process.stdout.write(`export dir: ${exportDir}\n`);
await Promise.allSettled([source.stop(), target.stop()]);
