// Channel transactions commit asynchronously (synchronous_commit = off, like PostgreSQL's own apply
// worker), so a crash of the target may lose the last of them, data and bookkeeping together. This test
// makes that happen on purpose: a target whose WAL writer waits 10 s, a batch applied, the target
// crashed before anything flushed it. The apply must notice (a channel row behind what it committed),
// start again from the target's rows, and end with every change applied exactly once; and what it
// reported as applied (what the store records and `archive changes` frees) must never be more than the
// target holds on disk.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyChanges } from '../../src/apply/apply-engine.js';
import { canCommitAsynchronously } from '../../src/apply/durable-progress.js';
import type { ApplyProgress } from '../../src/apply/apply-progress.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import type { Logger } from '../../src/core/logger.js';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { postgresLoaderSessions } from '../../src/engines/postgres/snapshot/loader-sessions.js';
import { ins, newMigrationId, queuePlace, writeTransactions } from './apply-helpers.js';

let baseDir: string;
let target: EmbeddedServer;

beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), 'godwit-async-commit-'));
  await chmod(baseDir, 0o755); // as root the server runs as the postgres OS user
  // Asynchronous commits reach disk only when the WAL writer wakes (every 10 s here) or a page fills.
  target = await startEmbeddedServer({ major: 17, baseDir: join(baseDir, 'target'), settings: { wal_writer_delay: '10s' } });
}, 120_000);

afterAll(async () => {
  await target?.stop();
  if (baseDir !== undefined) await rm(baseDir, { recursive: true, force: true });
});

const T = { schema: 'public', name: 'items' };
const COLS = ['id', 'v'];

async function scalar(sql: string): Promise<string | undefined> {
  const client = new pg.Client(target.connectionConfig('postgres'));
  await client.connect();
  try {
    return (await client.query<{ v: string }>(sql)).rows[0]?.v;
  } finally {
    await client.end();
  }
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('asynchronous commit of channel transactions', () => {
  it('a target that loses its last commits in a crash gets them again, exactly once, and reported progress never runs ahead of its disk', async () => {
    await scalar('CREATE TABLE items (id int PRIMARY KEY, v text NOT NULL)');
    const place = queuePlace('async-commit');
    const store = place.openStore();
    const migrationId = newMigrationId();
    const pool = new pg.Pool({ ...target.connectionConfig('postgres'), max: 4 });
    pool.on('error', () => undefined);
    const sessions = postgresLoaderSessions(pool, 4, { user: target.user, database: 'postgres' });
    const warnings: string[] = [];
    const logger: Logger = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (message) => warnings.push(message), error: () => undefined };
    const reported: ApplyProgress[] = [];
    const stop = new AbortController();
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => [ins(T, ['id'], COLS, [String(from + i), `v${from + i}`])]);
    try {
      const first = await writeTransactions(store, place.queueDir, batch(1, 20));
      const applying = applyChanges({
        sessions,
        migrationId,
        stream: 'source-to-target',
        openSource: (fromVsn) => openQueueReader({ store, queueDir: place.queueDir, stream: 'source-to-target', fromVsn, pollIntervalMs: 20 }),
        channels: 2,
        batchSize: 100,
        signal: stop.signal,
        // No progress report (which flushes through its barrier) before the crash.
        progressIntervalMs: 3_600_000,
        onProgress: (progress) => reported.push(progress),
        retry: { attempts: 100, baseDelayMs: 50, maxDelayMs: 500 },
        logger,
      });
      // Applied and visible, but only in the target's WAL buffers.
      await waitFor(async () => (await scalar('SELECT count(*)::text AS v FROM items')) === '20', 'the first batch');
      expect(first).toBe(20);
      await target.restartImmediate();
      expect(await scalar('SELECT count(*)::text AS v FROM items')).toBe('0');

      // More changes: the channels find their rows behind what they committed, and start again from them.
      const last = await writeTransactions(store, place.queueDir, batch(21, 30));
      await waitFor(async () => (await scalar('SELECT count(*)::text AS v FROM items')) === '50', 'every change');
      stop.abort();
      const final = await applying;
      expect(warnings.some((w) => w.includes('lost its last asynchronous commits'))).toBe(true);
      expect(await scalar("SELECT count(*)::text || ' ' || sum(id)::text || ' ' || count(DISTINCT v)::text AS v FROM items")).toBe(`50 ${(50 * 51) / 2} 50`);
      // Reported progress is what the target holds, and survives another crash.
      expect(final.appliedThroughVsn).toBe(last);
      await target.restartImmediate();
      const durable = Number(await scalar('SELECT min(last_applied_vsn)::text AS v FROM godwit_metadata.apply_channels'));
      for (const progress of reported) expect(progress.appliedThroughVsn).toBeLessThanOrEqual(durable);
      expect(await scalar('SELECT count(*)::text AS v FROM items')).toBe('50');
    } finally {
      stop.abort();
      await sessions.end();
      store.close();
      place.cleanup();
    }
  }, 180_000);

  it('a target where the barrier may not run (no EXECUTE on pg_logical_emit_message) keeps channel transactions synchronous', async () => {
    await scalar(`CREATE ROLE no_barrier LOGIN PASSWORD 'no-barrier-pw'`);
    await scalar('REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text, boolean) FROM PUBLIC');
    const scope = { migrationId: newMigrationId(), stream: 'source-to-target' as const };
    const limited = new pg.Client({ ...target.connectionConfig('postgres'), user: 'no_barrier', password: 'no-barrier-pw' });
    const admin = new pg.Client(target.connectionConfig('postgres'));
    await Promise.all([limited.connect(), admin.connect()]);
    try {
      await scalar('CREATE SCHEMA IF NOT EXISTS godwit_metadata');
      const session = (client: pg.Client) => ({ query: async <R extends Record<string, unknown>>(text: string, params?: unknown[]) => ({ rows: (await client.query(text, params)).rows as R[] }) });
      // The superuser may (EXECUTE is not checked for it); the limited user is refused, and its session stays usable.
      await scalar('CREATE TABLE IF NOT EXISTS godwit_metadata.apply_channels (migration_id uuid, stream text, channel int, last_applied_vsn bigint, routing text)');
      expect(await canCommitAsynchronously(session(admin), scope)).toBe(true);
      expect(await canCommitAsynchronously(session(limited), scope)).toBe(false);
      expect((await limited.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await Promise.all([limited.end(), admin.end()]);
      await scalar('GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text, boolean) TO PUBLIC');
    }
  }, 60_000);
});
