// The readiness check on the harness's PostgreSQL 15 source, the role's side: a user without the
// privileges a live capture needs gets each blocker, PostgreSQL confirms each one, and after the
// printed fixes the same user really creates the publication and a slot. Then godwit's own slot and
// publication when they already exist: a conflict on a first run, resumed on a restart.

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../../src/core/identifiers.js';
import { ReplicationConnection } from '../../src/engines/postgres/replication/index.js';
import { createDatabase, databaseSettings, dropDatabase, query, runSql, servers, withClient } from '../harness/index.js';
import { applyFix, blockerCodes, checkOnSharedServer, findingsOf, oneFinding, publicTables, rejection, uniqueName } from './helpers.js';

const source = servers().source;
let db: string;
const roles: string[] = [];

const SCHEMA = `
  CREATE TABLE accounts (id int PRIMARY KEY, note text);
  CREATE TABLE parts (id int NOT NULL, k int NOT NULL, PRIMARY KEY (id, k)) PARTITION BY RANGE (k);
  CREATE TABLE parts_a PARTITION OF parts FOR VALUES FROM (0) TO (10);
  CREATE TABLE extra (id int PRIMARY KEY);
`;

beforeAll(async () => {
  db = await createDatabase(source, 'readiness_roles');
  await runSql(source, db, SCHEMA);
});

afterAll(async () => {
  if (db) await dropDatabase(source, db);
  await withClient(source, 'postgres', async (client) => {
    for (const role of roles) await client.query(`DROP ROLE IF EXISTS ${quoteIdent(role)}`);
  });
});

interface TestRole {
  name: string;
  password: string;
}

/** A role with a name that needs quoting, dropped after the file. */
async function createRole(label: string, attributes = 'LOGIN'): Promise<TestRole> {
  const role = { name: `Godwit ${label} ${randomBytes(4).toString('hex')}`, password: randomBytes(12).toString('hex') };
  roles.push(role.name);
  await runSql(source, 'postgres', `CREATE ROLE ${quoteIdent(role.name)} ${attributes} PASSWORD '${role.password}'`);
  return role;
}

const asRole = (role: TestRole) => databaseSettings(source, db, { user: role.name, password: role.password });

function openReplication(role?: TestRole): Promise<ReplicationConnection> {
  const settings = role === undefined ? databaseSettings(source, db) : asRole(role);
  return ReplicationConnection.open(settings, { applicationName: 'godwit readiness test', retry: { attempts: 1 } });
}

describe('capture readiness of the role', () => {
  it('names each missing privilege of a plain user, and after the printed fixes the user creates publication and slot', async () => {
    const user = await createRole('reader');
    // Membership in a role that has REPLICATION does not give the attribute.
    const group = await createRole('replicators', 'NOLOGIN REPLICATION');
    await runSql(source, 'postgres', `GRANT ${quoteIdent(group.name)} TO ${quoteIdent(user.name)}`);
    const tables = publicTables('accounts', 'parts');
    const report = await checkOnSharedServer(asRole(user), { tables });
    const who = quoteIdent(user.name);

    const replication = oneFinding(report, 'MISSING_REPLICATION_PRIVILEGE', who);
    expect(replication.object.kind).toBe('role');
    expect(replication.fixes[0]?.sql).toEqual([`ALTER ROLE ${who} WITH REPLICATION`]);
    const create = oneFinding(report, 'MISSING_CREATE_PRIVILEGE', quoteIdent(db));
    expect(create.fixes[0]?.sql).toEqual([`GRANT CREATE ON DATABASE ${quoteIdent(db)} TO ${who}`]);
    const owners = findingsOf(report, 'NOT_TABLE_OWNER');
    // The publication names the root; its partitions' owners are not checked by PostgreSQL.
    expect(owners.map((f) => f.object.name).sort()).toEqual(['"public"."accounts"', '"public"."parts"']);
    expect(owners[0]?.message).toContain(`owned by ${quoteIdent(source.user)}`);
    const selects = findingsOf(report, 'MISSING_SELECT_PRIVILEGE');
    expect(selects.map((f) => f.object.name).sort()).toEqual(['"public"."accounts"', '"public"."parts"', '"public"."parts_a"']);
    expect(blockerCodes(report)).toEqual([
      'MISSING_CREATE_PRIVILEGE',
      'MISSING_REPLICATION_PRIVILEGE',
      ...Array<string>(3).fill('MISSING_SELECT_PRIVILEGE'),
      'NOT_TABLE_OWNER',
      'NOT_TABLE_OWNER',
    ]);

    // PostgreSQL agrees: no replication connection, no publication.
    expect(String(await rejection(openReplication(user)))).toMatch(/replication role|REPLICATION attribute/);
    await withClient(source, db, async (admin) => {
      await admin.query(`SET ROLE ${who}`);
      expect(String(await rejection(admin.query(`CREATE PUBLICATION ${uniqueName('probe')} FOR TABLE accounts`)))).toContain(
        'permission denied',
      );
      await admin.query('RESET ROLE');
      for (const finding of [replication, create, ...owners, ...selects]) await applyFix(admin, finding);
    });

    const after = await checkOnSharedServer(asRole(user), { tables });
    expect(after.findings).toEqual([]);
    // And the verdict holds: the same user publishes the tables and creates a slot.
    const publication = uniqueName('godwit_pub');
    await withClient(source, db, async (admin) => {
      await admin.query(`SET ROLE ${who}`);
      await admin.query(`CREATE PUBLICATION ${publication} FOR TABLE accounts, parts WITH (publish_via_partition_root = true)`);
      await admin.query('RESET ROLE');
    });
    const connection = await openReplication(user);
    try {
      const created = await connection.createSlot(uniqueName('godwit_probe'), { snapshot: 'nothing', temporary: true });
      expect(created.consistentPoint).toBeGreaterThan(0n);
    } finally {
      await connection.close();
      await runSql(source, db, `DROP PUBLICATION ${publication}`);
    }
  });

  it('accepts membership in the owning role, the second fix it prints', async () => {
    const team = await createRole('team', 'NOLOGIN');
    const user = await createRole('migrator', 'LOGIN REPLICATION');
    await runSql(source, db, `CREATE TABLE team_owned (id int PRIMARY KEY); ALTER TABLE team_owned OWNER TO ${quoteIdent(team.name)};
      GRANT CREATE ON DATABASE ${quoteIdent(db)} TO ${quoteIdent(user.name)}; GRANT SELECT ON team_owned TO ${quoteIdent(user.name)}`);
    const report = await checkOnSharedServer(asRole(user), { tables: publicTables('team_owned') });
    const owner = oneFinding(report, 'NOT_TABLE_OWNER', '"public"."team_owned"');
    expect(blockerCodes(report)).toEqual(['NOT_TABLE_OWNER']);
    expect(owner.fixes[1]?.sql).toEqual([`GRANT ${quoteIdent(team.name)} TO ${quoteIdent(user.name)}`]);
    await withClient(source, db, (admin) => applyFix(admin, owner, 1));
    expect((await checkOnSharedServer(asRole(user), { tables: publicTables('team_owned') })).findings).toEqual([]);
  });
});

describe("godwit's own slot and publication", () => {
  it('are a conflict on a first run, resumed on a restart, and missing or held is a blocker', async () => {
    const slotName = uniqueName('godwit_slot');
    const publicationName = uniqueName('godwit_pub');
    const tables = publicTables('accounts', 'parts');
    const settings = databaseSettings(source, db);
    await runSql(source, db, `CREATE PUBLICATION ${publicationName} FOR TABLE accounts, parts WITH (publish_via_partition_root = true)`);
    await runSql(source, db, `SELECT pg_create_logical_replication_slot('${slotName}', 'pgoutput')`);
    try {
      const first = await checkOnSharedServer(settings, { tables, slotName, publicationName, resume: false });
      expect(blockerCodes(first)).toEqual(['EXISTING_PUBLICATION', 'EXISTING_SLOT']);
      const existingSlot = oneFinding(first, 'EXISTING_SLOT', `"${slotName}"`);
      expect(existingSlot.fixes[0]?.sql).toEqual([`SELECT pg_drop_replication_slot('${slotName}')`]);
      expect(oneFinding(first, 'EXISTING_PUBLICATION', `"${publicationName}"`).fixes[0]?.sql).toEqual([`DROP PUBLICATION "${publicationName}"`]);

      const restart = await checkOnSharedServer(settings, { tables, slotName, publicationName, resume: true });
      expect(restart.ready).toBe(true);
      expect(oneFinding(restart, 'SLOT_RESUMED', `"${slotName}"`).message).toContain('confirmed up to');
      expect(oneFinding(restart, 'PUBLICATION_REUSED', `"${publicationName}"`).severity).toBe('info');

      // A restart that selects a table the publication never had: its earlier changes are lost.
      const wider = await checkOnSharedServer(settings, { tables: [...tables, ...publicTables('extra')], slotName, publicationName, resume: true });
      expect(oneFinding(wider, 'EXISTING_PUBLICATION', `"${publicationName}"`).message).toContain('does not publish "public"."extra"');

      // Held by a running stream: another exporter.
      const holder = await openReplication();
      try {
        await holder.startReplication({ slotName, startLsn: 0n, publicationNames: [publicationName] });
        const held = await checkOnSharedServer(settings, { tables, slotName, publicationName, resume: true });
        const inUse = oneFinding(held, 'SLOT_IN_USE', `"${slotName}"`);
        expect(inUse.fixes[0]?.sql[0]).toMatch(/^SELECT pg_terminate_backend\(\d+\)$/);
        // Held by this run's own stream (a restart starts it beside its checks): no conflict.
        const own = await checkOnSharedServer(settings, { tables, slotName, publicationName, resume: true, ownSenderPid: holder.backendPid });
        expect(oneFinding(own, 'SLOT_RESUMED', `"${slotName}"`).severity).toBe('info');
      } finally {
        await holder.close();
      }

      const gone = await checkOnSharedServer(settings, {
        tables,
        slotName: uniqueName('godwit_gone'),
        publicationName: uniqueName('godwit_gone'),
        resume: true,
      });
      expect(blockerCodes(gone)).toEqual(['PUBLICATION_MISSING', 'SLOT_MISSING']);

      // The printed fixes of the first run clear the way for a new start.
      await waitUntilInactive(slotName);
      await withClient(source, db, async (admin) => {
        await applyFix(admin, existingSlot);
        await applyFix(admin, oneFinding(first, 'EXISTING_PUBLICATION', `"${publicationName}"`));
      });
      expect((await checkOnSharedServer(settings, { tables, slotName, publicationName, resume: false })).findings).toEqual([]);
    } finally {
      await runSql(
        source,
        db,
        `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '${slotName}';
         DROP PUBLICATION IF EXISTS ${publicationName};`,
      );
    }
  });

  it('refuses a slot of godwit\'s name that is not a logical pgoutput slot, even on a restart', async () => {
    const slotName = uniqueName('godwit_phys');
    await runSql(source, db, `SELECT pg_create_physical_replication_slot('${slotName}')`);
    try {
      const report = await checkOnSharedServer(databaseSettings(source, db), { tables: publicTables('accounts'), slotName, resume: true });
      expect(oneFinding(report, 'EXISTING_SLOT', `"${slotName}"`).message).toContain('physical slot');
    } finally {
      await runSql(source, db, `SELECT pg_drop_replication_slot('${slotName}')`);
    }
  });
});

async function waitUntilInactive(slotName: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [row] = await query<{ active: boolean }>(source, db, 'SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
    if (row?.active !== true) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`slot ${slotName} stayed active`);
}
