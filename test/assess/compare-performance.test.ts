// `godwit compare-performance` on real servers: a private PostgreSQL 15 source and 17 target, both
// with pg_stat_statements loaded, run the same small workload, except that the target lacks an index
// the source has. The source's capture is taken with readQueryStatistics (as assess-migration takes
// it) and the built CLI compares it with the target: the statement that lost its index is `slower`,
// the statements run on one side only are listed as such, the HTML escapes statement text. Also: no
// capture (exit 5 before any connection), a target that does not load pg_stat_statements (exit 7,
// naming shared_preload_libraries), and the reader's own answers when it cannot read statistics.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PerformanceComparison } from '../../src/assess/compare-queries.js';
import { queryStatisticsFile, readQueryStatistics, readQueryStatisticsCapture, writeQueryStatisticsCapture } from '../../src/assess/query-statistics.js';
import type { QueryStatisticsCapture } from '../../src/assess/query-statistics-types.js';
import { StateError } from '../../src/core/errors.js';
import type { EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { openExportDir, type ExportDir } from '../../src/state/export-dir.js';
import { openStore } from '../../src/state/store.js';
import { adminConfig, createDatabase, dropDatabase, runSql, servers } from '../harness/index.js';
import { startPrivateServer, type PrivateServer } from '../harness/private-server.js';
import { runGodwit } from '../helpers/run-godwit.js';

const DB = 'app';
const PRELOAD = { shared_preload_libraries: 'pg_stat_statements' };
/** Fast on the source (index on customer), a sequential scan of every row on the target. */
const BY_CUSTOMER = 'SELECT count(*) FROM orders WHERE customer = 42 AND id < 1000000';
const BY_ID = 'SELECT note FROM orders WHERE id = 7';
const SOURCE_ONLY = 'SELECT max(id) FROM orders';
const TARGET_ONLY = 'SELECT min(id) FROM orders';
/** A monitoring tool's catalog query: not the application's, left out of every capture. */
const CATALOG_QUERY = "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'";

let sourceServer: PrivateServer | undefined;
let targetServer: PrivateServer | undefined;
let plainTargetDb: string | undefined;
let sourceCapture: QueryStatisticsCapture | undefined;

const source = (): EmbeddedServer => (sourceServer as PrivateServer).server;
const target = (): EmbeddedServer => (targetServer as PrivateServer).server;

async function withClient<T>(config: pg.ClientConfig, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function sql(server: EmbeddedServer, database: string, text: string): Promise<void> {
  await withClient(server.connectionConfig(database), async (client) => {
    await client.query(text);
  });
}

/** The same table on both sides; only the source indexes `customer`. */
async function prepare(server: EmbeddedServer, withIndex: boolean): Promise<void> {
  await sql(server, 'postgres', `CREATE DATABASE ${DB}`);
  await sql(server, DB, `CREATE EXTENSION pg_stat_statements;
    CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, note text NOT NULL);
    INSERT INTO orders SELECT g, g % 5000, md5(g::text) FROM generate_series(1, 150000) g;
    ${withIndex ? 'CREATE INDEX orders_customer ON orders (customer);' : ''}
    ANALYZE orders;
    SELECT pg_stat_statements_reset();`);
}

/** Each statement several times, so the means are means (a first, cold call does not decide the verdict). */
async function workload(server: EmbeddedServer, statements: string[]): Promise<void> {
  await withClient(server.connectionConfig(DB), async (client) => {
    for (let i = 0; i < 15; i++) for (const statement of statements) await client.query(statement);
  });
}

function newExportDir(prefix: string): ExportDir {
  return openExportDir(join(mkdtempSync(join(tmpdir(), `godwit-${prefix}-`)), 'export'));
}

function targetFlags(host: string, port: number, user: string, database: string): string[] {
  return ['--target-db-host', host, '--target-db-port', String(port), '--target-db-user', user, '--target-db-name', database, '--target-ssl-mode', 'disable'];
}

beforeAll(async () => {
  [sourceServer, targetServer] = await Promise.all([
    startPrivateServer('compare-perf-source', PRELOAD),
    startPrivateServer('compare-perf-target', PRELOAD, 17),
  ]);
  await Promise.all([prepare(source(), true), prepare(target(), false)]);
  await Promise.all([workload(source(), [BY_CUSTOMER, BY_ID, SOURCE_ONLY]), workload(target(), [BY_CUSTOMER, BY_ID, TARGET_ONLY, CATALOG_QUERY])]);
  sourceCapture = await withClient(source().connectionConfig(DB), (client) =>
    readQueryStatistics(client, { database: DB, serverVersion: 'PostgreSQL 15 (private test source)', serverMajor: 15 }));
}, 120_000);

afterAll(async () => {
  if (plainTargetDb !== undefined) await dropDatabase(servers().target, plainTargetDb);
  await Promise.all([sourceServer?.remove(), targetServer?.remove()]);
});

describe('readQueryStatistics', () => {
  it("captures the database's planned statements with their normalised text, without its own and utility statements", () => {
    const capture = sourceCapture as QueryStatisticsCapture;
    expect(capture.available).toBe(true);
    const texts = capture.statistics.map((s) => s.query);
    expect(texts).toContain('SELECT count(*) FROM orders WHERE customer = $1 AND id < $2');
    expect(texts).toContain(SOURCE_ONLY);
    expect(texts.some((t) => /pg_stat_statements/i.test(t))).toBe(false);
    expect(texts.some((t) => /^\s*(CREATE|ANALYZE|BEGIN|COMMIT)/i.test(t))).toBe(false);
    const byCustomer = capture.statistics.find((s) => s.query.includes('customer = $1'));
    expect(byCustomer?.calls).toBe(15);
    expect(byCustomer?.meanExecMs).toBeCloseTo((byCustomer?.totalExecMs ?? 0) / 15, 6);
    // Most total execution time first.
    const totals = capture.statistics.map((s) => s.totalExecMs);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
  });

  it('says to CREATE EXTENSION when the library is loaded but the extension is not created in the database', async () => {
    const capture = await withClient(source().connectionConfig('postgres'), (client) =>
      readQueryStatistics(client, { database: 'postgres', serverVersion: 'PostgreSQL 15', serverMajor: 15 }));
    expect(capture.available).toBe(false);
    expect(capture.statistics).toEqual([]);
    expect(capture.unavailableReason).toContain('CREATE EXTENSION pg_stat_statements in database postgres');
    expect(capture.unavailableReason).not.toContain('shared_preload_libraries');
  });

  it("says to grant pg_read_all_stats when the role cannot see other roles' statements", async () => {
    await sql(source(), DB, "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'");
    const capture = await withClient({ ...source().connectionConfig(DB), user: 'reader', password: 'reader-pw' }, (client) =>
      readQueryStatistics(client, { database: DB, serverVersion: 'PostgreSQL 15', serverMajor: 15 }));
    expect(capture.available).toBe(false);
    expect(capture.unavailableReason).toContain('GRANT pg_read_all_stats TO reader');
    expect(capture.unavailableReason).toContain('<insufficient privilege>');
  });

  it('refuses a missing or damaged capture file with a StateError and a hint', () => {
    const dir = newExportDir('compare-perf-files');
    const file = queryStatisticsFile(dir);
    expect(file).toBe(join(dir.assessmentMetadataDir, 'query_statistics.json'));
    expect(() => readQueryStatisticsCapture(file)).toThrow(StateError);
    writeFileSync(file, '{"formatVersion": 1, "statistics": "none"}');
    let error: unknown;
    try {
      readQueryStatisticsCapture(file);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(StateError);
    expect((error as StateError).message).toContain('is damaged');
    expect((error as StateError).hint).toContain('godwit assess-migration');
    writeQueryStatisticsCapture(file, sourceCapture as QueryStatisticsCapture);
    expect(readQueryStatisticsCapture(file)).toEqual(sourceCapture);
  });
});

describe('godwit compare-performance', () => {
  it('compares the source capture with the target: slower, only-source and only-target statements, HTML and JSON reports', async () => {
    const dir = newExportDir('compare-perf');
    writeQueryStatisticsCapture(queryStatisticsFile(dir), sourceCapture as QueryStatisticsCapture);
    const t = target();
    const r = await runGodwit(['compare-performance', '--export-dir', dir.root, ...targetFlags(t.host, t.port, t.user, DB)], { env: { TARGET_DB_PASSWORD: t.password } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Only on the target: TARGET_ONLY; neither godwit's own statements (its version query when it
    // connects) nor the catalog query a monitoring tool ran.
    expect(r.stdout).toMatch(/compare-performance: 2 statements on both sides \(1 slower, 0 faster, 1 similar on the target\), 1 only on the source, 1 only on the target\./);
    expect(r.stdout).toContain('customer = $1');
    expect(r.stdout).toContain(join(dir.reportsDir, 'performance_comparison_report.html'));

    const report = JSON.parse(readFileSync(join(dir.reportsDir, 'performance_comparison_report.json'), 'utf8')) as PerformanceComparison;
    expect(report.reportVersion).toBe(1);
    const slow = report.matched.find((m) => m.query === 'SELECT count(*) FROM orders WHERE customer = $1 AND id < $2');
    expect(slow?.verdict).toBe('slower');
    expect(slow?.source.calls).toBe(15);
    expect(slow?.target.calls).toBe(15);
    expect(slow?.meanRatio).toBeGreaterThan(1.5);
    expect(report.matched.find((m) => m.query === 'SELECT note FROM orders WHERE id = $1')?.verdict).toBe('similar');
    expect(report.onlySource.map((s) => s.query)).toEqual([SOURCE_ONLY]);
    expect(report.onlyTarget.map((s) => s.query)).toEqual([TARGET_ONLY]);
    expect(report.summary).toEqual({ matched: 2, slower: 1, faster: 0, similar: 1, onlySource: 1, onlyTarget: 1 });
    expect(report.target.serverVersion).toMatch(/^PostgreSQL 17/);

    const html = readFileSync(join(dir.reportsDir, 'performance_comparison_report.html'), 'utf8');
    expect(html).toContain('SELECT count(*) FROM orders WHERE customer = $1 AND id &lt; $2');
    expect(html).not.toContain('id < $2');
    expect(html).not.toMatch(/<script/i);
    const text = readFileSync(join(dir.reportsDir, 'performance_comparison_report.txt'), 'utf8');
    expect(text).toContain('1 only on the source, 1 only on the target.');
    expect(text).toMatch(/SELECT count\(\*\) FROM orders WHERE customer = \$1 AND id < \$2.*slower/);
    expect(text).toContain(`Only on the target (1):\n  15 calls, mean `);

    const store = openStore(dir.storeFile);
    try {
      expect(store.getPhaseStatus('compare-performance').state).toBe('done');
    } finally {
      store.close();
    }
  });

  it('without a source capture: exit 5 and the hint to run assess-migration, before connecting to the target', async () => {
    const dir = newExportDir('compare-perf-nocapture');
    // Port 1 has no server: a connection attempt would fail with exit 3 instead.
    const r = await runGodwit(['compare-performance', '--export-dir', dir.root, ...targetFlags('127.0.0.1', 1, 'nobody', DB)], { env: { TARGET_DB_PASSWORD: 'x' } });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('Run `godwit assess-migration` first');
  });

  it('with a target that does not load pg_stat_statements: exit 7 naming shared_preload_libraries', async () => {
    const shared = servers().target;
    plainTargetDb = await createDatabase(shared, 'compare_perf_plain');
    const neither = await withClient(adminConfig(shared, plainTargetDb), (client) =>
      readQueryStatistics(client, { database: plainTargetDb as string, serverVersion: 'PostgreSQL 17', serverMajor: 17 }));
    expect(neither.available).toBe(false);
    expect(neither.unavailableReason).toContain(`add pg_stat_statements to shared_preload_libraries (postgresql.conf), restart the server, then run CREATE EXTENSION pg_stat_statements in database ${plainTargetDb}`);
    // Created without being loaded: the view exists but cannot be read.
    await runSql(shared, plainTargetDb, 'CREATE EXTENSION pg_stat_statements');
    const dir = newExportDir('compare-perf-plain');
    writeQueryStatisticsCapture(queryStatisticsFile(dir), sourceCapture as QueryStatisticsCapture);
    const r = await runGodwit(['compare-performance', '--export-dir', dir.root, ...targetFlags(shared.host, shared.port, shared.user, plainTargetDb)], { env: { TARGET_DB_PASSWORD: shared.password } });
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('pg_stat_statements cannot be read on the target');
    expect(r.stderr).toContain('add pg_stat_statements to shared_preload_libraries');
  });

  it('with a source capture that found no statistics: exit 5 with its reason', async () => {
    const dir = newExportDir('compare-perf-unavailable');
    writeQueryStatisticsCapture(queryStatisticsFile(dir), {
      ...(sourceCapture as QueryStatisticsCapture),
      available: false,
      unavailableReason: 'the pg_stat_statements extension is not created in database app',
      statistics: [],
    });
    const t = target();
    const r = await runGodwit(['compare-performance', '--export-dir', dir.root, ...targetFlags(t.host, t.port, t.user, DB)], { env: { TARGET_DB_PASSWORD: t.password } });
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('assess-migration found no query statistics on the source (database app): the pg_stat_statements extension is not created');
  });
});
