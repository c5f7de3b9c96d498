// `export data from source --export-type snapshot-and-changes` through the built CLI against the
// harness PostgreSQL 15: a source that is not ready is refused before anything is created; the snapshot
// (read under the slot's exported snapshot) and the change queue meet exactly (every row inserted by a
// concurrent workload is in the snapshot files XOR in the queue); SIGKILL while streaming then the same
// command resumes from the slot without duplicate or gap; SIGKILL while the snapshot is read makes the
// re-run refuse, and --start-clean --yes starts over.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { ReplicationConnection } from '../../src/engines/postgres/replication/index.js';
import { getLiveExport } from '../../src/state/live-export-store.js';
import { openStore } from '../../src/state/store.js';
import { adminConfig, createDatabase, dropDatabase, query, runSql } from '../harness/index.js';
import type { RunningGodwit } from '../helpers/run-godwit.js';
import { exportData, exportDataArgs, exportSchema, exportedChunkCount, exportedLines, newExportDir, source, startGodwit, waitFor } from '../snapshot-export/helpers.js';

const databases: string[] = [];
afterAll(async () => {
  for (const db of databases) await dropDatabase(source, db); // ends walsenders, drops the slots and publications with the database
});

const LIVE = ['--export-type', 'snapshot-and-changes', '--snapshot-format', 'text', '--parallel-jobs', '2'];
const SLOW = { GODWIT_SNAPSHOT_CHUNK_PAGES: '8', GODWIT_TEST_CHUNK_DELAY_MS: '80', GODWIT_EXPORT_METRICS_INTERVAL_MS: '300' };
const SCHEMA = `
  CREATE TABLE events_log (id bigint PRIMARY KEY, payload text NOT NULL);
  INSERT INTO events_log SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g;
  CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL);
  INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 2000) g;`;

async function liveSource(prefix: string): Promise<{ db: string; exportDir: string }> {
  const db = await createDatabase(source, prefix);
  databases.push(db);
  await runSql(source, db, SCHEMA);
  const exportDir = newExportDir(prefix);
  await exportSchema(exportDir, db);
  return { db, exportDir };
}

/** Inserts new events_log ids and updates/deletes/inserts accounts, one small transaction at a time, until stopped. */
class Workload {
  private nextId: number;
  private running = true;
  private done: Promise<void> | undefined;
  private nextAccount: number;

  constructor(
    private readonly db: string,
    firstId: number,
  ) {
    this.nextId = firstId;
    this.nextAccount = firstId; // accounts ids of the workload's own range (the next workload starts past it)
  }

  start(): void {
    this.done = (async () => {
      const client = new pg.Client(adminConfig(source, this.db));
      await client.connect();
      try {
        for (let i = 0; this.running; i += 1) {
          const id = this.nextId;
          this.nextId += 3;
          await client.query('BEGIN');
          await client.query('INSERT INTO events_log VALUES ($1, $2), ($3, $4), ($5, $6)', [id, `w${id}`, id + 1, `w${id + 1}`, id + 2, `w${id + 2}`]);
          await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [1 + (i % 1500)]);
          if (i % 5 === 0) await client.query('DELETE FROM accounts WHERE id = $1', [1500 + (i % 500)]);
          if (i % 7 === 0) await client.query('INSERT INTO accounts VALUES ($1, 7)', [this.nextAccount++]);
          await client.query('COMMIT');
          if (i % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      } finally {
        await client.end();
      }
    })();
    this.done.catch(() => undefined); // awaited (and rethrown) by stop()
  }

  async stop(): Promise<number> {
    this.running = false;
    await this.done;
    return this.nextId;
  }
}

function storeOf(exportDir: string) {
  return openStore(join(exportDir, 'metainfo', 'godwit.db'));
}

async function readQueue(exportDir: string): Promise<ChangeEvent[]> {
  const store = storeOf(exportDir);
  const reader = openQueueReader({ store, queueDir: join(exportDir, 'data', 'queue'), stream: 'source-to-target' });
  const events: ChangeEvent[] = [];
  try {
    for (let batch = await reader.read(10_000); batch.length > 0; batch = await reader.read(10_000)) events.push(...batch);
  } finally {
    reader.close();
    store.close();
  }
  return events;
}

function slotName(exportDir: string): string {
  const store = storeOf(exportDir);
  try {
    const live = getLiveExport(store);
    if (live === undefined) throw new Error('no live export recorded');
    return live.slotName;
  } finally {
    store.close();
  }
}

/** Waits until the slot confirmed everything the source wrote so far (the queue caught up). */
async function waitCaughtUp(db: string, slot: string): Promise<void> {
  const lsn = (await query<{ lsn: string }>(source, db, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]?.lsn;
  await waitFor(
    async () =>
      (await query<{ ok: boolean }>(source, db, 'SELECT confirmed_flush_lsn >= $1::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $2', [lsn, slot]))[0]?.ok === true,
    60_000,
    'the slot to confirm the end of the workload',
  );
}

async function waitForLine(running: RunningGodwit, text: string, timeoutMs = 90_000): Promise<void> {
  let out = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  let exited = false;
  void running.done.then(() => (exited = true));
  await waitFor(() => out.includes(text) || exited, timeoutMs, `"${text}" on stdout`);
  if (!out.includes(text)) throw new Error(`godwit exited before "${text}": ${JSON.stringify(await running.done)}`);
}

/** Checks the queue (vsn 1..n) and that every events_log id is in the snapshot XOR the queue, once; accounts replay to the source. */
async function checkExactlyOnce(db: string, exportDir: string): Promise<{ snapshot: number; queued: number }> {
  const events = await readQueue(exportDir);
  events.forEach((event, index) => expect(event.vsn).toBe(index + 1));
  const snapshotIds = exportedLines(exportDir, '"public"."events_log"').map((line) => line.split('\t')[0]);
  const snapshotSet = new Set(snapshotIds);
  expect(snapshotSet.size).toBe(snapshotIds.length);
  const logEvents = events.filter((e) => e.table.name === 'events_log');
  expect(logEvents.every((e) => e.op === 'insert')).toBe(true);
  const queuedIds = logEvents.map((e) => String(e.newValues?.[0]));
  expect(new Set(queuedIds).size).toBe(queuedIds.length); // no duplicate in the queue
  expect(queuedIds.filter((id) => snapshotSet.has(id))).toEqual([]); // none in both
  const sourceIds = (await query<{ id: string }>(source, db, 'SELECT id::text AS id FROM events_log')).map((r) => r.id);
  expect(snapshotIds.length + queuedIds.length).toBe(sourceIds.length); // none missing
  expect(new Set([...snapshotIds, ...queuedIds])).toEqual(new Set(sourceIds));

  // accounts: the snapshot plus the queue's changes replayed in vsn order give the source's rows.
  const accounts = new Map(exportedLines(exportDir, '"public"."accounts"').map((line) => line.split('\t') as [string, string]));
  for (const e of events.filter((x) => x.table.name === 'accounts')) {
    if (e.op === 'delete') accounts.delete(String(e.oldKey?.[0]));
    else {
      if (e.oldKey !== null) accounts.delete(String(e.oldKey[0]));
      accounts.set(String(e.newValues?.[0]), String(e.newValues?.[1]));
    }
  }
  const expected = await query<{ id: string; balance: string }>(source, db, 'SELECT id::text AS id, balance::text AS balance FROM accounts');
  expect(accounts).toEqual(new Map(expected.map((r) => [r.id, r.balance])));
  return { snapshot: snapshotIds.length, queued: queuedIds.length };
}

describe('export data from source --export-type snapshot-and-changes', () => {
  it('a source that is not ready is refused with the fix, and nothing is created', async () => {
    const db = await createDatabase(source, 'live_notready');
    databases.push(db);
    await runSql(source, db, 'CREATE TABLE keyed (id int PRIMARY KEY); CREATE TABLE loose (a int, b text); INSERT INTO loose VALUES (1, $$x$$);');
    const exportDir = newExportDir('live-notready');
    await exportSchema(exportDir, db);
    const r = await exportData(exportDir, db, LIVE);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('NOT ready for change capture');
    expect(r.stderr).toMatch(/loose/);
    expect(r.stderr).toMatch(/REPLICA IDENTITY|PRIMARY KEY/);
    expect(await query(source, 'postgres', 'SELECT slot_name FROM pg_replication_slots WHERE database = $1', [db])).toEqual([]);
    expect(await query(source, db, 'SELECT pubname FROM pg_publication')).toEqual([]);
    const store = storeOf(exportDir);
    try {
      expect(getLiveExport(store)).toBeUndefined();
    } finally {
      store.close();
    }
  }, 60_000);

  const shared: { db?: string; exportDir?: string; nextId?: number } = {};

  it('snapshot and stream meet exactly under a concurrent workload; a graceful stop', async () => {
    const { db, exportDir } = await liveSource('live_exact');
    Object.assign(shared, { db, exportDir });
    const running = startGodwit(exportDataArgs(exportDir, db, LIVE), SLOW);
    const workload = new Workload(db, 1_000_000);
    await waitFor(() => exportedChunkCount(exportDir) >= 1, 60_000, 'the first exported chunk');
    workload.start(); // writes while the snapshot is read
    await waitForLine(running, 'streaming changes from replication slot');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // and after it
    shared.nextId = await workload.stop();
    await waitCaughtUp(db, slotName(exportDir));
    running.child.kill('SIGTERM');
    const r = await running.done;
    expect(r.stdout).toContain('total exported events');
    expect(r.stdout).toContain('export data from source: stopped');
    expect(r.code).toBe(0);
    const figures = await checkExactlyOnce(db, exportDir);
    expect(figures.queued).toBeGreaterThan(0);
    expect(figures.snapshot).toBe(20_000); // the workload started after the slot (and its snapshot) was created
    console.log(`live export: ${figures.snapshot} events_log rows in the snapshot, ${figures.queued} in the queue`);
  }, 180_000);

  it('SIGKILL while streaming, then the same command resumes from the slot: no duplicate, no gap', async () => {
    const { db, exportDir } = shared as { db: string; exportDir: string };
    expect(db).toBeDefined();
    const workload = new Workload(db, shared.nextId ?? 2_000_000);
    workload.start();
    for (let round = 0; round < 3; round += 1) {
      const running = startGodwit(exportDataArgs(exportDir, db, LIVE), SLOW);
      await waitForLine(running, 'resuming changes from replication slot');
      await new Promise((resolve) => setTimeout(resolve, 300 + Math.random() * 1200));
      running.child.kill('SIGKILL');
      await running.done;
    }
    const last = startGodwit(exportDataArgs(exportDir, db, LIVE), SLOW);
    await waitForLine(last, 'resuming changes from replication slot');
    await workload.stop();
    await waitCaughtUp(db, slotName(exportDir));
    last.child.kill('SIGINT');
    const r = await last.done;
    expect(r.code).toBe(0);
    const figures = await checkExactlyOnce(db, exportDir);
    console.log(`live export after 3 SIGKILLs: ${figures.snapshot} rows in the snapshot, ${figures.queued} in the queue`);
  }, 240_000);

  it('a restart while another session still holds the slot waits for its release, then streams: no duplicate, no gap', async () => {
    const { db, exportDir } = shared as { db: string; exportDir: string };
    expect(db).toBeDefined();
    // What a killed exporter leaves for a moment: its walsender, still streaming from the slot. The
    // restart's stream, started beside its checks, is refused; the checks wait; the stream starts again.
    const store = storeOf(exportDir);
    const live = getLiveExport(store);
    store.close();
    if (live === undefined) throw new Error('no live export recorded');
    const client = new pg.Client({ ...adminConfig(source, db), replication: 'database' } as pg.ClientConfig);
    await client.connect();
    const holder = await ReplicationConnection.fromClient(client);
    await holder.startReplication({ slotName: live.slotName, startLsn: 0n, publicationNames: [live.publicationName], protocolVersion: 1 });
    const holderPid = holder.backendPid;
    expect(holderPid).toBeGreaterThan(0);
    const workload = new Workload(db, (shared.nextId ?? 2_000_000) + 1_000_000);
    workload.start();
    const running = startGodwit(exportDataArgs(exportDir, db, LIVE), SLOW);
    const log = join(exportDir, 'logs', 'export-data-from-source.log');
    await waitFor(() => existsSync(log) && readFileSync(log, 'utf8').includes(`released by process ${holderPid}`), 60_000, 'the exporter to wait for the held slot');
    await holder.close();
    await waitForLine(running, 'resuming changes from replication slot');
    await workload.stop();
    await waitCaughtUp(db, live.slotName);
    running.child.kill('SIGINT');
    expect((await running.done).code).toBe(0);
    const figures = await checkExactlyOnce(db, exportDir);
    console.log(`live export after a restart that waited for the slot: ${figures.queued} events in the queue`);
  }, 240_000);

  it('SIGKILL while the snapshot is read: the re-run refuses, --start-clean --yes starts over', async () => {
    const { db, exportDir } = await liveSource('live_snapkill');
    const running = startGodwit(exportDataArgs(exportDir, db, LIVE), SLOW);
    await waitFor(() => exportedChunkCount(exportDir) >= 2, 60_000, 'exported chunks');
    running.child.kill('SIGKILL');
    await running.done;
    const again = await exportData(exportDir, db, LIVE, SLOW);
    expect(again.code).toBe(5);
    expect(again.stderr).toContain('cannot resume a snapshot');
    expect(again.stderr).toContain('--start-clean');

    const clean = startGodwit(exportDataArgs(exportDir, db, [...LIVE, '--start-clean', '--yes']), { ...SLOW, GODWIT_TEST_CHUNK_DELAY_MS: '5' });
    await waitForLine(clean, 'streaming changes from replication slot');
    await runSql(source, db, 'INSERT INTO events_log VALUES (5000000, $$after$$)');
    await waitCaughtUp(db, slotName(exportDir));
    clean.child.kill('SIGTERM');
    const r = await clean.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('dropped replication slot');
    // One slot and one publication: the old ones were dropped and made again.
    expect((await query(source, 'postgres', 'SELECT slot_name FROM pg_replication_slots WHERE database = $1', [db])).length).toBe(1);
    expect((await query(source, db, 'SELECT pubname FROM pg_publication')).length).toBe(1);
    const figures = await checkExactlyOnce(db, exportDir);
    expect(figures.queued).toBe(1);
  }, 180_000);
});
