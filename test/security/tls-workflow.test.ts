// The live migration over TLS with verify-full and client-certificate authentication (issue 7): the
// source is reached only as a user that logs in with its certificate (no password anywhere), checked
// against the harness's CA, for pg_dump, the snapshot, the replication stream and the cutover. While
// it streams, every godwit connection to the source (the walsender too) must be TLS with the client
// certificate; after the cutover the target must be identical.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit } from '../helpers/run-godwit.js';
import { tableChecksums } from '../snapshot-import/fake-export.js';
import { schemaPhase } from '../helpers/migration-cli.js';

const { source, target, certificates, tlsRoles } = servers();
const created: [HarnessServer, string][] = [];
afterAll(async () => {
  for (const [server, db] of created) await dropDatabase(server, db);
  await runSql(source, 'postgres', `ALTER ROLE ${tlsRoles.certUser} NOREPLICATION`).catch(() => undefined);
});

describe('the live migration over TLS verify-full with a client certificate', () => {
  it('authenticates every source connection by certificate, encrypts it, and migrates identically', async () => {
    const sourceDb = await createDatabase(source, 'tls_src');
    const targetDb = await createDatabase(target, 'tls_dst');
    created.push([source, sourceDb], [target, targetDb]);
    const user = tlsRoles.certUser;
    await runSql(source, 'postgres', `ALTER ROLE ${user} REPLICATION`);
    await runSql(source, sourceDb, `
      GRANT CREATE ON DATABASE ${sourceDb} TO ${user};
      CREATE TABLE orders (id bigint PRIMARY KEY, item text NOT NULL, qty int NOT NULL);
      INSERT INTO orders SELECT g, 'item ' || g, g % 9 FROM generate_series(1, 3000) g;
      ALTER TABLE orders OWNER TO ${user};`);
    const src = ['--source-db-host', 'localhost', '--source-db-port', String(source.port), '--source-db-user', user, '--source-db-name', sourceDb,
      '--source-ssl-mode', 'verify-full', '--source-ssl-root-cert', certificates.caCert, '--source-ssl-cert', certificates.clientCert, '--source-ssl-key', certificates.clientKey];
    const dst = ['--target-db-host', target.host, '--target-db-port', String(target.port), '--target-db-user', target.user, '--target-db-name', targetDb, '--target-ssl-mode', 'disable'];
    // No source password at all: the certificate is the credential.
    const env = { SOURCE_DB_PASSWORD: undefined, TARGET_DB_PASSWORD: target.password, HOME: tmpdir() };
    const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), 'godwit-tls-')), 'export')];
    await schemaPhase(dir, src, dst, env);
    const exporter = startGodwit(['export', 'data', 'from', 'source', ...dir, ...src, '--export-type', 'snapshot-and-changes'], { env });
    const importer = startGodwit(['import', 'data', 'to', 'target', ...dir, ...dst], { env });
    await runSql(source, sourceDb, "UPDATE orders SET qty = qty + 1 WHERE id <= 100; INSERT INTO orders VALUES (3001, 'over TLS', 1);");
    const deadline = Date.now() + 90_000;
    while ((await query<{ n: string }>(target, targetDb, 'SELECT count(*)::text AS n FROM orders').catch(() => []))[0]?.n !== '3001') {
      if (Date.now() > deadline) throw new Error('the streamed row never arrived');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The row may have come with the snapshot: wait for the streaming session (a walsender) too.
    const godwitSessions = (): Promise<{ backend_type: string; ssl: boolean; client_dn: string | null }[]> =>
      query(source, 'postgres', `
      SELECT a.backend_type, s.ssl, s.client_dn FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid
       WHERE a.usename = $1 AND a.application_name LIKE 'godwit%'`, [user]);
    let sessions = await godwitSessions();
    while (!sessions.some((s) => s.backend_type === 'walsender') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sessions = await godwitSessions();
    }
    expect(sessions.some((s) => s.backend_type === 'walsender')).toBe(true);
    for (const s of sessions) expect(s).toMatchObject({ ssl: true, client_dn: `/CN=${user}` });
    const cutover = await runGodwit(['initiate', 'cutover', 'to', 'target', ...dir, '--prepare-for-fall-back', 'false'], { env });
    expect(cutover.code, cutover.stderr).toBe(0);
    const [exported, imported] = await Promise.all([exporter.done, importer.done]);
    expect([exported.code, imported.code], exported.stderr + imported.stderr).toEqual([0, 0]);
    expect(await tableChecksums(target, targetDb, ['public'])).toEqual(await tableChecksums(source, sourceDb, ['public']));
  }, 180_000);
});
