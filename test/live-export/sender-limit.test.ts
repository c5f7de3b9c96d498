// `export data from source --export-type snapshot-and-changes` on a source whose max_wal_senders is 1,
// through the built CLI, on a private PostgreSQL 15 this file starts itself (the shared one has more
// senders): the first run takes the snapshot and streams with the only sender, and a restart after a
// SIGKILL or a graceful stop resumes with it. A restart opens its replication session beside the
// readiness checks (export-data-from-source.live.ts), so the checks may count that session among the
// running senders; they must not refuse the export for the sender it holds itself. A restart whose
// password is typed at the prompt (no early session: the password comes with the first login) is
// run on a pseudo-terminal, killed, and run again the same way.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import type { EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { getLiveExport } from '../../src/state/live-export-store.js';
import { openStore } from '../../src/state/store.js';
import { sqlOn, startPrivateServer, type PrivateServer } from '../harness/private-server.js';
import { runGodwit, startGodwit, startGodwitOnTerminal, type RunningGodwit } from '../helpers/run-godwit.js';
import { newExportDir, waitFor } from '../snapshot-export/helpers.js';

let own: PrivateServer | undefined;
let server: EmbeddedServer | undefined;
const DB = 'app';

beforeAll(async () => {
  own = await startPrivateServer('sender-limit', { wal_level: 'logical', max_wal_senders: 1, max_replication_slots: 2 });
  server = own.server;
  await sql('postgres', `CREATE DATABASE ${DB}`);
  await sql(DB, 'CREATE TABLE items (id int PRIMARY KEY, note text NOT NULL); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 500) g');
}, 120_000);

afterAll(async () => {
  await own?.remove();
});

function sql<R extends pg.QueryResultRow = Record<string, unknown>>(database: string, text: string, values: unknown[] = []): Promise<R[]> {
  return sqlOn<R>(server as EmbeddedServer, database, text, values);
}

function sourceArgs(): string[] {
  const s = server as EmbeddedServer;
  return ['--source-db-host', s.host, '--source-db-port', String(s.port), '--source-db-user', s.user, '--source-db-name', DB, '--source-ssl-mode', 'disable'];
}

const env = (): Record<string, string> => ({ SOURCE_DB_PASSWORD: (server as EmbeddedServer).password });
const exportArgs = (exportDir: string): string[] => ['export', 'data', 'from', 'source', '--export-dir', exportDir, ...sourceArgs(), '--export-type', 'snapshot-and-changes', '--parallel-jobs', '2'];

async function waitForLine(running: RunningGodwit, text: string): Promise<void> {
  let out = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let exited = false;
  void running.done.then(() => (exited = true));
  await waitFor(() => out.includes(text) || exited, 90_000, `"${text}" on stdout`);
  if (!out.includes(text)) throw new Error(`godwit exited before "${text}": ${JSON.stringify(await running.done)}`);
}

/** Waits until the export's slot confirmed everything the source wrote so far. */
async function waitCaughtUp(exportDir: string): Promise<void> {
  const store = openStore(join(exportDir, 'metainfo', 'godwit.db'));
  const slot = getLiveExport(store)?.slotName;
  store.close();
  const lsn = (await sql<{ lsn: string }>(DB, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]?.lsn;
  await waitFor(
    async () => (await sql<{ ok: boolean }>(DB, 'SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2', [lsn, slot]))[0]?.ok === true,
    60_000,
    'the slot to confirm the inserts',
  );
}

async function queued(exportDir: string): Promise<ChangeEvent[]> {
  const store = openStore(join(exportDir, 'metainfo', 'godwit.db'));
  const reader = openQueueReader({ store, queueDir: join(exportDir, 'data', 'queue'), stream: 'source-to-target' });
  try {
    return await reader.read(10_000);
  } finally {
    reader.close();
    store.close();
  }
}

/**
 * Starts the export, waits for `ready` on its stdout, inserts item `id`, waits until the slot
 * confirmed it, and stops the export with `signal`; returns how the run ended.
 */
async function exportOnce(exportDir: string, ready: string, id: number, signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  const running = startGodwit(exportArgs(exportDir), { env: env() });
  await waitForLine(running, ready);
  await sql(DB, 'INSERT INTO items VALUES ($1, $2)', [id, `run ${id}`]);
  await waitCaughtUp(exportDir);
  running.child.kill(signal);
  return running.done;
}

describe('a source with max_wal_senders = 1', () => {
  it('is exported live, and each restart resumes with the only WAL sender', async () => {
    const exportDir = newExportDir('sender-limit');
    const schema = await runGodwit(['export', 'schema', '--export-dir', exportDir, ...sourceArgs()], { env: env() });
    expect(schema.code).toBe(0);

    await exportOnce(exportDir, 'streaming changes from replication slot', 1001, 'SIGKILL');
    // Killed: the restart resumes (its walsender is the only one; the killed one's has ended or ends).
    await sql(DB, `INSERT INTO items VALUES (1002, 'while stopped')`);
    const second = await exportOnce(exportDir, 'resuming changes from replication slot', 1003, 'SIGTERM');
    expect(second.stderr).not.toContain('NO_FREE_WAL_SENDER');
    expect(second.code).toBe(0);
    // Stopped gracefully: the same again.
    const third = await exportOnce(exportDir, 'resuming changes from replication slot', 1004, 'SIGTERM');
    expect(third.code).toBe(0);

    const events = await queued(exportDir);
    expect(events.map((event) => [event.vsn, event.op, event.newValues?.[0]])).toEqual([
      [1, 'insert', '1001'],
      [2, 'insert', '1002'],
      [3, 'insert', '1003'],
      [4, 'insert', '1004'],
    ]);
  }, 240_000);

  const hasScript = ((): boolean => {
    try {
      execFileSync('script', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  const terminal = process.platform === 'linux' && hasScript;
  it.runIf(terminal)(`restarts with the password typed at the prompt, after a SIGKILL and after Ctrl-C${terminal ? '' : ' (skipped: needs Linux and util-linux script for a pseudo-terminal)'}`, async () => {
    const exportDir = newExportDir('sender-limit-prompt');
    expect((await runGodwit(['export', 'schema', '--export-dir', exportDir, ...sourceArgs()], { env: env() })).code).toBe(0);
    await exportOnce(exportDir, 'streaming changes from replication slot', 2001, 'SIGKILL');
    await sql(DB, `INSERT INTO items VALUES (2002, 'while stopped')`);

    const password = (server as EmbeddedServer).password;
    // No password anywhere but the keyboard: the restart asks once, then resumes with the only sender.
    const onTerminal = async (id: number): Promise<ReturnType<typeof startGodwitOnTerminal>> => {
      const running = startGodwitOnTerminal(exportArgs(exportDir), { env: { PGPASSFILE: join(exportDir, 'no-such-pgpass') } });
      await running.answer(/Password for user \S+ on the source database at [^:]+:\d+: /, `${password}\r`);
      await waitFor(() => running.output().includes('resuming changes from replication slot') || running.child.exitCode !== null, 90_000, 'the resumed stream');
      expect(running.output()).toContain('resuming changes from replication slot');
      await sql(DB, 'INSERT INTO items VALUES ($1, $2)', [id, `typed ${id}`]);
      await waitCaughtUp(exportDir);
      return running;
    };
    const killed = await onTerminal(2003);
    process.kill(killed.godwitPid() as number, 'SIGKILL');
    await killed.done;
    const interrupted = await onTerminal(2004);
    interrupted.child.stdin?.write('\x03'); // Ctrl-C: SIGINT to godwit, a graceful stop
    const result = await interrupted.done;
    expect(result.code).toBe(0);
    for (const run of [killed, interrupted]) {
      expect(run.output()).not.toContain(password);
      expect(run.output()).not.toContain('NO_FREE_WAL_SENDER');
    }

    const events = await queued(exportDir);
    expect(events.map((event) => [event.vsn, event.op, event.newValues?.[0]])).toEqual([
      [1, 'insert', '2001'],
      [2, 'insert', '2002'],
      [3, 'insert', '2003'],
      [4, 'insert', '2004'],
    ]);
  }, 240_000);
});
