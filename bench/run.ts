// `npm run bench`: starts an embedded PostgreSQL 15 source and 17 target and runs the benchmarks of
// DESIGN.md section 9 side by side with the established tools, printing times and ratios.
// BENCH_SCALE (default 30), BENCH_JOBS (default 2) and BENCH_ROUNDS (default 3, medians are shown)
// change the size, the parallelism and the repetitions.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Table from 'cli-table3';
import { startEmbeddedServer } from '../src/embedded/embedded-server.js';
import { runSnapshotBenchmark } from './snapshot-bench.js';

const scale = Number(process.env.BENCH_SCALE ?? 30);
const jobs = Number(process.env.BENCH_JOBS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const base = mkdtempSync(join(tmpdir(), 'godwit-bench-servers-'));
chmodSync(base, 0o755);
const settings = { max_wal_size: '4GB', checkpoint_timeout: '30min', shared_buffers: '512MB', maintenance_work_mem: '256MB' };
const [source, target] = await Promise.all([
  startEmbeddedServer({ major: 15, baseDir: join(base, 'source'), settings }),
  startEmbeddedServer({ major: 17, baseDir: join(base, 'target'), settings }),
]);
try {
  const results = await runSnapshotBenchmark(source, target, scale, jobs, rounds);
  const godwit = results.find((r) => r.tool === 'godwit')?.seconds;
  const table = new Table({ head: ['snapshot copy', 'seconds', 'peak RSS MB', 'godwit is faster by', 'note'] });
  for (const r of results) {
    const ratio = godwit !== undefined && r.seconds !== undefined && r.tool !== 'godwit' ? `${(r.seconds / godwit).toFixed(2)}x` : '';
    table.push([r.tool, r.seconds?.toFixed(1) ?? '-', r.peakRssMb?.toFixed(0) ?? '-', ratio, r.note]);
  }
  process.stdout.write(`pgbench scale ${scale}, PostgreSQL 15 -> 17, ${jobs} jobs, median of ${rounds} rounds\n${table.toString()}\n`);
} finally {
  await Promise.allSettled([source.stop(), target.stop()]);
  rmSync(base, { recursive: true, force: true });
}
