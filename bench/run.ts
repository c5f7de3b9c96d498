// `npm run bench`: starts an embedded PostgreSQL 15 source and 17 target and runs the benchmarks of
// DESIGN.md section 9 side by side with the established tools, printing times and ratios.
// Snapshot part: BENCH_SCALE (default 30), BENCH_JOBS (default 2) and BENCH_ROUNDS (default 3, medians
// are shown) change the size, the parallelism and the repetitions. Changes part: BENCH_CHANGES_SCALE
// (default 10) and BENCH_BACKLOG_SECONDS (default 20) change the pgbench size and the backlog's length,
// BENCH_CHANGES_ROUNDS (default 3) the catch-ups per side (the median is shown).
// BENCH_ONLY=snapshot or BENCH_ONLY=changes runs one part.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { startEmbeddedServer } from '../src/embedded/embedded-server.js';
import { catchUpRate, cpuPerTransaction, runChangesBenchmark, type ChangesResult } from './changes-bench.js';
import { runSnapshotBenchmark } from './snapshot-bench.js';

const scale = Number(process.env.BENCH_SCALE ?? 30);
const jobs = Number(process.env.BENCH_JOBS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const changesScale = Number(process.env.BENCH_CHANGES_SCALE ?? 10);
const backlogSeconds = Number(process.env.BENCH_BACKLOG_SECONDS ?? 20);
const changesRounds = Number(process.env.BENCH_CHANGES_ROUNDS ?? 3);
const only = process.env.BENCH_ONLY;
if (only !== undefined && only !== 'snapshot' && only !== 'changes') throw new Error(`BENCH_ONLY must be snapshot or changes, not ${only}`);
const base = mkdtempSync(join(tmpdir(), 'godwit-bench-servers-'));
chmodSync(base, 0o755);
const settings = { max_wal_size: '4GB', checkpoint_timeout: '30min', shared_buffers: '512MB', maintenance_work_mem: '256MB' };
const [source, target] = await Promise.all([
  startEmbeddedServer({ major: 15, baseDir: join(base, 'source'), settings }),
  startEmbeddedServer({ major: 17, baseDir: join(base, 'target'), settings }),
]);
try {
  if (only !== 'changes') {
    const results = await runSnapshotBenchmark(source, target, scale, jobs, rounds);
    const godwit = results.find((r) => r.tool === 'godwit')?.seconds;
    const table = new Table({ head: ['snapshot copy', 'seconds', 'peak RSS MB', 'godwit is faster by', 'note'] });
    for (const r of results) {
      const ratio = godwit !== undefined && r.seconds !== undefined && r.tool !== 'godwit' ? `${(r.seconds / godwit).toFixed(2)}x` : '';
      table.push([r.tool, r.seconds?.toFixed(1) ?? '-', r.peakRssMb?.toFixed(0) ?? '-', ratio, r.note]);
    }
    process.stdout.write(`pgbench scale ${scale}, PostgreSQL 15 -> 17, ${jobs} jobs, median of ${rounds} rounds\n${table.toString()}\n`);
  }
  if (only !== 'snapshot') {
    const results = await runChangesBenchmark(source, target, { scale: changesScale, backlogSeconds, jobs, rounds: changesRounds });
    const rate = catchUpRate;
    const table = new Table({ head: ['change catch-up', 'backlog transactions', 'catch-up seconds', 'transactions/s', 'peak RSS MB', 'note'] });
    for (const r of results) {
      const memory = r.peakRssMb === undefined ? '-' : `import ${r.peakRssMb.importer.toFixed(0)}, export ${r.peakRssMb.exporter.toFixed(0)}`;
      table.push([r.tool, r.backlogTransactions ?? '-', r.seconds?.toFixed(1) ?? '-', rate(r)?.toFixed(0) ?? '-', memory, r.note]);
    }
    const godwit = results.find((r) => r.tool === 'godwit');
    const native = results.find((r) => r.tool !== 'godwit');
    const godwitRate = godwit === undefined ? undefined : rate(godwit);
    const nativeRate = native === undefined ? undefined : rate(native);
    const ratio = godwitRate !== undefined && nativeRate !== undefined ? `${(godwitRate / nativeRate).toFixed(2)} (goal >= 1.0)` : 'n/a (a side failed)';
    process.stdout.write(
      `pgbench scale ${changesScale} (+ primary key on pgbench_history), backlog of pgbench -c 4 -j 2 -T ${backlogSeconds} -n, PostgreSQL 15 -> 17, median of ${changesRounds} rounds\n` +
        `${table.toString()}\ncatch-up transactions/s, godwit / native: ${ratio}\n` +
        (godwit?.pairedRatios !== undefined && godwit.pairedRatios.length > 1 ? `the same, round by round: ${godwit.pairedRatios.map((r) => r.toFixed(2)).join(', ')} (median ${median(godwit.pairedRatios).toFixed(2)})\n` : '') +
        cpuLines(godwit, native),
    );
  }
} finally {
  await Promise.allSettled([source.stop(), target.stop()]);
  rmSync(base, { recursive: true, force: true });
}

/**
 * The median rounds' CPU per backlog transaction, process by process, and what it means on this
 * machine: with every core busy, a catch-up cannot finish faster than its total CPU over the cores, so
 * godwit's database processes alone (walsender and target backends) are compared with native's whole
 * pipeline (walsender and apply worker).
 */
function cpuLines(godwit: ChangesResult | undefined, native: ChangesResult | undefined): string {
  const ours = godwit === undefined ? undefined : cpuPerTransaction(godwit);
  const theirs = native === undefined ? undefined : cpuPerTransaction(native);
  if (ours === undefined || theirs === undefined) return '';
  const describe = (cpu: { parts: Record<string, number>; total: number }): string =>
    `${Object.entries(cpu.parts).map(([name, us]) => `${name} ${us.toFixed(0)}`).join(', ')}; total ${cpu.total.toFixed(0)}`;
  const database = (ours.parts.walsender ?? 0) + (ours.parts['target backends'] ?? 0);
  const budget = theirs.total - database;
  return (
    `CPU µs per backlog transaction (median rounds): godwit ${describe(ours)}; native ${describe(theirs)}\n` +
    `with ${availableParallelism()} cores busy, wall time follows CPU: at native's ${theirs.total.toFixed(0)} µs per transaction, godwit's walsender and ` +
    `target backends (${database.toFixed(0)} µs) leave ${budget.toFixed(0)} µs for its exporter and importer, which used ${(ours.total - database).toFixed(0)}\n`
  );
}

/** The middle value (the lower middle of an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}
