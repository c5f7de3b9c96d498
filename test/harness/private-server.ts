// A PostgreSQL 15 of a test file's own, for what the shared servers must not have (server-wide
// settings such as wal_level = replica or max_wal_senders = 1): started in a fresh temporary folder,
// stopped and removed with it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedServer, type EmbeddedMajor, type EmbeddedServer } from '../../src/embedded/embedded-server.js';

/** A private server and how to be rid of it. */
export interface PrivateServer {
  server: EmbeddedServer;
  /** Stops the server and removes its folder. */
  remove(): Promise<void>;
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
