// Helpers for test files: reach the shared servers started by the global setup, give every test
// file its own uniquely named databases, run SQL as the superuser, build DatabaseSettings.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import type { DatabaseSettings } from '../../src/core/database-settings.js';
import type { HarnessServer, HarnessServers } from './provided.js';

export type { HarnessServer, HarnessServers, HarnessTlsRoles } from './provided.js';
export type { TestCertificates } from './certificates.js';
export { capturingLogger, type CapturedLine } from './capture-logger.js';

/** The shared source (PostgreSQL 15, TLS) and target (PostgreSQL 17) of this test run. */
export function servers(): HarnessServers {
  return inject('servers');
}

/** node-postgres settings for the superuser of `server` on `database`. */
export function adminConfig(server: HarnessServer, database = 'postgres'): pg.ClientConfig {
  return { host: server.host, port: server.port, user: server.user, password: server.password, database };
}

/** Settings godwit itself would get for `server` (TLS off unless overridden), as the superuser. */
export function databaseSettings(
  server: Pick<HarnessServer, 'host' | 'port' | 'user' | 'password'> & { role?: DatabaseSettings['role'] },
  database: string,
  overrides: Partial<DatabaseSettings> = {},
): DatabaseSettings {
  return {
    role: server.role ?? 'source',
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    schemas: ['public'],
    sslMode: 'disable',
    sslRootCert: undefined,
    sslCert: undefined,
    sslKey: undefined,
    ...overrides,
  };
}

/** Runs `fn` with a superuser connection to `database`, closed afterwards whatever happens. */
export async function withClient<T>(
  server: HarnessServer,
  database: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(adminConfig(server, database));
  client.on('error', () => undefined); // a server-side termination must not crash the test process
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs one or more SQL statements (simple protocol, no parameters) as the superuser. */
export async function runSql(server: HarnessServer, database: string, sql: string): Promise<void> {
  await withClient(server, database, async (client) => {
    await client.query(sql);
  });
}

/** Runs one parameterised query as the superuser and returns its rows. */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  server: HarnessServer,
  database: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  return withClient(server, database, async (client) => (await client.query<R>(text, params)).rows);
}

/** Creates a database named `<prefix>_<random>` so test files running in parallel never collide. */
export async function createDatabase(server: HarnessServer, prefix: string): Promise<string> {
  const cleanPrefix = prefix.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 40);
  const name = `${cleanPrefix}_${randomBytes(5).toString('hex')}`;
  await runSql(server, 'postgres', `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  return name;
}

/** Drops a test database even if sessions or replication slots still use it. */
export async function dropDatabase(server: HarnessServer, name: string): Promise<void> {
  await withClient(server, 'postgres', async (client) => {
    // A database with a logical replication slot cannot be dropped; end the slots' consumers first.
    await client.query(
      `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
        WHERE database = $1 AND active_pid IS NOT NULL`,
      [name],
    );
    await dropSlotsOf(client, name);
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  });
}

async function dropSlotsOf(client: pg.Client, database: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await client.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1',
        [database],
      );
      return;
    } catch (error) {
      // A terminated walsender releases its slot a moment later (55006: slot is active).
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
