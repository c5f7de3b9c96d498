// Runs pg_dump for `export schema`, as the established migration tools do: finds a pg_dump at least
// as new as the source server (pg_dump refuses newer servers, and an older one misses their
// features), says exactly what to install when there is none, passes the password through the
// environment (never argv, so it never shows in `ps`), and writes the dump atomically so a killed
// export never leaves a half dump under the final name.
//
// What goes into the dump (the choices an experienced DBA expects from a migration tool):
// - no owners, no privileges (--no-owner --no-privileges): roles are cluster objects that pg_dump of
//   one database does not carry and that usually differ on the target (YugabyteDB has its own
//   yugabyte/yb_superuser roles); applying them would fail or hand objects to the wrong role. The
//   objects belong to the user running `import schema`; grants are re-applied by the DBA.
// - no tablespaces, security labels, publications or subscriptions: they describe the old server
//   and its replication, not the application's schema.
// - --quote-all-identifiers: recommended by pg_dump for loading into a different major version, so a
//   name that became a keyword on the target still loads.
// - --encoding=UTF8: the parser and the target (YugabyteDB is UTF8 only) read UTF-8.
// - --extension=* (pg_dump 14+): with --schema, pg_dump would otherwise drop CREATE EXTENSION, and
//   tables using extension types would not load.

import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, delimiter, dirname, join } from 'node:path';
import type { DatabaseSettings } from '../../core/database-settings.js';
import { ExitCode, GodwitError } from '../../core/errors.js';
import { quoteIdent } from '../../core/identifiers.js';
import { silentLogger, type Logger } from '../../core/logger.js';

/** Environment variable that names the pg_dump to use, bypassing the search. */
export const PG_DUMP_ENV_VAR = 'GODWIT_PG_DUMP';

/** Why a pg_dump step failed, so callers and tests can tell cases apart. */
export type PgDumpProblem = 'missing' | 'too-old' | 'failed';

/** pg_dump is missing, too old, or failed; the message says what to install or what pg_dump said. */
export class PgDumpError extends GodwitError {
  readonly reason: PgDumpProblem;

  constructor(reason: PgDumpProblem, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: reason === 'failed' ? ExitCode.failure : ExitCode.notReady });
    this.reason = reason;
  }
}

/** A pg_dump executable and the version it reports. */
export interface PgDumpBinary {
  path: string;
  /** `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)`. */
  versionText: string;
  /** 15 for 15.18; 9.6 for 9.6.24. */
  major: number;
}

/** Reads the major version out of `pg_dump --version` output; undefined when it is not pg_dump's. */
export function parsePgDumpVersion(text: string): number | undefined {
  const match = /pg_dump \(PostgreSQL\) (\d+)(?:\.(\d+))?/.exec(text);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first >= 10 || match[2] === undefined ? first : Number(`${first}.${match[2]}`);
}

/** What to install to get a pg_dump of `major`, per platform: the text users act on. */
export function pgDumpInstallAdvice(major: number): string {
  return (
    `Install it: apt-get install postgresql-client-${major} (Debian/Ubuntu, from apt.postgresql.org if your release lacks it), ` +
    `dnf install postgresql${major} (RHEL/Rocky/Fedora, from the PGDG repository), ` +
    `brew install postgresql@${major} (macOS).`
  );
}

/** How far the search for pg_dump goes. */
export interface PgDumpSearchOptions {
  /** Also look in /usr/lib/postgresql/<N>/bin and /usr/pgsql-<N>/bin (default true). */
  installDirs?: boolean;
}

/** Where to look for pg_dump, in order: GODWIT_PG_DUMP alone if set, else PATH, then versioned install directories (newest first). */
export async function pgDumpCandidates(
  env: NodeJS.ProcessEnv = process.env,
  options: PgDumpSearchOptions = {},
): Promise<string[]> {
  const override = env[PG_DUMP_ENV_VAR];
  if (override !== undefined && override !== '') return [override];
  const found: string[] = [];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir !== '') found.push(join(dir, 'pg_dump'));
  }
  if (options.installDirs !== false) {
    // Debian/Ubuntu (postgresql-client-N), then RHEL's PGDG packages (postgresqlN).
    found.push(...(await versionedDirs('/usr/lib/postgresql', (major) => join('/usr/lib/postgresql', major, 'bin', 'pg_dump'))));
    found.push(...(await versionedDirs('/usr', (major) => join('/usr', `pgsql-${major}`, 'bin', 'pg_dump'), /^pgsql-(\d+)$/)));
  }
  const usable: string[] = [];
  for (const file of new Set(found)) {
    // Debian's pg_wrapper (a Perl script behind /usr/bin/pg_dump) only picks one of the versioned
    // binaries listed after it: going to them directly saves a Perl start-up per call.
    if (options.installDirs !== false && (await isDebianWrapper(file))) continue;
    if (await isExecutable(file)) usable.push(file);
  }
  return usable;
}

async function isDebianWrapper(file: string): Promise<boolean> {
  try {
    return basename(await realpath(file)) === 'pg_wrapper';
  } catch {
    return false;
  }
}

async function versionedDirs(parent: string, toPath: (major: string) => string, pattern = /^(\d+)$/): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(parent);
  } catch {
    return [];
  }
  return entries
    .map((entry) => pattern.exec(entry)?.[1])
    .filter((major): major is string => major !== undefined)
    .sort((a, b) => Number(b) - Number(a))
    .map(toPath);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `pg_dump --version`; undefined when the file does not run or is not pg_dump. */
export async function readPgDumpVersion(file: string, env: NodeJS.ProcessEnv = process.env): Promise<PgDumpBinary | undefined> {
  const output = await new Promise<string | undefined>((resolve) => {
    execFile(file, ['--version'], { env, timeout: 15_000 }, (error, stdout) => resolve(error ? undefined : stdout));
  });
  if (output === undefined) return undefined;
  const major = parsePgDumpVersion(output);
  return major === undefined ? undefined : { path: file, versionText: output.trim(), major };
}

/**
 * Finds the first pg_dump (in pgDumpCandidates order) whose major version is at least
 * `serverMajor`; throws PgDumpError('missing' | 'too-old') saying what to install otherwise.
 */
export async function findPgDump(
  serverMajor: number,
  env: NodeJS.ProcessEnv = process.env,
  options: PgDumpSearchOptions = {},
): Promise<PgDumpBinary> {
  const override = env[PG_DUMP_ENV_VAR];
  const candidates = await pgDumpCandidates(env, options);
  const found: PgDumpBinary[] = [];
  for (const file of candidates) {
    const binary = await readPgDumpVersion(file, env);
    if (binary === undefined) continue;
    if (binary.major >= serverMajor) return binary;
    found.push(binary);
  }
  const needed = `pg_dump ${serverMajor} or later is needed for a PostgreSQL ${serverMajor} source`;
  const advice = pgDumpInstallAdvice(serverMajor);
  const hint = `Or set ${PG_DUMP_ENV_VAR} to the path of a pg_dump ${serverMajor} or later.`;
  const newest = found.sort((a, b) => b.major - a.major)[0];
  if (newest !== undefined) {
    throw new PgDumpError('too-old', `${needed}; found pg_dump ${newest.major} at ${newest.path}. ${advice}`, { hint });
  }
  const where =
    override !== undefined && override !== ''
      ? `${PG_DUMP_ENV_VAR} is ${override}, which is not a runnable pg_dump`
      : 'none was found on PATH or in /usr/lib/postgresql/*/bin';
  throw new PgDumpError('missing', `${needed}; ${where}. ${advice}`, { hint });
}

/** Builds a pg_dump pattern that matches exactly one schema name (capitals, spaces, dots, `*` taken literally). */
export function exactSchemaPattern(schema: string): string {
  return quoteIdent(schema);
}

/** What pgDumpArguments needs. */
export interface PgDumpArgumentOptions {
  /** Schema names as the catalog spells them. */
  schemas: readonly string[];
  outputFile: string;
  /** Major version of the pg_dump that will run (options appear over the versions). */
  pgDumpMajor: number;
}

/** The pg_dump command line (never a password or connection detail: those go through pgDumpEnvironment). */
export function pgDumpArguments(options: PgDumpArgumentOptions): string[] {
  const args = [
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
    `--file=${options.outputFile}`,
  ];
  if (options.pgDumpMajor >= 14) args.push('--extension=*');
  for (const schema of options.schemas) args.push(`--schema=${exactSchemaPattern(schema)}`);
  return args;
}

// libpq variables the parent may have set that must not change where or how pg_dump connects.
const KEPT_PG_VARIABLES = new Set(['PGPASSFILE', 'PGSYSCONFDIR', 'PGLOCALEDIR']);

/** pg_dump's environment: the parent's, minus inherited libpq settings, plus the connection (password included). */
export function pgDumpEnvironment(
  settings: DatabaseSettings,
  applicationName: string,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (key.startsWith('PG') && !KEPT_PG_VARIABLES.has(key)) continue;
    if (key === PG_DUMP_ENV_VAR) continue;
    env[key] = value;
  }
  env.PGHOST = settings.host;
  env.PGPORT = String(settings.port);
  env.PGUSER = settings.user;
  env.PGDATABASE = settings.database;
  env.PGSSLMODE = settings.sslMode;
  env.PGAPPNAME = applicationName;
  env.PGCONNECT_TIMEOUT = '10';
  if (settings.password !== undefined) env.PGPASSWORD = settings.password;
  if (settings.sslRootCert !== undefined) env.PGSSLROOTCERT = settings.sslRootCert;
  if (settings.sslCert !== undefined) env.PGSSLCERT = settings.sslCert;
  if (settings.sslKey !== undefined) env.PGSSLKEY = settings.sslKey;
  return env;
}

/** What dumpSchema needs. */
export interface DumpSchemaOptions {
  /** The source's settings, with the password filled in (use the settings a successful connect() returned). */
  settings: DatabaseSettings;
  /** The source server's major version (ServerInfo.major). */
  serverMajor: number;
  /** Where the finished dump goes (ExportDir.schemaDumpFile). */
  outputFile: string;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  logger?: Logger;
  /** Kills pg_dump when aborted. */
  signal?: AbortSignal;
  /** The environment to start from (tests); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** What one dump produced. */
export interface DumpSchemaResult {
  file: string;
  pgDump: PgDumpBinary;
  args: string[];
  durationMs: number;
}

/** Dumps the selected schemas' DDL to `outputFile` atomically; throws PgDumpError on any failure. */
export async function dumpSchema(options: DumpSchemaOptions): Promise<DumpSchemaResult> {
  const logger = options.logger ?? silentLogger;
  const baseEnv = options.env ?? process.env;
  const env = pgDumpEnvironment(options.settings, options.applicationName ?? 'godwit export schema', baseEnv);
  // `--version` runs without the password (it needs none), and with the override from the caller's
  // environment: the cleaned one pg_dump gets drops it. PGHOST and the rest stay, since Debian's
  // pg_wrapper may pick the version by them.
  const { PGPASSWORD: _password, ...versionEnv } = env;
  const pgDump = await findPgDump(options.serverMajor, { ...versionEnv, [PG_DUMP_ENV_VAR]: baseEnv[PG_DUMP_ENV_VAR] });
  const partial = join(dirname(options.outputFile), `.${basename(options.outputFile)}.partial`);
  const args = pgDumpArguments({ schemas: options.settings.schemas, outputFile: partial, pgDumpMajor: pgDump.major });
  await mkdir(dirname(options.outputFile), { recursive: true });
  await rm(partial, { force: true });
  logger.info(`Running ${pgDump.path} ${args.join(' ')}`, { pgDumpVersion: pgDump.versionText });
  const started = Date.now();
  try {
    await runPgDump(pgDump.path, args, env, options.signal);
    await fsyncFile(partial);
    await rename(partial, options.outputFile);
    await fsyncFile(dirname(options.outputFile));
  } catch (error) {
    await rm(partial, { force: true }).catch(() => undefined);
    throw error;
  }
  const durationMs = Date.now() - started;
  logger.info(`pg_dump wrote ${options.outputFile} in ${durationMs} ms.`);
  return { file: options.outputFile, pgDump, args, durationMs };
}

const STDERR_LIMIT = 64 * 1024;

function runPgDump(file: string, args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'ignore', 'pipe'], signal });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk;
    });
    child.on('error', (error) => {
      if (error.name === 'AbortError') {
        reject(new PgDumpError('failed', 'pg_dump was stopped before it finished; no dump was written.', { cause: error }));
        return;
      }
      reject(new PgDumpError('failed', `pg_dump (${file}) could not run: ${error.message}`, { cause: error }));
    });
    child.on('close', (code, killedBy) => {
      if (code === 0) return resolve();
      const how = killedBy === null ? `exited with code ${String(code)}` : `was killed by ${killedBy}`;
      const said = stderr.trim() === '' ? '' : `:\n${stderr.trim().slice(0, STDERR_LIMIT)}`;
      reject(
        new PgDumpError('failed', `pg_dump ${how}${said}`, {
          hint: 'Fix what pg_dump reports (connection, privileges, lock timeouts) and run `godwit export schema` again.',
        }),
      );
    });
  });
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
