// The connection module against the harness's real servers: successful connections, every failure
// reason with its exact message, retries, the password prompt and ~/.pgpass, and libpq's TLS modes.

import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseSettings } from '../src/core/database-settings.js';
import { ConnectionError } from '../src/core/errors.js';
import { findFreePort } from '../src/embedded/free-port.js';
import { connect, poolFrom, type ConnectOptions, type DatabaseConnection } from '../src/engines/postgres/connect.js';
import { assertServerVersion, formatVersionNum, parseServerInfo } from '../src/engines/postgres/server-info.js';
import {
  capturingLogger,
  createDatabase,
  databaseSettings,
  dropDatabase,
  query,
  runSql,
  servers,
  type HarnessServer,
} from './harness/index.js';

const APP = 'godwit connections test';
const FAST_RETRY = { attempts: 3, baseDelayMs: 20 };

/** Awaits `promise`, expects it to reject with a ConnectionError, returns that error. */
async function failure(promise: Promise<unknown>): Promise<ConnectionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ConnectionError);
  return error as ConnectionError;
}

async function withConnection<T>(
  settings: DatabaseSettings,
  options: Partial<ConnectOptions>,
  fn: (connection: DatabaseConnection) => Promise<T>,
): Promise<T> {
  const connection = await connect(settings, { applicationName: APP, ...options });
  try {
    return await fn(connection);
  } finally {
    await connection.client.end();
  }
}

async function sslInUse(connection: DatabaseConnection): Promise<boolean> {
  const result = await connection.client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  return result.rows[0]?.ssl ?? false;
}

let source: HarnessServer;
let target: HarnessServer;
let sourceDb: string;
let targetDb: string;
let scratchDir: string;
const originalPgpassFile = process.env.PGPASSFILE;

beforeAll(async () => {
  ({ source, target } = servers());
  [sourceDb, targetDb] = await Promise.all([createDatabase(source, 'conn'), createDatabase(target, 'conn')]);
  scratchDir = await fs.mkdtemp(path.join(os.tmpdir(), 'godwit-conn-'));
  // Make ~/.pgpass of whoever runs the tests irrelevant.
  process.env.PGPASSFILE = path.join(scratchDir, 'no-such-pgpass');
});

afterAll(async () => {
  await Promise.all([dropDatabase(source, sourceDb), dropDatabase(target, targetDb)]);
  await fs.rm(scratchDir, { recursive: true, force: true });
  if (originalPgpassFile === undefined) delete process.env.PGPASSFILE;
  else process.env.PGPASSFILE = originalPgpassFile;
});

describe('successful connections', () => {
  it('connects to the PostgreSQL 15 source and the PostgreSQL 17 target and reads their versions', async () => {
    for (const [server, db, major] of [[source, sourceDb, 15], [target, targetDb, 17]] as const) {
      await withConnection(databaseSettings(server, db), {}, async (connection) => {
        expect(connection.server.major).toBe(major);
        expect(connection.server.isYugabyte).toBe(false);
        expect(connection.server.ybVersion).toBeUndefined();
        expect(Math.floor(connection.server.versionNum / 10_000)).toBe(major);
        expect(connection.server.versionString).toMatch(new RegExp(`^PostgreSQL ${major}\\.`));
        expect(connection.encrypted).toBe(false);
      });
    }
  });

  it('shows the application name in pg_stat_activity', async () => {
    await withConnection(databaseSettings(source, sourceDb), { applicationName: 'godwit export data from source' }, async (connection) => {
      const pid = (await connection.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const seen = await query(source, 'postgres', 'SELECT application_name FROM pg_stat_activity WHERE pid = $1', [pid]);
      expect(seen).toEqual([{ application_name: 'godwit export data from source' }]);
    });
  });

  it('opens a replication connection that speaks the replication protocol', async () => {
    await withConnection(databaseSettings(target, targetDb), { replication: 'database' }, async (connection) => {
      const identity = await connection.client.query('IDENTIFY_SYSTEM');
      expect(identity.rows[0]).toMatchObject({ dbname: targetDb });
      expect(connection.server.major).toBe(17);
    });
  });

  it('creates a pool with the settings one connection proved, without logging in again', async () => {
    const connection = await connect(databaseSettings(source, sourceDb, { sslMode: 'prefer' }), { applicationName: APP });
    await connection.client.end();
    const { pool, server, encrypted } = poolFrom(connection, { applicationName: APP, max: 3 });
    try {
      expect(pool.totalCount).toBe(0);
      const results = await Promise.all([1, 2, 3].map(() => pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')));
      expect(results.map((result) => result.rows[0])).toEqual([{ ssl: true }, { ssl: true }, { ssl: true }]);
      expect(server.major).toBe(15);
      expect(encrypted).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it('a pool made from a replication connection runs SQL', async () => {
    await withConnection(databaseSettings(target, targetDb), { replication: 'database' }, async (connection) => {
      const { pool } = poolFrom(connection, { applicationName: APP, max: 1 });
      try {
        const { rows } = await pool.query<{ kind: string }>("SELECT backend_type AS kind FROM pg_stat_activity WHERE pid = pg_backend_pid()");
        expect(rows[0]?.kind).toBe('client backend');
      } finally {
        await pool.end();
      }
    });
  });
});

describe('failures: reason, message and hint', () => {
  it('wrong password: not retried, the password never shown', async () => {
    const logger = capturingLogger();
    const secret = 'wrong-secret-4711';
    const error = await failure(connect(databaseSettings(source, sourceDb, { password: secret }), { applicationName: APP, logger }));
    expect(error.reason).toBe('wrong-password');
    expect(error.role).toBe('source');
    expect(error.message).toBe(`Password authentication failed for user "postgres" on the source database at 127.0.0.1:${source.port}.`);
    expect(error.hint).toBe('Check --source-db-user, and give the right password in SOURCE_DB_PASSWORD (or with --source-db-password).');
    expect(`${error.message} ${error.hint ?? ''}`).not.toContain(secret);
    expect(logger.lines.filter((line) => line.level === 'warn')).toEqual([]);
  });

  it('nobody listening on the port: unreachable after the configured retries', async () => {
    const logger = capturingLogger();
    const port = await findFreePort();
    const error = await failure(
      connect(databaseSettings(target, targetDb, { port }), { applicationName: APP, logger, retry: FAST_RETRY }),
    );
    expect(error.reason).toBe('unreachable');
    expect(error.role).toBe('target');
    expect(error.message).toBe(`Could not connect to the target database at 127.0.0.1:${port}: connection refused (3 attempts).`);
    expect(error.hint).toBe(
      'Check that PostgreSQL runs there and accepts TCP connections (listen_addresses, port), and check --target-db-host and --target-db-port.',
    );
    expect(logger.lines.map((line) => `${line.level}: ${line.message}`)).toEqual([
      `warn: Could not connect to the target database at 127.0.0.1:${port}: connection refused; retrying in 20 ms (attempt 2 of 3).`,
      `warn: Could not connect to the target database at 127.0.0.1:${port}: connection refused; retrying in 40 ms (attempt 3 of 3).`,
    ]);
  });

  it('a server that never answers: timeout, retried', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const logger = capturingLogger();
      const error = await failure(
        connect(databaseSettings(target, targetDb, { port }), {
          applicationName: APP,
          logger,
          connectTimeoutMs: 200,
          retry: { attempts: 2, baseDelayMs: 10 },
        }),
      );
      expect(error.reason).toBe('timeout');
      expect(error.message).toBe(`The target database at 127.0.0.1:${port} did not answer within 0.2 s (2 attempts).`);
      expect(error.hint).toBe('Check --target-db-host and --target-db-port, and that no firewall drops the connection.');
      expect(logger.lines.map((line) => line.message)).toEqual([
        `The target database at 127.0.0.1:${port} did not answer within 0.2 s; retrying in 10 ms (attempt 2 of 2).`,
      ]);
    } finally {
      silent.close();
    }
  });

  it('missing database', async () => {
    const logger = capturingLogger();
    const error = await failure(connect(databaseSettings(target, 'no_such_db'), { applicationName: APP, logger }));
    expect(error.reason).toBe('missing-database');
    expect(error.message).toBe(`The target database at 127.0.0.1:${target.port} has no database "no_such_db".`);
    expect(error.hint).toBe('Check --target-db-name (`psql -l` lists the databases of a server).');
    expect(logger.lines).toEqual([]);
  });

  it('unknown host', async () => {
    const error = await failure(connect(databaseSettings(source, sourceDb, { host: 'no-such-host.invalid' }), { applicationName: APP }));
    expect(error.reason).toBe('unknown-host');
    expect(error.message).toBe('The source database host "no-such-host.invalid" is unknown: the name does not resolve.');
    expect(error.hint).toBe('Check --source-db-host.');
  });

  it('a server full for this role (SQLSTATE 53300) is retried, then reported', async () => {
    await runSql(source, 'postgres', "CREATE ROLE godwit_no_slots LOGIN PASSWORD 'pw-no-slots' CONNECTION LIMIT 0");
    try {
      const logger = capturingLogger();
      const settings = databaseSettings(source, sourceDb, { user: 'godwit_no_slots', password: 'pw-no-slots' });
      const error = await failure(connect(settings, { applicationName: APP, logger, retry: { attempts: 2, baseDelayMs: 10 } }));
      expect(error.reason).toBe('other');
      expect(error.message).toBe(
        `The source database at 127.0.0.1:${source.port} has no free connection slot: too many connections for role "godwit_no_slots" (2 attempts).`,
      );
      expect(logger.lines).toHaveLength(1);
    } finally {
      await runSql(source, 'postgres', 'DROP ROLE godwit_no_slots');
    }
  });

  it('a server older than the minimum', async () => {
    const [row] = await query<{ server_version: string }>(source, 'postgres', 'SHOW server_version');
    const error = await failure(
      connect(databaseSettings(source, sourceDb), { applicationName: APP, minServerVersionNum: 160_000 }),
    );
    expect(error.reason).toBe('server-too-old');
    expect(error.message).toBe(
      `The source database at 127.0.0.1:${source.port} runs PostgreSQL ${row?.server_version}; godwit needs PostgreSQL 16 or later there.`,
    );
    expect(error.hint).toBe('Upgrade that server, or point --source-db-host and --source-db-port at a newer one.');
  });
});

describe('server info', () => {
  it('recognises YugabyteDB and names its version when it is too old', () => {
    const yb = parseServerInfo('PostgreSQL 11.2-YB-2024.2.5.1-b0 on x86_64-pc-linux-gnu, compiled by clang', 110_002);
    expect(yb).toMatchObject({ major: 11, isYugabyte: true, ybVersion: '2024.2.5.1-b0' });
    const settings = databaseSettings(target, targetDb, { host: 'yb1' });
    expect(() => assertServerVersion(yb, settings, 150_000)).toThrow(
      `The target database at yb1:${target.port} runs YugabyteDB 2024.2.5.1-b0 (PostgreSQL 11.2); godwit needs PostgreSQL 15 or later there.`,
    );
    expect(parseServerInfo('PostgreSQL 9.6.24 on x86_64', 90_624)).toMatchObject({ major: 9.6, isYugabyte: false });
    expect([90_624, 90_600, 100_000, 150_018].map(formatVersionNum)).toEqual(['9.6.24', '9.6', '10', '15.18']);
  });
});

describe('passwords', () => {
  it('no password and no prompt: password-missing', async () => {
    const error = await failure(connect(databaseSettings(target, targetDb, { password: undefined }), { applicationName: APP }));
    expect(error.reason).toBe('password-missing');
    expect(error.message).toBe(`The target database at 127.0.0.1:${target.port} asks for a password for user "postgres", and none was given.`);
    expect(error.hint).toBe('Give it in TARGET_DB_PASSWORD (or with --target-db-password), or run godwit on a terminal to be asked for it.');
  });

  it('no password: asks the prompt once and returns settings with the password', async () => {
    const prompts: string[] = [];
    const promptPassword = async (request: { prompt: string }): Promise<string> => {
      prompts.push(request.prompt);
      return target.password;
    };
    await withConnection(databaseSettings(target, targetDb, { password: undefined }), { promptPassword }, async (connection) => {
      expect(connection.settings.password).toBe(target.password);
    });
    expect(prompts).toEqual([`Password for user postgres on the target database at 127.0.0.1:${target.port}: `]);
  });

  it('an empty answer to the prompt: password-missing', async () => {
    const error = await failure(
      connect(databaseSettings(target, targetDb, { password: undefined }), { applicationName: APP, promptPassword: async () => '' }),
    );
    expect(error.reason).toBe('password-missing');
  });

  it('takes the password from the password file, and names the file when it is wrong', async () => {
    const file = path.join(scratchDir, 'pgpass');
    const line = (password: string): string => `# test\n127.0.0.1:${target.port}:*:postgres:${password.replace(/[:\\]/g, '\\$&')}\n`;
    process.env.PGPASSFILE = file;
    try {
      await fs.writeFile(file, line(target.password), { mode: 0o600 });
      await withConnection(databaseSettings(target, targetDb, { password: undefined }), {}, async (connection) => {
        expect(connection.settings.password).toBe(target.password);
      });
      await fs.writeFile(file, line('not:the\\password'));
      const error = await failure(connect(databaseSettings(target, targetDb, { password: undefined }), { applicationName: APP }));
      expect(error.reason).toBe('wrong-password');
      expect(error.message).toBe(
        `Password authentication failed for user "postgres" on the target database at 127.0.0.1:${target.port} (the password came from ${file}).`,
      );
      // Like libpq, a file others may read is ignored.
      await fs.writeFile(file, line(target.password));
      await fs.chmod(file, 0o644);
      const logger = capturingLogger();
      const ignored = await failure(connect(databaseSettings(target, targetDb, { password: undefined }), { applicationName: APP, logger }));
      expect(ignored.reason).toBe('password-missing');
      expect(logger.lines[0]?.message).toContain(`Ignoring the password file ${file}`);
    } finally {
      process.env.PGPASSFILE = path.join(scratchDir, 'no-such-pgpass');
    }
  });
});

describe('TLS modes (libpq semantics)', () => {
  const tls = (overrides: Partial<DatabaseSettings>): DatabaseSettings => databaseSettings(source, sourceDb, overrides);

  it('verify-full to localhost with the CA: encrypted', async () => {
    const settings = tls({ host: 'localhost', sslMode: 'verify-full', sslRootCert: servers().certificates.caCert });
    await withConnection(settings, {}, async (connection) => {
      expect(connection.encrypted).toBe(true);
      expect(await sslInUse(connection)).toBe(true);
    });
  });

  it('verify-full to 127.0.0.1 works too: the certificate names the IP address', async () => {
    const settings = tls({ sslMode: 'verify-full', sslRootCert: servers().certificates.caCert });
    await withConnection(settings, {}, async (connection) => expect(await sslInUse(connection)).toBe(true));
  });

  it('verify-full with a host name the certificate does not name: tls; verify-ca accepts it', async () => {
    // "127.1" resolves to 127.0.0.1 but is a name to the TLS host check, and not in the certificate.
    const caCert = servers().certificates.caCert;
    const error = await failure(connect(tls({ host: '127.1', sslMode: 'verify-full', sslRootCert: caCert }), { applicationName: APP }));
    expect(error.reason).toBe('tls');
    expect(error.message).toBe(
      `The TLS certificate of the source database at 127.1:${source.port} is not valid for host "127.1": Hostname/IP does not match certificate's altnames: Host: 127.1. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1.`,
    );
    expect(error.hint).toBe(
      'Connect with a host name the certificate names (--source-db-host), or use --source-ssl-mode verify-ca to skip the host name check.',
    );
    await withConnection(tls({ host: '127.1', sslMode: 'verify-ca', sslRootCert: caCert }), {}, async (connection) =>
      expect(await sslInUse(connection)).toBe(true),
    );
  });

  it('verify-full with a CA that did not sign the server certificate: tls, not retried', async () => {
    // PostgreSQL sends its CA along with its certificate (it loaded it as ssl_ca_file), so Node
    // reports a self-signed certificate in the chain rather than an unknown issuer.
    const logger = capturingLogger();
    const otherCa = servers().certificates.otherCaCert;
    const error = await failure(
      connect(tls({ host: 'localhost', sslMode: 'verify-full', sslRootCert: otherCa }), { applicationName: APP, logger }),
    );
    expect(error.reason).toBe('tls');
    expect(error.message).toBe(
      `Could not verify the TLS certificate of the source database at localhost:${source.port}: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN).`,
    );
    expect(error.hint).toBe(
      `Check that --source-ssl-root-cert (${otherCa}) holds the CA that signed the server's certificate, or use --source-ssl-mode require to encrypt without verifying.`,
    );
    expect(logger.lines).toEqual([]);
  });

  it('require without a CA encrypts without verifying; with a wrong CA it verifies, like libpq', async () => {
    await withConnection(tls({ sslMode: 'require' }), {}, async (connection) => expect(await sslInUse(connection)).toBe(true));
    const error = await failure(connect(tls({ sslMode: 'require', sslRootCert: servers().certificates.otherCaCert }), { applicationName: APP }));
    expect(error.reason).toBe('tls');
  });

  it('disable is unencrypted, prefer encrypts', async () => {
    await withConnection(tls({ sslMode: 'disable' }), {}, async (connection) => {
      expect(connection.encrypted).toBe(false);
      expect(await sslInUse(connection)).toBe(false);
    });
    await withConnection(tls({ sslMode: 'prefer' }), {}, async (connection) => {
      expect(connection.encrypted).toBe(true);
      expect(await sslInUse(connection)).toBe(true);
    });
  });

  it('a server without TLS: prefer falls back to plain, require fails with tls', async () => {
    await withConnection(databaseSettings(target, targetDb, { sslMode: 'prefer' }), {}, async (connection) => {
      expect(connection.encrypted).toBe(false);
    });
    const error = await failure(connect(databaseSettings(target, targetDb, { sslMode: 'require' }), { applicationName: APP }));
    expect(error.reason).toBe('tls');
    expect(error.message).toBe(
      `The target database at 127.0.0.1:${target.port} does not accept TLS connections, and --target-ssl-mode require requires TLS.`,
    );
    expect(error.hint).toBe('Enable ssl on that server, or use --target-ssl-mode prefer (TLS when the server offers it) or disable.');
  });

  it('a user pg_hba admits over TLS only: prefer, require and allow work, disable is rejected', async () => {
    const { sslOnlyUser, sslOnlyPassword } = servers().tlsRoles;
    const as = (sslMode: DatabaseSettings['sslMode']): DatabaseSettings =>
      tls({ user: sslOnlyUser, password: sslOnlyPassword, sslMode });
    for (const mode of ['prefer', 'require', 'allow'] as const) {
      await withConnection(as(mode), {}, async (connection) => expect(await sslInUse(connection)).toBe(true));
    }
    const error = await failure(connect(as('disable'), { applicationName: APP }));
    expect(error.reason).toBe('rejected');
    expect(error.message).toBe(
      `The source database at 127.0.0.1:${source.port} refused user "${sslOnlyUser}" for database "${sourceDb}": ` +
        `pg_hba.conf rejects connection for host "127.0.0.1", user "${sslOnlyUser}", database "${sourceDb}", no encryption.`,
    );
    expect(error.hint).toBe('The server accepts this login only over TLS: use --source-ssl-mode require, verify-ca or verify-full.');
  });

  it('logs in with a client certificate in verify-full, and is rejected without one', async () => {
    const { certUser } = servers().tlsRoles;
    const certs = servers().certificates;
    const settings = tls({
      host: 'localhost',
      user: certUser,
      password: undefined,
      sslMode: 'verify-full',
      sslRootCert: certs.caCert,
      sslCert: certs.clientCert,
      sslKey: certs.clientKey,
    });
    await withConnection(settings, {}, async (connection) => {
      const who = await connection.client.query<{ current_user: string }>('SELECT current_user');
      expect(who.rows[0]?.current_user).toBe(certUser);
      expect(await sslInUse(connection)).toBe(true);
    });
    const error = await failure(connect({ ...settings, sslCert: undefined, sslKey: undefined }, { applicationName: APP }));
    expect(error.reason).toBe('rejected');
    expect(error.hint).toBe('Check the client certificate (--source-ssl-cert, --source-ssl-key): its CN must be the user name.');
  });

  it('a missing root certificate file: tls, naming the file and the flag', async () => {
    const missing = path.join(scratchDir, 'missing-ca.crt');
    const error = await failure(connect(tls({ sslMode: 'verify-ca', sslRootCert: missing }), { applicationName: APP }));
    expect(error.reason).toBe('tls');
    expect(error.message).toBe(`Could not read the root certificate file ${missing} given with --source-ssl-root-cert: no such file.`);
    expect(error.hint).toBe('Check the path given with --source-ssl-root-cert, and that godwit may read the file.');
  });

  it('verify-ca without any root certificate: tls, saying which flag to give', async () => {
    const error = await failure(connect(tls({ sslMode: 'verify-ca' }), { applicationName: APP }));
    expect(error.reason).toBe('tls');
    expect(error.message).toBe('--source-ssl-mode verify-ca needs the CA certificate to verify the server with, and none was given.');
    expect(error.hint).toBe('Give the CA certificate file with --source-ssl-root-cert.');
  });
});
