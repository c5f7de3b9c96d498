// Slots against PostgreSQL 15: the snapshot exported by CREATE_REPLICATION_SLOT joined by another
// session while the creating connection stays idle, then the stream from the consistent point
// carries exactly what the snapshot does not (invariant 1 at the engine level); the older
// EXPORT_SNAPSHOT syntax; dropping; and the typed errors for a missing slot, a slot in use, an
// existing slot and a missing publication; and waiting for a slot a stopped session still holds.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GodwitError } from '../../src/core/errors.js';
import { formatLsn } from '../../src/core/lsn.js';
import { createSlotCommand } from '../../src/engines/postgres/replication/replication-commands.js';
import { ReplicationConnection, ReplicationError } from '../../src/engines/postgres/replication/index.js';
import { waitForSlotRelease } from '../../src/engines/postgres/replication/slot-state.js';
import { createDatabase, databaseSettings, dropDatabase, query, runSql, servers } from '../harness/index.js';
import { dropSlots, insertedIds, openReplication, readTransactions, slotRow, source, uniqueSlotName, withSourceSession } from './helpers.js';

let db: string;
const slots: string[] = [];
const connections: ReplicationConnection[] = [];

beforeAll(async () => {
  db = await createDatabase(source, 'repl_slots');
  await runSql(source, db, `
    CREATE TABLE items (id int PRIMARY KEY);
    INSERT INTO items SELECT generate_series(1, 3);
    CREATE PUBLICATION godwit_pub FOR TABLE items;`);
});

afterAll(async () => {
  for (const connection of connections) await connection.close();
  await dropSlots(slots);
  if (db) await dropDatabase(source, db);
});

async function open(): Promise<ReplicationConnection> {
  const connection = await openReplication(db);
  connections.push(connection);
  return connection;
}

function newSlotName(prefix: string): string {
  const slot = uniqueSlotName(prefix);
  slots.push(slot);
  return slot;
}

async function failure(promise: Promise<unknown>): Promise<ReplicationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ReplicationError);
  return error as ReplicationError;
}

describe('replication slots', () => {
  it('the exported snapshot and the stream from the consistent point meet exactly', async () => {
    const connection = await open();
    const slot = newSlotName('slot_snap');
    const created = await connection.createSlot(slot);
    expect(created.snapshotName).toMatch(/^[0-9A-F]+-[0-9A-F]+-\d+$/);
    expect(created.outputPlugin).toBe('pgoutput');
    expect(created.consistentPoint).toBeGreaterThan(0n);
    expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(created.consistentPoint));

    // Writes after the slot exists belong to the stream, not the snapshot.
    await runSql(source, db, 'INSERT INTO items VALUES (4); DELETE FROM items WHERE id = 1;');
    const inSnapshot = await withSourceSession(db, async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`SET TRANSACTION SNAPSHOT '${created.snapshotName}'`);
      const rows = (await client.query<{ id: number }>('SELECT id FROM items ORDER BY id')).rows.map((r) => r.id);
      await client.query('COMMIT');
      return rows;
    });
    expect(inSnapshot).toEqual([1, 2, 3]);

    // Any command would end the snapshot: refused until the owner releases it.
    expect(connection.snapshotHeld).toBe(created.snapshotName);
    await expect(connection.readSlot(slot)).rejects.toBeInstanceOf(GodwitError);
    await expect(connection.startReplication({ slotName: slot, startLsn: created.consistentPoint, publicationNames: ['godwit_pub'] })).rejects.toThrow(
      /holds the exported snapshot/,
    );
    connection.releaseSnapshot();

    const stream = await connection.startReplication({ slotName: slot, startLsn: created.consistentPoint, publicationNames: ['godwit_pub'] });
    const [transaction] = await readTransactions(stream, 1);
    expect(transaction?.changes.map((c) => c.tag)).toEqual(['insert', 'delete']);
    expect(insertedIds([transaction!])).toEqual(['4']);
    expect(transaction?.changes[1]).toMatchObject({ tag: 'delete', oldTuple: ['1'] });

    // Once the creating session ran another command, the snapshot can no longer be joined.
    const late = await withSourceSession(db, async (client) => {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return client.query(`SET TRANSACTION SNAPSHOT '${created.snapshotName}'`).then(
        () => 'joined',
        (error: unknown) => String(error),
      );
    });
    expect(late).toMatch(/invalid snapshot identifier/);
    await stream.stop();

    // After a clean stop the connection runs commands again.
    expect((await connection.readSlot(slot))?.active).toBe(false);
    expect(await connection.dropSlot(slot)).toBe(true);
    expect(await connection.dropSlot(slot)).toBe(false);
  });

  it('the older EXPORT_SNAPSHOT syntax (servers before 15) works too', async () => {
    const connection = await open();
    const slot = newSlotName('slot_old');
    const text = createSlotCommand(slot, { snapshot: 'export' }, { ...connection.server, versionNum: 140_000 });
    expect(text).toBe(`CREATE_REPLICATION_SLOT ${slot} LOGICAL pgoutput EXPORT_SNAPSHOT`);
    const result = await connection.client.query<{ consistent_point: string; snapshot_name: string | null }>(text);
    expect(result.rows[0]?.snapshot_name).toBeTruthy();
    expect((await query(source, db, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).length).toBe(1);
  });

  it('a temporary slot lives as long as its connection', async () => {
    const connection = await openReplication(db);
    const slot = newSlotName('slot_temp');
    await connection.createSlot(slot, { temporary: true, snapshot: 'nothing' });
    expect((await connection.readSlot(slot))?.temporary).toBe(true);
    await connection.close();
    expect(await query(source, db, 'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).toEqual([]);
  });

  it('streams over TLS like over plain TCP (the socket taken over is the TLS one)', async () => {
    const connection = await ReplicationConnection.open(databaseSettings(source, db, { sslMode: 'verify-full', sslRootCert: servers().certificates.caCert }), {
      applicationName: 'godwit replication test',
      retry: { attempts: 1 },
    });
    connections.push(connection);
    const [ssl] = await query<{ ssl: boolean }>(
      source,
      'postgres',
      "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'godwit replication test' AND a.backend_type = 'walsender' AND s.ssl",
    );
    expect(ssl?.ssl).toBe(true);
    const slot = newSlotName('slot_tls');
    const created = await connection.createSlot(slot, { snapshot: 'nothing' });
    const stream = await connection.startReplication({ slotName: slot, startLsn: created.consistentPoint, publicationNames: ['godwit_pub'] });
    await runSql(source, db, `INSERT INTO items SELECT generate_series(1000, 1999)`);
    const [transaction] = await readTransactions(stream, 1);
    expect(insertedIds([transaction!])).toHaveLength(1000);
    stream.confirmFlushed(transaction!.commit.endLsn);
    await stream.stop();
    expect(formatLsn((await slotRow(slot)).confirmedFlushLsn ?? 0n)).toBe(formatLsn(transaction!.commit.endLsn));
  });

  it('typed errors: missing slot, existing slot, slot in use, bad names, missing publication', async () => {
    const connection = await open();
    const missing = await failure(connection.startReplication({ slotName: 'godwit_no_such_slot', startLsn: 0n, publicationNames: ['godwit_pub'] }));
    expect(missing).toMatchObject({ reason: 'slot-missing', resumable: false });
    expect(missing.message).toContain('"godwit_no_such_slot" does not exist');
    expect(await connection.dropSlot('godwit_no_such_slot')).toBe(false);

    const slot = newSlotName('slot_busy');
    await connection.createSlot(slot, { snapshot: 'nothing' });
    expect(await failure(connection.createSlot(slot, { snapshot: 'nothing' }))).toMatchObject({ reason: 'slot-exists' });

    await expect(connection.startReplication({ slotName: 'Bad Name', startLsn: 0n, publicationNames: ['godwit_pub'] })).rejects.toThrow(
      /not a valid replication slot name/,
    );

    const stream = await connection.startReplication({ slotName: slot, startLsn: 0n, publicationNames: ['godwit_pub'] });
    const other = await open();
    const busy = await failure(other.startReplication({ slotName: slot, startLsn: 0n, publicationNames: ['godwit_pub'] }));
    expect(busy).toMatchObject({ reason: 'slot-in-use', resumable: true, sqlState: '55006' });
    await stream.stop();

    // The server checks publications when it decodes the first change.
    const third = await open();
    const noPublication = await third.startReplication({ slotName: slot, startLsn: 0n, publicationNames: ['godwit_no_such_pub'] });
    await runSql(source, db, 'INSERT INTO items VALUES (100)');
    const error = await failure(
      (async () => {
        for (;;) await noPublication.next(); // keepalives first, then the error
      })(),
    );
    expect(error).toMatchObject({ reason: 'server-error', sqlState: '42704' });
    expect(error.message).toContain('publication "godwit_no_such_pub" does not exist');
  });

  it('a resuming exporter waits for a slot still held by a stopped session, and only for a while', async () => {
    const creator = await open();
    const slot = newSlotName('slot_release');
    await creator.createSlot(slot);
    creator.releaseSnapshot();
    const holder = await open();
    await holder.startReplication({ slotName: slot, startLsn: 0n, publicationNames: ['godwit_pub'] });
    const pids: (number | undefined)[] = [];
    const stillHeld = await withSourceSession(db, (client) =>
      waitForSlotRelease(client, slot, { timeoutMs: 300, onWait: (pid) => pids.push(pid) }),
    );
    expect(stillHeld?.active).toBe(true);
    expect(pids).toHaveLength(1);
    expect(pids[0]).toBe(stillHeld?.activePid);

    setTimeout(() => void holder.close(), 400);
    const started = Date.now();
    const released = await withSourceSession(db, (client) => waitForSlotRelease(client, slot, { timeoutMs: 15_000 }));
    expect(released?.active).toBe(false);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
