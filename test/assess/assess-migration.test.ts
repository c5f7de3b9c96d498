// `godwit assess-migration` through the built CLI against a PostgreSQL 15 of this file's own (it
// needs pg_stat_statements preloaded and wal_level = logical, which the shared servers do not have):
// the inventory and sizes match the catalog's, the rates count exactly the writes made during the
// sampling, the schema issues, readiness findings and query statistics are those of the source,
// and the reports are whole. Then the refusals: a missing schema, a bad interval.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assessMigration } from '../../src/assess/assess-migration.js';
import type { AssessmentReport } from '../../src/assess/assessment-types.js';
import { readActivityCounters, readSourceInventory } from '../../src/engines/postgres/assess/read-inventory.js';
import { openExportDir } from '../../src/state/export-dir.js';
import type { QueryStatisticsCapture } from '../../src/assess/query-statistics-types.js';
import type { EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { sqlOn, startPrivateServer, type PrivateServer } from '../harness/private-server.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { newExportDir, waitFor } from '../snapshot-export/helpers.js';

let own: PrivateServer | undefined;
let server: EmbeddedServer | undefined;
const DB = 'shop';
const PLAIN_DB = 'plain';
const SAMPLED_INSERTS = 300;

function sql<R extends pg.QueryResultRow = Record<string, unknown>>(database: string, text: string, values: unknown[] = []): Promise<R[]> {
  return sqlOn<R>(server as EmbeddedServer, database, text, values);
}

beforeAll(async () => {
  own = await startPrivateServer('assess', { wal_level: 'logical', shared_preload_libraries: 'pg_stat_statements', max_wal_senders: 4, max_replication_slots: 4 });
  server = own.server;
  await sql('postgres', `CREATE DATABASE ${DB}`);
  await sql('postgres', `CREATE DATABASE ${PLAIN_DB}`);
  await sql(DB, `
    CREATE EXTENSION pg_stat_statements;
    CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, total numeric(10,2));
    CREATE INDEX orders_customer ON orders (customer);
    INSERT INTO orders SELECT g, 'customer ' || (g % 50), g * 1.5 FROM generate_series(1, 5000) g;
    CREATE TABLE audit_log (at timestamptz NOT NULL DEFAULT now(), note text);
    INSERT INTO audit_log (note) SELECT 'note ' || g FROM generate_series(1, 200) g;
    CREATE TABLE places (id int PRIMARY KEY, loc point);
    CREATE INDEX places_loc ON places USING gist (loc);
    CREATE TABLE events (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    INSERT INTO events SELECT g, date '2025-01-01' + (g % 700) FROM generate_series(1, 3000) g;
    ANALYZE;`);
  await sql(PLAIN_DB, 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);');
  // A workload the statistics will show.
  for (let i = 0; i < 20; i++) await sql(DB, 'SELECT count(*) FROM orders WHERE customer = $1', [`customer ${i}`]);
  // Two the target lacks: an advisory lock and a system column.
  await sql(DB, 'BEGIN; SELECT pg_advisory_xact_lock(42); COMMIT;');
  await sql(DB, 'SELECT ctid, id FROM orders WHERE id = 7');
}, 120_000);

afterAll(async () => {
  await own?.remove();
});

function sourceArgs(database: string): string[] {
  const s = server as EmbeddedServer;
  return ['--source-db-host', s.host, '--source-db-port', String(s.port), '--source-db-user', s.user, '--source-db-name', database, '--source-ssl-mode', 'disable'];
}

const env = (): Record<string, string> => ({ SOURCE_DB_PASSWORD: (server as EmbeddedServer).password });

describe('assess-migration', () => {
  it('reports sizes, rates, schema issues, readiness and query statistics of the source', async () => {
    const exportDir = newExportDir('assess');
    const running = startGodwit(['assess-migration', '--export-dir', exportDir, ...sourceArgs(DB), '--iops-capture-interval', '5'], { env: env() });
    // The writes start once the first reading of the counters is taken, and end well before the last.
    await waitFor(() => running.output().includes('sampling read and write rates'), 60_000, 'the sampling to start');
    const client = new pg.Client((server as EmbeddedServer).connectionConfig(DB));
    await client.connect();
    for (let i = 0; i < SAMPLED_INSERTS; i++) await client.query('INSERT INTO orders VALUES ($1, $2, 1)', [100_000 + i, 'sampled']);
    await client.end(); // its backend reports its counters as it exits
    const result = await running.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('migration complexity: MEDIUM');
    expect(result.stdout).toContain('sizing for YugabyteDB: 3 nodes of 4 vCPUs and 16 GiB');

    const reportsDir = join(exportDir, 'assessment', 'reports');
    const report = JSON.parse(readFileSync(join(reportsDir, 'migration_assessment_report.json'), 'utf8')) as AssessmentReport;
    const catalog = await sql<{ name: string; table_bytes: string; index_bytes: string }>(DB,
      `SELECT relname AS name, pg_table_size(oid)::text AS table_bytes, pg_indexes_size(oid)::text AS index_bytes
         FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`);
    const table = (name: string): AssessmentReport['tables'][number] => {
      const found = report.tables.find((t) => t.schema === 'public' && t.name === name);
      if (found === undefined) throw new Error(`${name} is not in the report`);
      return found;
    };
    // Sizes are the catalog's (the sampled inserts may have grown orders by a page or so since).
    for (const row of catalog.filter((r) => r.name !== 'orders')) {
      expect([row.name, table(row.name).tableBytes, table(row.name).indexBytes]).toEqual([row.name, Number(row.table_bytes), Number(row.index_bytes)]);
    }
    expect(table('events').kind).toBe('partitioned');
    expect(table('events').tableBytes).toBe(table('events_2025').tableBytes + table('events_2026').tableBytes);
    expect(table('events').estimatedRows).toBe(3000);
    expect(report.summary).toMatchObject({ tables: 4, partitions: 2, tablesWithoutPrimaryKey: 1, tablesNotAnalysed: 0 });
    expect(table('audit_log').hasPrimaryKey).toBe(false);

    // The rates count exactly the inserts made while sampling.
    expect(report.activity.sampled).toBe(true);
    expect(report.activity.intervalSeconds).toBeGreaterThanOrEqual(5);
    const orders = table('orders').activity;
    expect(Math.round((orders?.insertsPerSecond ?? 0) * report.activity.intervalSeconds)).toBe(SAMPLED_INSERTS);
    expect(table('audit_log').activity?.writesPerSecond).toBe(0);
    expect(report.tables.every((t) => t.placement === 'colocated')).toBe(true);
    expect(report.sizing).toMatchObject({ nodes: 3, vcpusPerNode: 4, replicationFactor: 3, shardedTables: 0 });

    // Schema issues come from the dumped DDL; readiness names the table that cannot stream updates.
    expect(report.schemaIssues.issues.map((i) => i.type)).toContain('GIST_INDEX');
    expect(report.readiness.ready).toBe(false);
    expect(report.readiness.findings.filter((f) => f.severity === 'blocker').map((f) => [f.code, f.object.name])).toEqual([
      ['TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."audit_log"'],
    ]);
    expect(report.complexity.level).toBe('MEDIUM');

    // Query statistics: in the report and, whole, in the metadata file compare-performance reads.
    expect(report.queryStatistics.available).toBe(true);
    const capture = JSON.parse(readFileSync(join(exportDir, report.queryStatistics.file), 'utf8')) as QueryStatisticsCapture;
    const lookup = capture.statistics.find((s) => /SELECT count\(\*\) FROM orders WHERE customer = \$1/.test(s.query));
    expect(lookup?.calls).toBeGreaterThanOrEqual(20);
    const insert = capture.statistics.find((s) => /INSERT INTO orders VALUES/.test(s.query));
    expect(insert?.calls).toBe(SAMPLED_INSERTS);

    // The application's statements checked with analyze-schema's query-construct rules.
    const constructs = report.queryStatistics.unsupportedConstructs.map((f) => [f.query, f.issues.map((i) => i.type)]);
    expect(constructs).toContainEqual(['SELECT pg_advisory_xact_lock($1)', ['ADVISORY_LOCKS']]);
    expect(constructs).toContainEqual(['SELECT ctid, id FROM orders WHERE id = $1', ['SYSTEM_COLUMNS']]);
    expect(constructs.some(([query]) => String(query).includes('customer = $1'))).toBe(false);
    expect(result.stdout).toMatch(/query statistics: \d+ top statements captured; 2 use SQL the target lacks/);

    const html = readFileSync(join(reportsDir, 'migration_assessment_report.html'), 'utf8');
    expect(html).toContain('Migration complexity: <span class="level MEDIUM">MEDIUM</span>');
    expect(html).toContain('public.audit_log');
    expect(html).toContain('SELECT count(*) FROM orders WHERE customer = $1');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    const text = readFileSync(join(reportsDir, 'migration_assessment_report.txt'), 'utf8');
    expect(text).toContain('Migration complexity: MEDIUM');
    expect(text).toMatch(/Sizing: 3 nodes of 4 vCPUs and 16 GiB/);
    expect(text).toContain('public.events_2025');
    expect(text).toContain('BLOCKER TABLE_WITHOUT_REPLICA_IDENTITY table "public"."audit_log"');
    expect(text).toContain('SELECT pg_advisory_xact_lock($1) (1 calls): Advisory locks.');
  }, 120_000);

  it('without pg_stat_statements and without sampling: says why the statistics are missing', async () => {
    const exportDir = newExportDir('assess-plain');
    const result = await runGodwit(['assess-migration', '--export-dir', exportDir, ...sourceArgs(PLAIN_DB), '--iops-capture-interval', '0'], { env: env(), timeoutMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('activity: not sampled');
    expect(result.stdout).toContain('migration complexity: LOW');
    const report = JSON.parse(readFileSync(join(exportDir, 'assessment', 'reports', 'migration_assessment_report.json'), 'utf8')) as AssessmentReport;
    expect(report.activity.sampled).toBe(false);
    expect(report.tables.map((t) => [t.name, t.activity, t.placement, t.estimatedRows])).toEqual([['t', null, 'colocated', null]]);
    // Never analysed: no estimate, and the summary says how to get one.
    expect(report.summary.tablesNotAnalysed).toBe(1);
    expect(result.stdout).toContain('1 table(s) never analysed have no estimate: run ANALYZE on the source for them');
    expect(report.queryStatistics.available).toBe(false);
    expect(report.queryStatistics.unavailableReason).toMatch(/CREATE EXTENSION pg_stat_statements/);
    expect(report.readiness.ready).toBe(true);
  }, 60_000);

  it('ends the sampling early on Ctrl-C (SIGINT) and reports the rates of the time waited', async () => {
    const exportDir = newExportDir('assess-interrupted');
    const started = Date.now();
    const running = startGodwit(['assess-migration', '--export-dir', exportDir, ...sourceArgs(PLAIN_DB), '--iops-capture-interval', '600'], { env: env() });
    // Everything else is read while the sampling waits: interrupt once the last of it began.
    await waitFor(() => running.output().includes('reading query statistics'), 60_000, 'the other steps');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    running.child.kill('SIGINT');
    const result = await running.done;
    expect(result.code, result.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(result.stderr).toMatch(/the sampling was cut short after \d+ of 600 s; the rates cover that time/);
    const report = JSON.parse(readFileSync(join(exportDir, 'assessment', 'reports', 'migration_assessment_report.json'), 'utf8')) as AssessmentReport;
    expect(report.activity.sampled).toBe(true);
    expect(report.activity.intervalSeconds).toBeGreaterThanOrEqual(1);
    expect(report.activity.intervalSeconds).toBeLessThan(60);
  }, 90_000);

  it('a failed step ends the sampling at once: no counters are read for the rest of the interval', async () => {
    const client = new pg.Client((server as EmbeddedServer).connectionConfig(DB));
    await client.connect();
    try {
      let reads = 0;
      const failing = assessMigration({
        dir: openExportDir(newExportDir('assess-failed-step')),
        source: { host: 'h', port: 1, database: DB, user: 'u', schemas: ['public'], serverVersion: 'v' },
        reader: {
          checkSchemas: async () => undefined,
          readCounters: async () => {
            reads++;
            return readActivityCounters(client, ['public']);
          },
          // pg_dump failing after a while (a real one fails the same way, later or sooner).
          dumpSchema: async () => {
            await new Promise((resolve) => setTimeout(resolve, 1_200));
            throw new Error('pg_dump failed');
          },
          readInventory: () => readSourceInventory(client, ['public'], 15),
          checkReadiness: () => Promise.reject(new Error('not reached')),
          readQueryStatistics: () => Promise.reject(new Error('not reached')),
        },
        capture: { slotName: 'godwit_x', publicationName: 'godwit_x', started: false },
        samplingSeconds: 600,
      });
      await expect(failing).rejects.toThrow('pg_dump failed');
      // Cut short after more than a second, the sampling takes its last reading now, not in 600 s.
      await waitFor(() => reads === 2, 5_000, 'the sampling to end');
    } finally {
      await client.end();
    }
  });

  it('refuses a schema that does not exist and a negative interval, writing no report', async () => {
    const exportDir = newExportDir('assess-bad');
    const missing = await runGodwit(['assess-migration', '--export-dir', exportDir, ...sourceArgs(DB), '--source-db-schema', 'nosuch', '--iops-capture-interval', '0'], { env: env() });
    expect(missing.code).toBe(7);
    expect(missing.stderr).toContain('schema nosuch does not exist in the source database "shop"');
    const negative = await runGodwit(['assess-migration', '--export-dir', exportDir, ...sourceArgs(DB), '--iops-capture-interval', '-1'], { env: env() });
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain('iops-capture-interval');
    expect(() => readFileSync(join(exportDir, 'assessment', 'reports', 'migration_assessment_report.json'))).toThrow();
  }, 60_000);
});
