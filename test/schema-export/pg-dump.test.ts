// The pg_dump runner: finding a pg_dump new enough (or saying exactly what to install), the command
// line and environment it gets (password in the environment only), exact schema patterns for
// awkward names, and atomic output, against the real PostgreSQL 15 source.

import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PgDumpError,
  dumpSchema,
  exactSchemaPattern,
  findPgDump,
  parsePgDumpVersion,
  pgDumpArguments,
  pgDumpEnvironment,
  pgDumpInstallAdvice,
} from '../../src/schema/export/pg-dump.js';
import { createDatabase, databaseSettings, dropDatabase, runSql, servers } from '../harness/index.js';
import { tempDir } from '../state/child-helpers.js';

const INSTALL_15 =
  'Install it: apt-get install postgresql-client-15 (Debian/Ubuntu, from apt.postgresql.org if your release lacks it), ' +
  'dnf install postgresql15 (RHEL/Rocky/Fedora, from the PGDG repository), brew install postgresql@15 (macOS).';

let dir: { path: string; cleanup: () => void };
let database: string;

/** Awaits `promise`, expects a PgDumpError, returns it. */
async function pgDumpFailure(promise: Promise<unknown>): Promise<PgDumpError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PgDumpError);
  return error as PgDumpError;
}

function fakePgDump(name: string, versionLine: string, body = ''): string {
  const binDir = join(dir.path, name);
  mkdirSync(binDir, { recursive: true });
  const file = join(binDir, 'pg_dump');
  writeFileSync(file, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "${versionLine}"; exit 0; fi\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

// A pg_dump that writes half a dump to its --file and then hangs, like one killed mid-way.
const HANGING_BODY = `for a in "$@"; do case "$a" in --file=*) f="\${a#--file=}";; esac; done
echo "-- half a dump" > "$f"
exec sleep 30`;

beforeAll(async () => {
  dir = tempDir('pg-dump');
  const { source } = servers();
  database = await createDatabase(source, 'pg_dump');
  await runSql(
    source,
    database,
    `CREATE SCHEMA "Sales.Data*";
     CREATE TABLE "Sales.Data*"."Order ""Lines""" (id integer PRIMARY KEY, "Amount €" numeric(12,2));
     CREATE SCHEMA "Sales.DataX";
     CREATE TABLE "Sales.DataX".not_me (id integer);
     CREATE SCHEMA salesxdata;
     CREATE TABLE salesxdata.not_me_either (id integer);
     CREATE SCHEMA "Mixed Case";
     CREATE TABLE "Mixed Case"."CamelTable" (id integer PRIMARY KEY);
     CREATE TABLE "Mixed Case".owned_and_granted (id integer);
     GRANT SELECT ON "Mixed Case".owned_and_granted TO PUBLIC;
     CREATE TABLE public.not_selected (id integer);`,
  );
});

afterAll(async () => {
  if (database !== undefined) await dropDatabase(servers().source, database);
  dir?.cleanup();
});

describe('pg_dump version and candidates', () => {
  it('reads the major version from pg_dump --version', () => {
    expect(parsePgDumpVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n')).toBe(15);
    expect(parsePgDumpVersion('pg_dump (PostgreSQL) 17.2')).toBe(17);
    expect(parsePgDumpVersion('pg_dump (PostgreSQL) 18beta1')).toBe(18);
    expect(parsePgDumpVersion('pg_dump (PostgreSQL) 9.6.24')).toBe(9.6);
    expect(parsePgDumpVersion('psql (PostgreSQL) 15.18')).toBeUndefined();
  });

  it('says exactly what to install when GODWIT_PG_DUMP names a missing file', async () => {
    const error = await pgDumpFailure(findPgDump(15, { PATH: '/usr/bin', GODWIT_PG_DUMP: '/nonexistent/bin/pg_dump' }));
    expect(error.reason).toBe('missing');
    expect(error.message).toBe(
      `pg_dump 15 or later is needed for a PostgreSQL 15 source; GODWIT_PG_DUMP is /nonexistent/bin/pg_dump, which is not a runnable pg_dump. ${INSTALL_15}`,
    );
    expect(error.hint).toBe('Or set GODWIT_PG_DUMP to the path of a pg_dump 15 or later.');
  });

  it('says exactly what to install when there is no pg_dump at all', async () => {
    const error = await pgDumpFailure(findPgDump(15, { PATH: join(dir.path, 'empty') }, { installDirs: false }));
    expect(error.reason).toBe('missing');
    expect(error.message).toBe(
      `pg_dump 15 or later is needed for a PostgreSQL 15 source; none was found on PATH or in /usr/lib/postgresql/*/bin. ${INSTALL_15}`,
    );
  });

  it('refuses a pg_dump older than the source and names it', async () => {
    const old = fakePgDump('old13', 'pg_dump (PostgreSQL) 13.2');
    const error = await pgDumpFailure(findPgDump(15, { PATH: '/usr/bin', GODWIT_PG_DUMP: old }));
    expect(error.reason).toBe('too-old');
    expect(error.message).toBe(`pg_dump 15 or later is needed for a PostgreSQL 15 source; found pg_dump 13 at ${old}. ${INSTALL_15}`);
    expect(error.exitCode).toBe(7);
  });

  it('skips an old pg_dump early on PATH for a newer one further on', async () => {
    const old = fakePgDump('old14', 'pg_dump (PostgreSQL) 14.9');
    const found = await findPgDump(15, { PATH: `${join(dir.path, 'old14')}:/usr/bin` });
    expect(found.path).not.toBe(old);
    expect(found.major).toBeGreaterThanOrEqual(15);
  });

  it('advises the package of the needed version', () => {
    expect(pgDumpInstallAdvice(17)).toContain('apt-get install postgresql-client-17');
  });
});

describe('pg_dump command line and environment', () => {
  const settings = databaseSettings(servers().source, 'appdb', {
    password: 's3cret-Pa55',
    schemas: ['Sales Data', 'app', 'a.b*', 'say "hi"'],
    sslMode: 'verify-full',
    sslRootCert: '/etc/ca.pem',
    sslCert: '/etc/client.pem',
    sslKey: '/etc/client.key',
  });

  it('matches each schema exactly: quoted, with quotes doubled', () => {
    expect(exactSchemaPattern('Sales Data')).toBe('"Sales Data"');
    expect(exactSchemaPattern('a.b*')).toBe('"a.b*"');
    expect(exactSchemaPattern('say "hi"')).toBe('"say ""hi"""');
  });

  it('never puts the password or connection details in argv', () => {
    const args = pgDumpArguments({ schemas: settings.schemas, outputFile: '/tmp/x/schema.sql', pgDumpMajor: 15 });
    expect(args).toEqual([
      '--schema-only',
      '--no-owner',
      '--no-privileges',
      '--no-tablespaces',
      '--no-security-labels',
      '--no-publications',
      '--no-subscriptions',
      '--quote-all-identifiers',
      '--encoding=UTF8',
      '--no-password',
      '--file=/tmp/x/schema.sql',
      '--extension=*',
      '--schema="Sales Data"',
      '--schema="app"',
      '--schema="a.b*"',
      '--schema="say ""hi"""',
    ]);
    expect(args.join(' ')).not.toContain('s3cret');
    expect(pgDumpArguments({ schemas: ['app'], outputFile: 'f', pgDumpMajor: 13 })).not.toContain('--extension=*');
  });

  it('passes the password, TLS files and application name through the environment, dropping inherited libpq settings', () => {
    const env = pgDumpEnvironment(settings, 'godwit export schema', {
      PATH: '/usr/bin',
      HOME: '/root',
      PGHOST: 'elsewhere',
      PGSERVICE: 'prod',
      PGOPTIONS: '-c search_path=evil',
      PGPASSFILE: '/root/.pgpass-godwit',
      GODWIT_PG_DUMP: '/opt/pg_dump',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      HOME: '/root',
      PGPASSFILE: '/root/.pgpass-godwit',
      PGHOST: settings.host,
      PGPORT: String(settings.port),
      PGUSER: settings.user,
      PGDATABASE: 'appdb',
      PGPASSWORD: 's3cret-Pa55',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/etc/ca.pem',
      PGSSLCERT: '/etc/client.pem',
      PGSSLKEY: '/etc/client.key',
      PGAPPNAME: 'godwit export schema',
      PGCONNECT_TIMEOUT: '10',
    });
    const withoutPassword = pgDumpEnvironment({ ...settings, password: undefined }, 'x', {});
    expect(withoutPassword.PGPASSWORD).toBeUndefined();
  });
});

describe('dumpSchema against the PostgreSQL 15 source', () => {
  it('dumps exactly the selected schemas, with awkward names, without owners or grants', async () => {
    const outputFile = join(dir.path, 'export', 'temp', 'schema.sql');
    const result = await dumpSchema({
      settings: databaseSettings(servers().source, database, { schemas: ['Sales.Data*', 'Mixed Case'] }),
      serverMajor: 15,
      outputFile,
    });
    expect(result.file).toBe(outputFile);
    expect(result.pgDump.major).toBeGreaterThanOrEqual(15);
    expect(result.args).toContain('--schema="Sales.Data*"');
    expect(result.args.join(' ')).not.toContain(servers().source.password);
    const dump = readFileSync(outputFile, 'utf8');
    expect(dump).toContain('CREATE TABLE "Sales.Data*"."Order ""Lines"""');
    expect(dump).toContain('"Amount €" numeric(12,2)');
    expect(dump).toContain('CREATE TABLE "Mixed Case"."CamelTable"');
    expect(dump).toContain('CREATE TABLE "Mixed Case"."owned_and_granted"');
    expect(dump).not.toContain('not_me');
    expect(dump).not.toContain('not_selected');
    expect(dump).not.toMatch(/OWNER TO|^GRANT|^REVOKE/m);
    expect(readdirSync(join(dir.path, 'export', 'temp'))).toEqual(['schema.sql']);
  });

  it('surfaces pg_dump stderr in a typed error and keeps the previous complete dump', async () => {
    const outputFile = join(dir.path, 'failing', 'schema.sql');
    mkdirSync(join(dir.path, 'failing'), { recursive: true });
    writeFileSync(outputFile, '-- the previous complete dump\n');
    const password = 'wrong-password-Zq9';
    const error = await pgDumpFailure(
      dumpSchema({
        settings: databaseSettings(servers().source, database, { password, schemas: ['Mixed Case'] }),
        serverMajor: 15,
        outputFile,
      }),
    );
    expect(error.reason).toBe('failed');
    expect(error.message).toMatch(/^pg_dump exited with code 1:\n/);
    expect(error.message).toContain('password authentication failed');
    expect(error.message).not.toContain(password);
    expect(readFileSync(outputFile, 'utf8')).toBe('-- the previous complete dump\n');
    expect(readdirSync(join(dir.path, 'failing'))).toEqual(['schema.sql']);
  });

  it('writes nothing when pg_dump is too old', async () => {
    const old = fakePgDump('old13-dump', 'pg_dump (PostgreSQL) 13.2');
    const outputFile = join(dir.path, 'too-old', 'schema.sql');
    const error = await pgDumpFailure(
      dumpSchema({
        settings: databaseSettings(servers().source, database, { schemas: ['Mixed Case'] }),
        serverMajor: 15,
        outputFile,
        env: { ...process.env, GODWIT_PG_DUMP: old },
      }),
    );
    expect(error.reason).toBe('too-old');
    expect(existsSync(outputFile)).toBe(false);
  });

  it('never leaves a half dump under the final name when pg_dump is stopped', async () => {
    const hanging = fakePgDump('hanging', 'pg_dump (PostgreSQL) 15.2', HANGING_BODY);
    const outputDir = join(dir.path, 'stopped');
    const outputFile = join(outputDir, 'schema.sql');
    const controller = new AbortController();
    const dumping = dumpSchema({
      settings: databaseSettings(servers().source, database, { schemas: ['Mixed Case'] }),
      serverMajor: 15,
      outputFile,
      env: { ...process.env, GODWIT_PG_DUMP: hanging },
      signal: controller.signal,
    });
    const partial = join(outputDir, '.schema.sql.partial');
    for (let i = 0; i < 100 && !existsSync(partial); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readFileSync(partial, 'utf8')).toBe('-- half a dump\n');
    expect(existsSync(outputFile)).toBe(false);
    controller.abort();
    const error = await pgDumpFailure(dumping);
    expect(error.message).toBe('pg_dump was stopped before it finished; no dump was written.');
    expect(readdirSync(outputDir)).toEqual([]);
  });
});
