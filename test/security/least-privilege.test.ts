// The least-privilege setup scripts shipped in sql/least-privilege/ (issue 7): migration users made
// by them, neither superuser, run the live migration as a user would (export schema, import schema,
// snapshot and changes under a workload, cutover to target with fall-back, the fall-back stream, cutover
// to source) against tables owned by another role on the source. The result must be identical data at
// each cutover, and the users must not have gained anything the scripts do not grant.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { adminConfig, createDatabase, dropDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, stopAfterHandOver } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { schemaPhase } from '../helpers/migration-cli.js';

const run = promisify(execFile);
const { source, target } = servers();
const SCRIPTS = fileURLToPath(new URL('../../sql/least-privilege/', import.meta.url));
const suffix = randomBytes(3).toString('hex');
const owner = `app_owner_${suffix}`;
const sourceUser = `godwit_src_${suffix}`;
const targetUser = `godwit_dst_${suffix}`;
const password = `pw-${randomBytes(9).toString('base64url')}`;
const created: [HarnessServer, string][] = [];

afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
  await runSql(source, 'postgres', `DROP ROLE IF EXISTS ${sourceUser}; DROP ROLE IF EXISTS ${owner};`).catch(() => undefined);
  await runSql(target, 'postgres', `DROP ROLE IF EXISTS ${targetUser};`).catch(() => undefined);
});

async function psqlScript(server: HarnessServer, database: string, file: string, vars: Record<string, string>): Promise<string> {
  const args = ['-X', '-v', 'ON_ERROR_STOP=1', '-d', database, ...Object.entries(vars).flatMap(([k, v]) => ['-v', `${k}=${v}`]), '-f', join(SCRIPTS, file)];
  const env = { ...process.env, PGPASSWORD: server.password, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGSSLMODE: 'disable' };
  const { stderr } = await run('psql', args, { env });
  return stderr;
}

function connection(server: HarnessServer, role: 'source' | 'target', database: string, user: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, user, `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

describe('least-privilege migration users', () => {
  it('migrate live, cut over to the target and back with only what the shipped scripts grant', async () => {
    const sourceDb = await createDatabase(source, 'lp_src');
    const targetDb = await createDatabase(target, 'lp_dst');
    created.push([source, sourceDb], [target, targetDb]);
    // The application's tables belong to its own role, as in production.
    await runSql(source, sourceDb, `
      CREATE ROLE ${owner} NOLOGIN;
      CREATE SCHEMA app AUTHORIZATION ${owner};
      SET ROLE ${owner};
      CREATE TABLE app.accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, note text);
      INSERT INTO app.accounts SELECT g, 0, repeat(md5(g::text), 50) FROM generate_series(1, 3000) g;
      CREATE TABLE app.events (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES app.accounts, amount int NOT NULL);
      CREATE TABLE app.audit (id bigserial PRIMARY KEY, what text NOT NULL);
      CREATE FUNCTION app.audit_event() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO app.audit (what) VALUES ('event ' || NEW.id); RETURN NULL; END $$;
      CREATE TRIGGER events_audit AFTER INSERT ON app.events FOR EACH ROW EXECUTE FUNCTION app.audit_event();
      INSERT INTO app.events (account_id, amount) SELECT 1 + g % 3000, g FROM generate_series(1, 2000) g;
      RESET ROLE;`);
    const sourceNotices = await psqlScript(source, sourceDb, 'source.sql', { migration_user: sourceUser, table_owner: owner, schemas: 'app' });
    expect(sourceNotices).toContain(`source ready for godwit: role ${sourceUser}`);
    const targetNotices = await psqlScript(target, targetDb, 'target.sql', { migration_user: targetUser });
    expect(targetNotices).toContain(`target ready for godwit: role ${targetUser}`);
    // Running a script twice is harmless.
    await psqlScript(target, targetDb, 'target.sql', { migration_user: targetUser });
    await runSql(source, 'postgres', `ALTER ROLE ${sourceUser} PASSWORD '${password}'`);
    await runSql(target, 'postgres', `ALTER ROLE ${targetUser} PASSWORD '${password}'`);
    for (const [server, user] of [[source, sourceUser], [target, targetUser]] as const) {
      const [role] = await query<{ rolsuper: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(server, 'postgres', 'SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1', [user]);
      expect(role).toEqual({ rolsuper: false, rolcreaterole: false, rolcreatedb: false });
    }

    const env = { SOURCE_DB_PASSWORD: password, TARGET_DB_PASSWORD: password };
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-lp-')), 'export')];
    const src = [...connection(source, 'source', sourceDb, sourceUser), '--source-db-schema', 'app'];
    const dst = [...connection(target, 'target', targetDb, targetUser), '--target-db-schema', 'app'];
    await schemaPhase(dir, src, dst, env);
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    // After the cutover with fall-back their processes continue as the fall-back commands: stop them there.
    stopAfterHandOver(exporter);
    stopAfterHandOver(importer);
    // The application keeps writing (as its owner) while the snapshot loads and the changes stream.
    const app = new pg.Client({ ...adminConfig(source, sourceDb) });
    await app.connect();
    await app.query(`SET ROLE ${owner}`);
    for (let i = 0; i < 200; i++) {
      await app.query('BEGIN');
      await app.query('UPDATE app.accounts SET balance = balance + 1 WHERE id = $1', [1 + (i % 3000)]);
      await app.query('INSERT INTO app.events (account_id, amount) VALUES ($1, $2)', [1 + (i % 3000), -i]);
      await app.query('COMMIT');
      if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await app.end();
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'true'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(imported.code, imported.stderr).toBe(0);
    const status = await runGodwit(['cutover', 'status', ...dir], { env });
    expect(status.stdout).toContain('cutover to target status: COMPLETED');
    expect(await tableChecksums(target, targetDb, ['app'])).toEqual(await tableChecksums(source, sourceDb, ['app']));
    // The audit trigger fired once per application write on the source, and never on the target's apply.
    const [audit] = await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM app.audit');
    expect(audit?.n).toBe('2200');

    // Fall-back with the same users: the target's writes stream back to the source, then cutover to source.
    const reverseExporter = startGodwit(['export', 'data', 'from', 'target', ...dir, ...dst], { env });
    const reverseImporter = startGodwit(['import', 'data', 'to', 'source', ...dir, ...src], { env });
    await runSql(target, targetDb, `
      UPDATE app.accounts SET balance = balance - 5 WHERE id <= 100;
      INSERT INTO app.events (account_id, amount) SELECT g, 7 FROM generate_series(1, 50) g;
      DELETE FROM app.events WHERE amount = -3;`);
    const back = await runGodwit(['initiate', 'cutover', 'to', 'source', ...dir], { env });
    expect(back.code, back.stderr).toBe(0);
    const [reverseExported, reverseImported] = await Promise.all([reverseExporter.done, reverseImporter.done]);
    expect(reverseExported.code, reverseExported.stderr).toBe(0);
    expect(reverseImported.code, reverseImported.stderr).toBe(0);
    expect((await runGodwit(['cutover', 'status', ...dir], { env })).stdout).toContain('cutover to source status: COMPLETED');
    expect(await tableChecksums(source, sourceDb, ['app'])).toEqual(await tableChecksums(target, targetDb, ['app']));
    // The 50 events written on the target fired its audit trigger once each; the source's did not fire again.
    const [sourceAudit] = await query<{ n: string }>(source, sourceDb, 'SELECT count(*)::text AS n FROM app.audit');
    expect(sourceAudit?.n).toBe('2250');
  }, 240_000);
});
