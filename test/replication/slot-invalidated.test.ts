// A slot the server invalidates (wal_status = lost) is reported as such, never restarted silently.
// Needs max_slot_wal_keep_size, a server-wide setting, so this file starts its own PostgreSQL 15
// rather than changing the shared one.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '../../src/core/database-settings.js';
import type { EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { databaseSettings } from '../harness/index.js';
import { startPrivateServer, type PrivateServer } from '../harness/private-server.js';
import { startReplicationCommand } from '../../src/engines/postgres/replication/replication-commands.js';
import { toReplicationError } from '../../src/engines/postgres/replication/replication-errors.js';
import { ReplicationConnection, ReplicationError } from '../../src/engines/postgres/replication/index.js';

let own: PrivateServer | undefined;
let server: EmbeddedServer | undefined;
const connections: ReplicationConnection[] = [];

beforeAll(async () => {
  own = await startPrivateServer('slot-lost', { max_slot_wal_keep_size: '1MB', wal_keep_size: 0 });
  server = own.server;
}, 120_000);

afterAll(async () => {
  for (const connection of connections) await connection.close();
  await own?.remove();
});

function settings(): DatabaseSettings {
  return databaseSettings(server as EmbeddedServer, 'postgres');
}

async function open(): Promise<ReplicationConnection> {
  const connection = await ReplicationConnection.open(settings(), { applicationName: 'godwit slot-lost test', retry: { attempts: 1 } });
  connections.push(connection);
  return connection;
}

async function sql(text: string): Promise<pg.QueryResult> {
  const client = new pg.Client((server as EmbeddedServer).connectionConfig());
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

describe('an invalidated slot', () => {
  it('ends the running stream as resumable, then is refused as slot-invalidated, with the reason', async () => {
    await sql('CREATE TABLE filler (id serial PRIMARY KEY, payload text); CREATE PUBLICATION godwit_pub FOR TABLE filler');
    const first = await open();
    const created = await first.createSlot('godwit_lost', { snapshot: 'nothing' });
    const stream = await first.startReplication({ slotName: 'godwit_lost', startLsn: created.consistentPoint, publicationNames: ['godwit_pub'] });
    const reading = (async (): Promise<unknown> => {
      try {
        for (;;) await stream.next(); // the owner confirms nothing: the slot holds its WAL
      } catch (error) {
        return error;
      }
    })();

    // Move the WAL past the slot's reserve: new segments, then a checkpoint removes the old ones.
    for (let i = 0; i < 3; i++) {
      await sql(`INSERT INTO filler (payload) SELECT repeat('w', 500) FROM generate_series(1, 2000); SELECT pg_switch_wal();`);
    }
    await sql('CHECKPOINT');
    const [row] = (await sql(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'godwit_lost'`)).rows as { wal_status: string }[];
    expect(row?.wal_status).toBe('lost');

    // The server ended the session holding the slot: to the stream that is a lost connection.
    const ended = await reading;
    expect(ended).toBeInstanceOf(ReplicationError);
    expect(ended).toMatchObject({ reason: 'connection-lost', resumable: true });

    // Resuming finds out what happened, and says it.
    const second = await open();
    expect((await second.readSlot('godwit_lost'))?.walStatus).toBe('lost');
    const refused = await second.startReplication({ slotName: 'godwit_lost', startLsn: 0n, publicationNames: ['godwit_pub'] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ReplicationError);
    expect(refused).toMatchObject({ reason: 'slot-invalidated', resumable: false, exitCode: 1 });
    expect((refused as ReplicationError).message).toContain('wal_status = lost');
    expect((refused as ReplicationError).hint).toContain('max_slot_wal_keep_size');

    // The server's own refusal, without godwit's check first, maps to the same reason.
    const raw = await second.client
      .query(startReplicationCommand({ slotName: 'godwit_lost', startLsn: 0n, publicationNames: ['godwit_pub'] }, second.server))
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(String(raw)).toMatch(/cannot read from logical replication slot|can no longer get changes from replication slot/);
    expect(toReplicationError(raw, { what: 'starting replication', slotName: 'godwit_lost' }).reason).toBe('slot-invalidated');

    expect(await second.dropSlot('godwit_lost')).toBe(true);
  });
});
