// The readiness check on the harness's PostgreSQL 15 source (wal_level = logical), as a superuser:
// the tables' side. Every blocker is shown to be real (PostgreSQL itself refuses what godwit says it
// would) and every printed fix is run exactly as printed and shown to clear the finding.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotReadyError } from '../../src/core/errors.js';
import { assertCaptureReady, renderReadinessReport } from '../../src/engines/capture-readiness.js';
import { createDatabase, databaseSettings, dropDatabase, runSql, servers, withClient } from '../harness/index.js';
import { applyFix, checkOnSharedServer, checkReadiness, findingsOf, oneFinding, publicTables, rejection, uniqueName } from './helpers.js';

const source = servers().source;
let db: string;

const SCHEMA = `
  CREATE TABLE orders (id bigint PRIMARY KEY, note text);
  CREATE TABLE "Mixed Case" (id int PRIMARY KEY, total numeric, doubled numeric GENERATED ALWAYS AS (total * 2) STORED);
  CREATE TABLE events (id int NOT NULL, day int NOT NULL, note text, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
  CREATE TABLE events_a PARTITION OF events FOR VALUES FROM (0) TO (100);
  CREATE TABLE events_b PARTITION OF events FOR VALUES FROM (100) TO (200);
  CREATE TABLE with_unique (code text NOT NULL, note text);
  CREATE UNIQUE INDEX with_unique_code ON with_unique (code);
  CREATE TABLE with_nullable_unique (code text, note text);
  CREATE UNIQUE INDEX with_nullable_unique_code ON with_nullable_unique (code);
  CREATE TABLE no_key (note text);
  CREATE TABLE full_identity (id int, note text);
  ALTER TABLE full_identity REPLICA IDENTITY FULL;
  CREATE TABLE deferrable_key (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, note text);
  CREATE TABLE identity_nothing (id int PRIMARY KEY, note text);
  ALTER TABLE identity_nothing REPLICA IDENTITY NOTHING;
  CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY);
  CREATE TABLE readings (id int NOT NULL, at int NOT NULL, v text) PARTITION BY RANGE (at);
  CREATE TABLE readings_a PARTITION OF readings FOR VALUES FROM (0) TO (100);
  CREATE UNIQUE INDEX readings_id_at ON readings (id, at);
  CREATE TABLE metrics (id int NOT NULL, at int NOT NULL, v text) PARTITION BY RANGE (at);
  CREATE TABLE metrics_a PARTITION OF metrics FOR VALUES FROM (0) TO (100);
  ALTER TABLE metrics_a ADD PRIMARY KEY (id);
  ALTER TABLE metrics REPLICA IDENTITY FULL;
  INSERT INTO orders VALUES (1, 'a');
  INSERT INTO "Mixed Case" (id, total) VALUES (1, 2);
  INSERT INTO events VALUES (1, 1, 'a'), (2, 150, 'b');
  INSERT INTO with_unique VALUES ('a', 'x');
  INSERT INTO with_nullable_unique VALUES ('a', 'x');
  INSERT INTO deferrable_key VALUES (1, 'x');
  INSERT INTO identity_nothing VALUES (1, 'x');
`;

beforeAll(async () => {
  db = await createDatabase(source, 'readiness_tables');
  await runSql(source, db, SCHEMA);
});

afterAll(async () => {
  if (db) await dropDatabase(source, db);
});

const settings = () => databaseSettings(source, db);

/** Publishes `table` (via root), runs an UPDATE on it, drops the publication; returns the UPDATE's error, if any. */
async function updateWhilePublished(client: pg.ClientBase, table: string): Promise<unknown> {
  const publication = uniqueName('probe');
  await client.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table} WITH (publish_via_partition_root = true)`);
  try {
    await client.query(`UPDATE ${table} SET note = note`);
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.query(`DROP PUBLICATION ${publication}`);
  }
}

describe('capture readiness of tables', () => {
  it('finds a database of keyed tables ready, and the verdict holds: published, they take UPDATEs', async () => {
    const report = await checkOnSharedServer(settings(), { tables: publicTables('orders', 'Mixed Case', 'events') });
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(report.ready).toBe(true);
    expect(report).toMatchObject({ role: 'source', database: db, user: source.user });
    // Partitions under a keyed root need nothing; the generated column is a note about the member table.
    const generated = oneFinding(report, 'GENERATED_COLUMNS_NOT_STREAMED', '"public"."Mixed Case"');
    expect(generated).toMatchObject({ severity: 'info', fixes: [] });
    expect(generated.message).toContain('"doubled"');
    expect(renderReadinessReport(report).split('\n')[0]).toContain('is ready for change capture');
    expect(() => assertCaptureReady(report)).not.toThrow();
    // The shared server is set up for logical decoding (its slot and sender counts vary with other test files).
    const raw = await checkReadiness(settings(), { tables: publicTables('orders') });
    expect(findingsOf(raw, 'WAL_LEVEL_NOT_LOGICAL')).toEqual([]);
    expect(findingsOf(raw, 'MAX_SLOT_WAL_KEEP_SIZE')).toEqual([]);
    await withClient(source, db, async (client) => {
      for (const table of ['orders', 'events']) expect(await updateWhilePublished(client, table)).toBeUndefined();
    });
  });

  it('names the unique index on NOT NULL columns of a table without primary key, and its fix works', async () => {
    const report = await checkOnSharedServer(settings(), { tables: publicTables('with_unique') });
    const finding = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."with_unique"');
    expect(finding.severity).toBe('blocker');
    expect(report.ready).toBe(false);
    expect(finding.message).toContain('no primary key and REPLICA IDENTITY DEFAULT');
    expect(finding.fixes[0]?.sql).toEqual(['ALTER TABLE "public"."with_unique" REPLICA IDENTITY USING INDEX "with_unique_code"']);
    expect(finding.fixes.at(-1)?.sql).toEqual(['ALTER TABLE "public"."with_unique" REPLICA IDENTITY FULL']);
    expect(finding.fixes.at(-1)?.note).toContain('whole old row');
    await withClient(source, db, async (client) => {
      // The blocker is real: once published, PostgreSQL refuses the table's UPDATEs.
      expect(String(await updateWhilePublished(client, 'with_unique'))).toContain('does not have a replica identity');
      await applyFix(client, finding);
      expect(await updateWhilePublished(client, 'with_unique')).toBeUndefined();
    });
    const after = await checkOnSharedServer(settings(), { tables: publicTables('with_unique') });
    expect(after.findings).toEqual([]);
  });

  it('offers SET NOT NULL with the index when its columns are nullable, and only FULL or a new key when there is no index', async () => {
    const report = await checkOnSharedServer(settings(), { tables: publicTables('with_nullable_unique', 'no_key') });
    const nullable = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."with_nullable_unique"');
    expect(nullable.fixes[0]?.sql).toEqual([
      'ALTER TABLE "public"."with_nullable_unique" ALTER COLUMN "code" SET NOT NULL, REPLICA IDENTITY USING INDEX "with_nullable_unique_code"',
    ]);
    const bare = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."no_key"');
    expect(bare.fixes.map((fix) => fix.sql)).toEqual([[], ['ALTER TABLE "public"."no_key" REPLICA IDENTITY FULL']]);
    expect(bare.fixes[0]?.note).toContain('ADD PRIMARY KEY');
    await withClient(source, db, async (client) => {
      await applyFix(client, nullable);
      await applyFix(client, bare, 1);
    });
    const after = await checkOnSharedServer(settings(), { tables: publicTables('with_nullable_unique', 'no_key') });
    expect(findingsOf(after, 'TABLE_WITHOUT_REPLICA_IDENTITY')).toEqual([]);
    // FULL identifies rows, at a cost: a warning, not a blocker.
    expect(oneFinding(after, 'REPLICA_IDENTITY_FULL_COST', '"public"."no_key"').severity).toBe('warning');
    expect(after.ready).toBe(true);
  });

  it('warns about REPLICA IDENTITY FULL without blocking', async () => {
    const report = await checkOnSharedServer(settings(), { tables: publicTables('full_identity') });
    const finding = oneFinding(report, 'REPLICA_IDENTITY_FULL_COST', '"public"."full_identity"');
    expect(finding.severity).toBe('warning');
    expect(finding.message).toContain('whole old row');
    expect(report.ready).toBe(true);
  });

  it('sees that a DEFERRABLE primary key and REPLICA IDENTITY NOTHING identify nothing, and fixes both', async () => {
    const tables = publicTables('deferrable_key', 'identity_nothing');
    const report = await checkOnSharedServer(settings(), { tables });
    const deferrable = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."deferrable_key"');
    expect(deferrable.message).toContain('DEFERRABLE primary key "deferrable_key_pkey"');
    const nothing = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."identity_nothing"');
    expect(nothing.fixes[0]?.sql).toEqual(['ALTER TABLE "public"."identity_nothing" REPLICA IDENTITY DEFAULT']);
    await withClient(source, db, async (client) => {
      expect(String(await updateWhilePublished(client, 'deferrable_key'))).toContain('does not have a replica identity');
      await applyFix(client, deferrable);
      await applyFix(client, nothing);
      expect(await updateWhilePublished(client, 'deferrable_key')).toBeUndefined();
      expect(await updateWhilePublished(client, 'identity_nothing')).toBeUndefined();
    });
    expect((await checkOnSharedServer(settings(), { tables })).findings).toEqual([]);
  });

  it('checks the leaves of a partitioned table and its root, and that they agree', async () => {
    const report = await checkOnSharedServer(settings(), { tables: publicTables('readings', 'metrics') });
    // readings: neither the root nor its partition identifies rows; the partition has a usable index.
    const root = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."readings"');
    expect(root.message).toContain('publish_via_partition_root');
    const leaf = oneFinding(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."readings_a"');
    expect(leaf.message).toContain('partition of "public"."readings"');
    const [leafIndex] = await withClient(source, db, async (client) =>
      (await client.query<{ name: string }>(`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'readings_a'::regclass`)).rows,
    );
    expect(leaf.fixes[0]?.sql).toEqual([`ALTER TABLE "public"."readings_a" REPLICA IDENTITY USING INDEX "${leafIndex?.name}"`]);
    // metrics: the root says FULL, its partition logs only its key: the other side could not find rows.
    const mismatch = oneFinding(report, 'REPLICA_IDENTITY_MISMATCH', '"public"."metrics_a"');
    expect(mismatch.severity).toBe('blocker');
    expect(mismatch.fixes.at(-1)?.sql).toEqual(['ALTER TABLE "public"."metrics_a" REPLICA IDENTITY FULL']);
    expect(findingsOf(report, 'TABLE_WITHOUT_REPLICA_IDENTITY', '"public"."metrics_a"')).toEqual([]);

    await withClient(source, db, async (client) => {
      await client.query('ALTER TABLE readings ADD PRIMARY KEY (id, at)');
      await applyFix(client, mismatch, mismatch.fixes.length - 1);
    });
    const after = await checkOnSharedServer(settings(), { tables: publicTables('readings', 'metrics') });
    expect(after.findings.filter((f) => f.severity === 'blocker')).toEqual([]);
  });

  it('refuses unlogged and missing tables, quoting their names', async () => {
    const report = await checkOnSharedServer(settings(), { tables: [...publicTables('scratch'), { schema: 'Sales', name: 'Nope' }] });
    const unlogged = oneFinding(report, 'UNLOGGED_TABLE', '"public"."scratch"');
    expect(unlogged.fixes[0]?.sql).toEqual(['ALTER TABLE "public"."scratch" SET LOGGED']);
    expect(oneFinding(report, 'TABLE_NOT_FOUND', '"Sales"."Nope"').severity).toBe('blocker');
    await withClient(source, db, async (client) => {
      const refused = await rejection(client.query(`CREATE PUBLICATION ${uniqueName('probe')} FOR TABLE scratch`));
      expect((refused as { detail?: string }).detail).toContain('unlogged tables');
    });
  });

  it('prints blockers first, one line per finding with its fix, and refuses with exit code 7', async () => {
    const report = await checkOnSharedServer(settings(), { tables: publicTables('full_identity', 'scratch', 'Mixed Case', 'no_such') });
    const lines = renderReadinessReport(report).split('\n');
    expect(lines[0]).toMatch(/NOT ready for change capture: 2 blockers, 1 warning, 1 note\.$/);
    expect(lines.slice(1).map((line) => line.split(' ')[0])).toEqual(['BLOCKER', 'BLOCKER', 'WARNING', 'INFO']);
    expect(lines).toHaveLength(1 + report.findings.length);
    expect(lines.find((line) => line.includes('UNLOGGED_TABLE'))).toContain('Fix: ALTER TABLE "public"."scratch" SET LOGGED;');
    const error = (() => {
      try {
        assertCaptureReady(report);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(NotReadyError);
    expect((error as NotReadyError).exitCode).toBe(7);
    expect((error as NotReadyError).message).toContain('TABLE_NOT_FOUND table "public"."no_such"');
  });

  it('reads the tables fresh from the server, whatever list it is given', async () => {
    // A SourceTable from an older catalog read still counts only by name.
    const stale = { schema: 'public', name: 'orders', kind: 'ordinary', replicaIdentity: 'nothing' };
    const report = await checkOnSharedServer(settings(), { tables: [stale] });
    expect(report.findings).toEqual([]);
  });
});
