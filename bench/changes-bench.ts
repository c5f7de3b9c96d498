// Changes benchmark (DESIGN.md section 9): how fast a backlog of pgbench changes is caught up, by
// godwit (exporter and importer stopped during the backlog, then started again) and by PostgreSQL's
// own logical replication (a subscription disabled during the backlog, then enabled), in the same run
// on the same servers. Both start from `pgbench -i -s SCALE` (plus a primary key on pgbench_history)
// already copied to the target; the backlog is `pgbench -c 4 -j 2 -T SECONDS -n` on the source; the
// time runs from the restart (ENABLE) until the target holds the same data as the source.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmbeddedServer } from '../src/embedded/embedded-server.js';
import { exportDirLayout } from '../src/state/export-dir.js';
import {
  TABLES,
  DROPPED_CA_CERTS,
  backlog,
  catchUpCpu,
  checkpointAndSync,
  createDatabase,
  godwitEnvironment,
  literal,
  prepareSource,
  queueProgress,
  sleep,
  sourceState,
  uri,
  verifyIdentical,
  waitForMatch,
  withClient,
} from './pgbench-state.js';
import { findPgbench, mustSucceed, startTimed, timed, type Started, type Timed } from './tools.js';

const GODWIT = new URL('../bin/godwit.js', import.meta.url).pathname;

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


// ---------------------------------------------------------------------------------------------- godwit


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

/** `exporter 1.02, importer 0.98, ...`: a catch-up's CPU seconds per process, and their sum. */
export function describeCpu(cpu: Record<string, number> | undefined): string {
  if (cpu === undefined) return '';
  const parts = Object.entries(cpu).map(([name, seconds]) => `${name} ${seconds.toFixed(2)}`);
  return `CPU s: ${parts.join(', ')}; total ${Object.values(cpu).reduce((a, b) => a + b, 0).toFixed(2)}`;
}

/**
 * `walsender 38, exporter 25, ...; total 113`: a catch-up's CPU per backlog transaction in µs, per
 * process. On a machine where the catch-up is CPU-bound (both cores busy), wall time follows the total,
 * so this is where a ratio below 1.0 comes from; undefined without CPU figures.
 */
export function cpuPerTransaction(result: ChangesResult): { parts: Record<string, number>; total: number } | undefined {
  if (result.cpu === undefined || result.backlogTransactions === undefined || result.backlogTransactions === 0) return undefined;
  const perTransaction = (seconds: number): number => (seconds * 1e6) / (result.backlogTransactions as number);
  const parts = Object.fromEntries(Object.entries(result.cpu).map(([name, seconds]) => [name, perTransaction(seconds)]));
  return { parts, total: Object.values(parts).reduce((a, b) => a + b, 0) };
}

/**
 * Runs both sides, each on its own source database copy, in the order godwit-native, native-godwit,
 * godwit-native... (a host whose speed drifts favours neither side); a side that fails is returned
 * with the failure in its note.
 */
export async function runChangesBenchmark(source: EmbeddedServer, target: EmbeddedServer, options: ChangesOptions): Promise<ChangesResult[]> {
  const pgbench = findPgbench();
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
