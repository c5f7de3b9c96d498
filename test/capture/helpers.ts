// Shared by the capture tests: a database of its own on the harness's PostgreSQL 15 source with a
// publication (leaf partitions published as their root) and a pgoutput slot, a temporary store and
// queue directory, a capture running in this process that can be aborted, and the queue read back.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCapture, type CaptureResult, type RunCaptureOptions } from '../../src/capture/index.js';
import { openQueueReader } from '../../src/capture/queue/segment-reader.js';
import { openQueueWriter, type QueueWriter } from '../../src/capture/queue/segment-writer.js';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { parseLsn, type Lsn } from '../../src/core/lsn.js';
import { ReplicationConnection, ReplicationError, type ReplicationStream } from '../../src/engines/postgres/replication/index.js';
import { getQueueStreamHead } from '../../src/state/queue-store.js';
import { openStore, type MigrationStore } from '../../src/state/store.js';
import { createDatabase, databaseSettings, dropDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { startTsChild as startTsChildAt, type TsChild } from '../helpers/ts-child.js';

export type { TsChild } from '../helpers/ts-child.js';

export const source: HarnessServer = servers().source;
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** One test's database, publication, slot, store and queue directory. */
export interface CaptureSetup {
  db: string;
  publication: string;
  slot: string;
  root: string;
  storeFile: string;
  queueDir: string;
  store: MigrationStore;
  /** Runs SQL on the source database (one session, simple protocol). */
  sql(text: string): Promise<void>;
  /** Drops slot, publication (with the database) and the temporary directory. */
  cleanup(): Promise<void>;
}

/** A unique lower-case suffix for names. */
export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

/** Creates the database with `schemaSql`, then a publication for `tables` (publish_via_partition_root) and a pgoutput slot. */
export async function setupCapture(prefix: string, schemaSql: string, tables: string): Promise<CaptureSetup> {
  const db = await createDatabase(source, `cap_${prefix}`);
  const suffix = uniqueSuffix();
  const publication = `godwit_pub_${suffix}`;
  const slot = `godwit_${prefix}_${suffix}`.slice(0, 63);
  await runSql(source, db, schemaSql);
  await runSql(source, db, `CREATE PUBLICATION ${publication} FOR TABLE ${tables} WITH (publish_via_partition_root = true)`);
  const connection = await openReplication(db);
  try {
    await connection.createSlot(slot, { snapshot: 'nothing' });
  } finally {
    await connection.close();
  }
  const root = mkdtempSync(join(tmpdir(), `godwit-capture-${prefix}-`));
  const queueDir = join(root, 'data', 'queue');
  mkdirSync(queueDir, { recursive: true });
  const storeFile = join(root, 'godwit.db');
  const store = openStore(storeFile);
  return {
    db,
    publication,
    slot,
    root,
    storeFile,
    queueDir,
    store,
    sql: (text) => runSql(source, db, text),
    cleanup: async () => {
      store.close();
      await dropDatabase(source, db); // also ends the slot's walsender and drops the slot
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A replication connection to the test database. */
export function openReplication(db: string): Promise<ReplicationConnection> {
  return ReplicationConnection.open(databaseSettings(source, db), { applicationName: 'godwit capture test', retry: { attempts: 1 } });
}

/** Opens a connection and starts streaming (protocol version 1) from the slot's confirmed position, waiting while a killed walsender still holds the slot. */
export async function startStream(
  setup: Pick<CaptureSetup, 'db' | 'slot' | 'publication'>,
  sessionSql: string[] = [],
): Promise<{ connection: ReplicationConnection; stream: ReplicationStream; confirmed: Lsn | undefined }> {
  for (let attempt = 0; ; attempt += 1) {
    const connection = await openReplication(setup.db);
    try {
      for (const text of sessionSql) await connection.client.query(text);
      const confirmed = (await connection.readSlot(setup.slot))?.confirmedFlushLsn;
      const stream = await connection.startReplication({ slotName: setup.slot, startLsn: 0n, publicationNames: [setup.publication], protocolVersion: 1 });
      return { connection, stream, confirmed };
    } catch (error) {
      await connection.close();
      if (!(error instanceof ReplicationError && error.reason === 'slot-in-use') || attempt > 100) throw error;
      await sleep(100);
    }
  }
}

/** A capture running in this process. */
export interface RunningCapture {
  writer: QueueWriter;
  stream: ReplicationStream;
  connection: ReplicationConnection;
  done: Promise<CaptureResult>;
  /** Aborts and waits for the end (and closes writer and connection). */
  stop(): Promise<CaptureResult>;
  /** Waits for the end whatever it is (a thrown error is returned), then closes writer and connection. */
  settled(): Promise<CaptureResult | Error>;
}

/** Opens the queue writer and a stream (after `sessionSql` in the walsender session), and runs runCapture until stop(). */
export async function startCapture(setup: CaptureSetup, options: Partial<RunCaptureOptions> = {}, sessionSql: string[] = []): Promise<RunningCapture> {
  const writer = openQueueWriter({ store: setup.store, queueDir: setup.queueDir, stream: 'source-to-target' });
  const { connection, stream, confirmed } = await startStream(setup, sessionSql);
  const controller = new AbortController();
  const done = runCapture({ stream, queue: writer, signal: controller.signal, slotConfirmedLsn: confirmed, groupCommit: { maxDelayMs: 20 }, ...options });
  done.catch(() => undefined); // a stop is awaited by the test later; it is not an unhandled rejection
  let closed: Promise<CaptureResult | Error> | undefined;
  const settled = (): Promise<CaptureResult | Error> =>
    (closed ??= done
      .then(
        (result) => result as CaptureResult | Error,
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      )
      .then(async (outcome) => {
        await writer.close();
        await connection.close();
        return outcome;
      }));
  return {
    writer,
    stream,
    connection,
    done,
    settled,
    stop: async () => {
      controller.abort();
      const outcome = await settled();
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}

/** Every committed event of the queue, in vsn order. */
export async function readQueue(store: MigrationStore, queueDir: string): Promise<ChangeEvent[]> {
  const reader = openQueueReader({ store, queueDir, stream: 'source-to-target' });
  const events: ChangeEvent[] = [];
  try {
    for (let batch = await reader.read(10_000); batch.length > 0; batch = await reader.read(10_000)) events.push(...batch);
  } finally {
    reader.close();
  }
  return events;
}

/** The queue's durable head. */
export function queueHead(store: MigrationStore): { lastVsn: number; lastEndLsn: string | null } {
  return getQueueStreamHead(store, 'source-to-target');
}

/** Waits until the queue holds at least `vsn` durable events. */
export async function waitForVsn(store: MigrationStore, vsn: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (queueHead(store).lastVsn < vsn) {
    if (Date.now() > deadline) throw new Error(`the queue reached vsn ${queueHead(store).lastVsn}, not ${vsn}, within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** The slot's confirmed position on the server. */
export async function slotConfirmed(slot: string): Promise<Lsn | undefined> {
  const rows = await query<{ lsn: string | null }>(source, 'postgres', 'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  const text = rows[0]?.lsn;
  return text === null || text === undefined ? undefined : parseLsn(text);
}

/** Polls until `check` passes (it throws while not), or fails with its last error. */
export async function eventually(check: () => Promise<void> | void, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}

/** The parts of an event a test compares (vsn, LSN, xid and time are checked separately). */
export function summary(event: ChangeEvent): { table: string; op: string; key: readonly string[]; new: unknown; old: unknown } {
  return {
    table: `${event.table.schema}.${event.table.name}`,
    op: event.op,
    key: event.keyColumns,
    new: event.newValues === null ? null : Object.fromEntries(event.columns.map((name, index) => [name, event.newValues?.[index]])),
    old: event.oldKey,
  };
}

/** Checks vsns are 1..n without gaps. */
export function assertContiguous(events: ChangeEvent[]): void {
  events.forEach((event, index) => {
    if (event.vsn !== index + 1) throw new Error(`event ${index} has vsn ${event.vsn}`);
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TypeScript child process (vite-node, no build needed) whose stdout lines can be awaited. */
/** Starts `vite-node test/capture/<file>` with extra environment variables. */
export function startTsChild(file: string, env: Record<string, string>): TsChild {
  return startTsChildAt(join('capture', file), { env, lineTimeoutMs: 60_000 });
}
