// The server-wide conditions, on a private PostgreSQL 15 that this file starts itself (the shared
// one must stay logical): wal_level = replica, max_replication_slots = 1 with that slot taken,
// max_wal_senders = 1, max_slot_wal_keep_size = 1GB. PostgreSQL confirms each blocker.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '../../src/core/database-settings.js';
import { NotReadyError } from '../../src/core/errors.js';
import type { EmbeddedServer } from '../../src/embedded/embedded-server.js';
import { databaseSettings } from '../harness/index.js';
import { startPrivateServer, type PrivateServer } from '../harness/private-server.js';
import { assertCaptureReady, renderReadinessReport, withoutFinding } from '../../src/engines/capture-readiness.js';
import { checkPostgresCaptureReadiness } from '../../src/engines/postgres/readiness/check-readiness.js';
import { ReplicationConnection } from '../../src/engines/postgres/replication/index.js';
import { parseServerInfo } from '../../src/engines/postgres/server-info.js';
import { blockerCodes, checkReadiness, findingsOf, oneFinding, publicTables, rejection } from './helpers.js';

let own: PrivateServer | undefined;
let server: EmbeddedServer | undefined;

beforeAll(async () => {
  own = await startPrivateServer('readiness', { wal_level: 'replica', max_replication_slots: 1, max_wal_senders: 1, max_slot_wal_keep_size: '1GB' });
  server = own.server;
  await sql('CREATE TABLE items (id int PRIMARY KEY, note text)');
  await sql(`SELECT pg_create_physical_replication_slot('taken_slot')`);
}, 120_000);

afterAll(async () => {
  await own?.remove();
});

function settings(): DatabaseSettings {
  return databaseSettings(server as EmbeddedServer, 'postgres');
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

describe('a server not set up for logical decoding', () => {
  it('is refused with WAL_LEVEL_NOT_LOGICAL and NO_FREE_REPLICATION_SLOT, each with its fix', async () => {
    const report = await checkReadiness(settings(), { tables: publicTables('items') });
    expect(blockerCodes(report)).toEqual(['NO_FREE_REPLICATION_SLOT', 'WAL_LEVEL_NOT_LOGICAL']);

    const walLevel = oneFinding(report, 'WAL_LEVEL_NOT_LOGICAL', 'wal_level');
    expect(walLevel.object.kind).toBe('setting');
    expect(walLevel.message).toContain('wal_level is replica');
    expect(walLevel.fixes[0]).toMatchObject({ sql: ['ALTER SYSTEM SET wal_level = logical'], restart: true });

    const slots = oneFinding(report, 'NO_FREE_REPLICATION_SLOT', 'max_replication_slots');
    expect(slots.message).toContain('max_replication_slots is 1 and 1 slot exists');
    expect(slots.message).toContain('"taken_slot" (physical, inactive)');
    expect(slots.fixes[0]).toMatchObject({ sql: ['ALTER SYSTEM SET max_replication_slots = 2'], restart: true });
    expect(slots.fixes[1]?.sql).toEqual([`SELECT pg_drop_replication_slot('taken_slot')`]);

    // The 1GB limit is below the default threshold of 16 GiB.
    const keep = oneFinding(report, 'MAX_SLOT_WAL_KEEP_SIZE', 'max_slot_wal_keep_size');
    expect(keep.severity).toBe('warning');
    expect(keep.message).toContain('max_slot_wal_keep_size is 1GB');

    const text = renderReadinessReport(report).split('\n');
    expect(text[1]).toMatch(/^BLOCKER WAL_LEVEL_NOT_LOGICAL setting wal_level: .* Fix: ALTER SYSTEM SET wal_level = logical; then restart the server/);
    expect(text[3]).toMatch(/^WARNING MAX_SLOT_WAL_KEEP_SIZE/);
    const refused = (() => {
      try {
        assertCaptureReady(report);
        return undefined;
      } catch (error) {
        return error;
      }
    })();
    expect(refused).toBeInstanceOf(NotReadyError);
    expect((refused as NotReadyError).exitCode).toBe(7);

    // PostgreSQL agrees: no logical slot here, and no slot at all is free.
    expect(String(await rejection(sql(`SELECT pg_create_logical_replication_slot('godwit_probe', 'pgoutput')`)))).toMatch(
      /wal_level|all replication slots are in use/,
    );
    expect(String(await rejection(sql(`SELECT pg_create_physical_replication_slot('godwit_probe')`)))).toContain(
      'all replication slots are in use',
    );
  });

  it('does not warn about max_slot_wal_keep_size above the threshold it is given', async () => {
    const report = await checkReadiness(settings(), { tables: publicTables('items'), slotWalKeepWarningBytes: 1024 ** 3 });
    expect(findingsOf(report, 'MAX_SLOT_WAL_KEEP_SIZE')).toEqual([]);
  });

  it('reports NO_FREE_WAL_SENDER while the only WAL sender is taken', async () => {
    const holder = await ReplicationConnection.open(settings(), { applicationName: 'godwit readiness test', retry: { attempts: 1 } });
    try {
      const report = await checkReadiness(settings(), { tables: publicTables('items') });
      const senders = oneFinding(report, 'NO_FREE_WAL_SENDER', 'max_wal_senders');
      expect(senders.message).toContain('max_wal_senders is 1 and 1 WAL senders are running');
      expect(senders.fixes[0]).toMatchObject({ sql: ['ALTER SYSTEM SET max_wal_senders = 2'], restart: true });
      // A resuming export whose own replication session holds that sender drops this finding, and only it (live-export.ts).
      const resumed = withoutFinding(report, 'NO_FREE_WAL_SENDER');
      expect(findingsOf(resumed, 'NO_FREE_WAL_SENDER')).toEqual([]);
      expect(resumed.findings).toHaveLength(report.findings.length - 1);
      expect(resumed.ready).toBe(false); // wal_level = replica still blocks
      // PostgreSQL agrees: a second replication connection is refused.
      const second = ReplicationConnection.open(settings(), { applicationName: 'godwit readiness test', retry: { attempts: 1 } });
      expect(String(await rejection(second))).toMatch(/WAL senders|wal_sender/i);
    } finally {
      await holder.close();
    }
    await waitFor(async () => {
      const report = await checkReadiness(settings(), { tables: publicTables('items') });
      return findingsOf(report, 'NO_FREE_WAL_SENDER').length === 0;
    });
  });

  it('says when a new wal_level waits for a restart', async () => {
    await sql('ALTER SYSTEM SET wal_level = logical');
    try {
      await sql('SELECT pg_reload_conf()');
      await waitFor(async () => {
        const report = await checkReadiness(settings(), { tables: publicTables('items') });
        return oneFinding(report, 'WAL_LEVEL_NOT_LOGICAL', 'wal_level').message.includes('waits for a restart');
      });
    } finally {
      await sql('ALTER SYSTEM RESET wal_level');
      await sql('SELECT pg_reload_conf()');
    }
  });

  it('skips the WAL and slot settings on YugabyteDB, and says so', async () => {
    // A PostgreSQL server described as YugabyteDB: the checks that do not apply there are not run.
    const connection = new pg.Client((server as EmbeddedServer).connectionConfig());
    await connection.connect();
    try {
      const yugabyte = parseServerInfo('PostgreSQL 15.12-YB-2025.2.4.0-b0 on x86_64-pc-linux-gnu', 150_012);
      const report = await checkPostgresCaptureReadiness(
        connection,
        yugabyte,
        { tables: publicTables('items'), slotName: 'godwit_yb', publicationName: 'godwit_yb', resume: false },
        { role: 'source' },
      );
      expect(report.findings.map((f) => f.code)).toEqual(['CHECKS_SKIPPED']);
      expect(report.findings[0]?.message).toContain('wal_level');
    } finally {
      await connection.end();
    }
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
