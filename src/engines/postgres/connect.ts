// Opens the connections of every command: one place that applies the TLS mode, the password
// (given, from ~/.pgpass, or asked for once), timeouts and keepalive, retries transient failures
// with backoff, checks the server version, and turns every failure into a clear ConnectionError.

import pg from 'pg';
import type { DatabaseSettings } from '../../core/database-settings.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import {
  ConnectTimeoutError,
  PasswordNeededError,
  isTransient,
  serverPlace,
  toConnectionError,
  type PasswordSource,
} from './connection-errors.js';
import { findPgpassPassword } from './pgpass.js';
import { assertServerVersion, minimumServerVersionNum, readServerInfo, type ServerInfo } from './server-info.js';
import { shouldFallBack, tlsChoices, type TlsChoice } from './ssl.js';

/** How hard to try before giving up on transient failures. */
export interface RetryPolicy {
  /** Attempts in all, the first included; default 4. */
  attempts: number;
  /** Wait before the second attempt; doubles each time. Default 500 ms. */
  baseDelayMs: number;
  /** Longest wait between attempts; default 8 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

export interface ConnectOptions {
  /** Shown in pg_stat_activity: `godwit <command words>`, for example `godwit export data from source`. */
  applicationName: string;
  logger?: Logger;
  /** Per attempt, TLS and login included; default 10 s. */
  connectTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Asked once when the server wants a password and none is known (the CLI's hidden prompt). */
  promptPassword?: (request: PasswordRequest) => Promise<string | undefined>;
  /** Default: MIN_SOURCE_SERVER_VERSION_NUM or MIN_TARGET_SERVER_VERSION_NUM by role. */
  minServerVersionNum?: number;
  /** `database` opens a logical replication connection (walsender) on the settings' database. */
  replication?: 'database';
}

/** What a password prompt shows. */
export interface PasswordRequest {
  role: DatabaseSettings['role'];
  host: string;
  port: number;
  user: string;
  /** "Password for user app on the source database at db1:5432: " */
  prompt: string;
}

/** A connected client and what was learnt while connecting. */
export interface DatabaseConnection {
  client: pg.Client;
  server: ServerInfo;
  /** The settings that worked, with a prompted or ~/.pgpass password filled in for further connections. */
  settings: DatabaseSettings;
  /** True when the connection is TLS-encrypted. */
  encrypted: boolean;
  /** The driver settings that logged in (TLS choice and password included): poolFrom opens more without probing again. */
  clientConfig: pg.ClientConfig;
}

/** A pool for parallel work, made only after one connection proved the settings. */
export interface DatabasePool {
  pool: pg.Pool;
  server: ServerInfo;
  settings: DatabaseSettings;
  encrypted: boolean;
}

interface Established {
  client: pg.Client;
  config: pg.ClientConfig;
}

/**
 * A pool with the settings a connection already proved, without another login to prove them: every
 * login costs both sides a few milliseconds of CPU (SCRAM, a new backend), and an importer restarted
 * after a backlog has nothing else to do yet. The connection stays the caller's to use or end.
 */
export function poolFrom(connection: DatabaseConnection, options: ConnectOptions & { max?: number }): DatabasePool {
  const { settings } = connection;
  // Never a replication session: a pool's connections run SQL.
  const { replication: _replication, ...config } = connection.clientConfig as pg.ClientConfig & { replication?: string };
  const logger = options.logger ?? silentLogger;
  const pool = new pg.Pool({ ...config, application_name: options.applicationName, max: options.max ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 });
  pool.on('error', (error) => logger.warn(`An idle connection to the ${serverPlace(settings)} failed: ${error.message}`));
  // A client checked out of the pool has no pool listener: a server that goes away between two of its
  // queries (a crash, a restart, a cut connection) would raise an unhandled 'error' and end the process.
  // With a listener, the failure shows up as the error of the client's next query, which callers handle.
  pool.on('connect', (client) => {
    client.on('error', (error) => logger.warn(`A connection to the ${serverPlace(settings)} failed: ${error.message}`));
  });
  return { pool, server: connection.server, settings: connection.settings, encrypted: connection.encrypted };
}

/** Connects to one side of the migration, retrying transient failures; throws ConnectionError. */
export async function connect(
  settings: DatabaseSettings,
  options: ConnectOptions,
): Promise<DatabaseConnection> {
  const logger = options.logger ?? silentLogger;
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  let password = settings.password;
  let passwordSource: PasswordSource = password === undefined ? 'none' : 'settings';
  let pgpassFile: string | undefined;
  const failure = (error: unknown, attempts: number): Error =>
    toConnectionError(error, settings, { attempts, passwordSource, pgpassFile, password });

  const choices = await tlsChoices(settings);
  if (password === undefined) {
    const found = await findPgpassPassword(settings, logger);
    if (found) [password, passwordSource, pgpassFile] = [found.password, 'pgpass', found.file];
  }

  let prompted = false;
  for (let attempt = 1; ; attempt++) {
    try {
      const { client, config } = await openWithFallBack(settings, password, choices, options);
      const server = await checkedServerInfo(client, settings, options);
      client.removeAllListeners('error');
      client.on('error', (error) => logger.warn(`The connection to the ${serverPlace(settings)} failed: ${error.message}`));
      const encrypted = config.ssl !== false;
      logger.debug(`Connected to the ${serverPlace(settings)} (${server.versionString}${encrypted ? ', TLS' : ''}).`);
      return { client, server, settings: { ...settings, password }, encrypted, clientConfig: config };
    } catch (error) {
      if (error instanceof PasswordNeededError && !prompted && options.promptPassword) {
        prompted = true;
        password = await options.promptPassword(passwordRequest(settings));
        passwordSource = 'prompt';
        if (password === undefined || password === '') throw failure(error, attempt);
        attempt--; // asking is not a retry
        continue;
      }
      if (!isTransient(error) || attempt >= policy.attempts) throw failure(error, attempt);
      const delayMs = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
      const what = failure(error, 1).message.replace(/\.$/, '');
      logger.warn(
        `${what}; retrying in ${delayMs} ms (attempt ${attempt + 1} of ${policy.attempts}).`,
        { role: settings.role, host: settings.host, port: settings.port, attempt, delayMs },
      );
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

// libpq's allow/prefer: when the first TLS choice fails in a way the next choice could avoid, try it.
async function openWithFallBack(
  settings: DatabaseSettings,
  password: string | undefined,
  choices: TlsChoice[],
  options: ConnectOptions,
): Promise<Established> {
  for (let index = 0; ; index++) {
    const ssl = choices[index] ?? false;
    const config = clientConfig(settings, password, ssl, options);
    try {
      return { client: await openOnce(config, options.connectTimeoutMs ?? 10_000), config };
    } catch (error) {
      if (index + 1 < choices.length && shouldFallBack(settings.sslMode, ssl, error)) continue;
      throw error;
    }
  }
}

/**
 * Values are printed in one spelling, whatever the server's or the database's settings: they travel as
 * text from the source's walsender (and COPY) to the target's sessions, and a source set to DateStyle
 * 'SQL, DMY' printed 13/01/2026, which a target set to MDY refused (and read 02/12/2026 as February
 * 12); extra_float_digits 0 rounds floats to 15 digits. PostgreSQL's own logical replication
 * walreceiver sets the same three.
 */
const PORTABLE_TEXT_SETTINGS = '-c datestyle=ISO -c intervalstyle=postgres -c extra_float_digits=3';

function clientConfig(
  settings: DatabaseSettings,
  password: string | undefined,
  ssl: TlsChoice,
  options: ConnectOptions,
): pg.ClientConfig {
  const config: pg.ClientConfig & { replication?: string } = {
    host: settings.host,
    port: settings.port,
    user: settings.user,
    database: settings.database,
    // A function, so pg neither reads ~/.pgpass itself nor fails obscurely without a password.
    password: () => {
      if (password === undefined) throw new PasswordNeededError();
      return password;
    },
    ssl,
    application_name: options.applicationName,
    // Where values are printed for the other side: streams, and the source (snapshot, fall-back). Both
    // must be reached directly (replication does not pass poolers); a target-only session may pass one
    // (PgBouncer refuses the options parameter unless told to ignore it), and reading the ISO and
    // postgres spellings needs no setting.
    options: options.replication !== undefined || settings.role === 'source' ? PORTABLE_TEXT_SETTINGS : undefined,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
  if (options.replication) config.replication = options.replication;
  return config;
}

async function openOnce(config: pg.ClientConfig, timeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client(config);
  // Errors that arrive after the attempt was decided (a late socket error) must not crash the process.
  client.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ConnectTimeoutError(timeoutMs)), timeoutMs);
  });
  const connecting = client.connect();
  connecting.catch(() => undefined);
  try {
    await Promise.race([connecting, timedOut]);
    return client;
  } catch (error) {
    client.connection.stream.destroy();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function checkedServerInfo(
  client: pg.Client,
  settings: DatabaseSettings,
  options: ConnectOptions,
): Promise<ServerInfo> {
  try {
    const server = await readServerInfo(client);
    assertServerVersion(server, settings, options.minServerVersionNum ?? minimumServerVersionNum(settings.role));
    return server;
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

function passwordRequest(settings: DatabaseSettings): PasswordRequest {
  return {
    role: settings.role,
    host: settings.host,
    port: settings.port,
    user: settings.user,
    prompt: `Password for user ${settings.user} on the ${serverPlace(settings)}: `,
  };
}
