// A PostgreSQL 15 of a test file's own, for what the shared servers must not have (server-wide
// settings such as wal_level = replica or max_wal_senders = 1): started in a fresh temporary folder,
// stopped and removed with it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedServer, type EmbeddedMajor, type EmbeddedServer } from '../../src/embedded/embedded-server.js';

/** A private server and how to be rid of it. */
export interface PrivateServer {
  server: EmbeddedServer;
  /** Stops the server and removes its folder. */
  remove(): Promise<void>;
}

/** Runs `text` on `database` of `server` as its superuser, on a connection of its own; returns the rows. */
export async function sqlOn<R extends pg.QueryResultRow = Record<string, unknown>>(server: EmbeddedServer, database: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client(server.connectionConfig(database));
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Starts a PostgreSQL 15 (or `major`) with `settings` (fsync off, 20 connections unless said) in a folder named after `name`. */
export async function startPrivateServer(name: string, settings: Record<string, string | number | boolean>, major: EmbeddedMajor = 15): Promise<PrivateServer> {
  const baseDir = await mkdtemp(join(tmpdir(), `godwit-${name}-`));
  try {
    const server = await startEmbeddedServer({ major, baseDir, fsync: false, settings: { max_connections: 20, ...settings } });
    return {
      server,
      remove: async () => {
        await server.stop();
        await rm(baseDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }
}
