// The harness gives every test what logical replication needs: the right majors, wal_level=logical,
// pgoutput slots through SQL and through the replication protocol, and databases of their own.

import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedServer } from '../src/embedded/embedded-server.js';
import {
  adminConfig,
  createDatabase,
  dropDatabase,
  query,
  runSql,
  servers,
  withClient,
  type HarnessServer,
} from './harness/index.js';

const cases: Array<[string, () => HarnessServer, number]> = [
  ['source', () => servers().source, 15],
  ['target', () => servers().target, 17],
];

describe.each(cases)('%s server', (_role, getServer, major) => {
  let server: HarnessServer;
  let database: string;

  beforeAll(async () => {
    server = getServer();
    database = await createDatabase(server, 'harness');
    await runSql(server, database, 'CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, $$one$$)');
  });

  afterAll(async () => {
    await dropDatabase(server, database);
    const left = await query(server, 'postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    expect(left).toEqual([]);
  });

  it(`runs PostgreSQL ${major} with wal_level=logical`, async () => {
    expect(server.major).toBe(major);
    const [row] = await query<{ num: string; wal_level: string }>(
      server,
      database,
      "SELECT current_setting('server_version_num') AS num, current_setting('wal_level') AS wal_level",
    );
    expect(Math.floor(Number(row?.num) / 10_000)).toBe(major);
    expect(row?.wal_level).toBe('logical');
  });

  it('serves TLS on the source only', async () => {
    const [row] = await query<{ ssl: string }>(server, database, 'SHOW ssl');
    expect(row?.ssl).toBe(server.role === 'source' ? 'on' : 'off');
  });

  it('creates and drops a pgoutput slot through SQL', async () => {
    const slot = `harness_sql_${major}`;
    await withClient(server, database, async (client) => {
      const created = await client.query("SELECT * FROM pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
      expect(created.rows[0]).toMatchObject({ slot_name: slot });
      const listed = await client.query('SELECT plugin, database FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      expect(listed.rows).toEqual([{ plugin: 'pgoutput', database }]);
      await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    });
  });

  it('creates a slot with an exported snapshot over the replication protocol', async () => {
    const slot = `harness_repl_${major}`;
    const replication = new pg.Client({ ...adminConfig(server, database), replication: 'database' } as pg.ClientConfig);
    replication.on('error', () => undefined);
    await replication.connect();
    try {
      const identity = await replication.query('IDENTIFY_SYSTEM');
      expect(identity.rows[0]).toMatchObject({ dbname: database });
      const created = await replication.query(`CREATE_REPLICATION_SLOT ${slot} LOGICAL pgoutput EXPORT_SNAPSHOT`);
      const row = created.rows[0] as { slot_name: string; snapshot_name: string; output_plugin: string };
      expect(row.slot_name).toBe(slot);
      expect(row.output_plugin).toBe('pgoutput');
      // The exported snapshot is usable while the creating connection stays open and idle.
      await runSql(server, database, "INSERT INTO items VALUES (2, 'after the snapshot')");
      const seen = await withClient(server, database, async (client) => {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await client.query(`SET TRANSACTION SNAPSHOT '${row.snapshot_name}'`);
        const items = await client.query('SELECT id FROM items ORDER BY id');
        await client.query('COMMIT');
        return items.rows;
      });
      expect(seen).toEqual([{ id: 1 }]);
    } finally {
      await replication.end();
    }
    await runSql(server, database, `SELECT pg_drop_replication_slot('${slot}')`);
  });

  it('gives every call of createDatabase its own database, and drops one that has a slot', async () => {
    const [first, second] = await Promise.all([createDatabase(server, 'Same Prefix'), createDatabase(server, 'Same Prefix')]);
    expect(first).toMatch(/^same_prefix_[0-9a-f]{10}$/);
    expect(first).not.toBe(second);
    await runSql(server, first as string, "SELECT pg_create_logical_replication_slot('harness_leftover', 'pgoutput')");
    await Promise.all([dropDatabase(server, first as string), dropDatabase(server, second as string)]);
    const left = await query(server, 'postgres', 'SELECT datname FROM pg_database WHERE datname = ANY($1)', [[first, second]]);
    expect(left).toEqual([]);
  });
});

describe('startEmbeddedServer', () => {
  let baseDir: string;

  beforeAll(async () => {
    baseDir = await fs.mkdtemp(path.join(os.tmpdir(), 'godwit-embedded-'));
    await fs.chmod(baseDir, 0o755);
  });

  afterAll(async () => {
    await fs.rm(baseDir, { recursive: true, force: true });
  });

  it('stops synchronously (for signal handlers) and then stop() is a no-op; a bad setting fails with the log', async () => {
    const [server, failed] = await Promise.all([
      startEmbeddedServer({ major: 17, baseDir: path.join(baseDir, 'good'), fsync: false }),
      startEmbeddedServer({ major: 15, baseDir: path.join(baseDir, 'bad'), settings: { wal_level: 'sideways' } }).then(
        () => undefined,
        (error: unknown) => error as Error,
      ),
    ]);
    try {
      const client = new pg.Client(server.connectionConfig());
      await client.connect();
      expect((await client.query('SHOW wal_level')).rows).toEqual([{ wal_level: 'logical' }]);
      await client.end();
      server.stopSync();
      expect(existsSync(path.join(server.dataDir, 'postmaster.pid'))).toBe(false);
      await server.stop();
      expect(await fs.readFile(server.logFile, 'utf8')).toContain('database system is shut down');
    } finally {
      await server.stop();
    }
    expect(failed?.message).toMatch(/^PostgreSQL 15 did not start on port \d+\. End of its log:\n/);
    expect(failed?.message).toContain('invalid value for parameter "wal_level": "sideways"');
  });
});
