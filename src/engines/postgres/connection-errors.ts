// Turns what node-postgres, Node's sockets and TLS throw while connecting into ConnectionErrors
// that say which database, what went wrong and which flag fixes it; and tells transient failures
// (worth a retry) from permanent ones.

import { connectionFlagName, passwordEnvVar, type DatabaseSettings } from '../../core/database-settings.js';
import { ConnectionError, describeError, type ConnectionFailureReason, type DatabaseRole } from '../../core/errors.js';

/** Thrown by our password callback when the server asks for a password and none is known. */
export class PasswordNeededError extends Error {
  constructor() {
    super('the server asks for a password and none was given');
  }
}

/** Thrown when a connection attempt does not finish within the connect timeout. */
export class ConnectTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** Where the password of an attempt came from, so a rejection can say which one was wrong. */
export type PasswordSource = 'settings' | 'pgpass' | 'prompt' | 'none';

/** What the connect loop knows when it gives up. */
export interface FailureContext {
  attempts: number;
  passwordSource: PasswordSource;
  pgpassFile: string | undefined;
  /** Redacted from every message, should a server or library ever echo it. */
  password: string | undefined;
}

/** The command-line flag for one setting of a side: flagName('source', 'db-host') -> --source-db-host. */
export function flagName(role: DatabaseRole, setting: string): string {
  return `--${connectionFlagName(role, setting)}`;
}

/** "source database at host:port", the subject of every connection message. */
export function serverPlace(settings: DatabaseSettings): string {
  return `${settings.role} database at ${settings.host}:${settings.port}`;
}

const TRANSIENT_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);
const TRANSIENT_SQLSTATES = new Set(['57P03', '53300']);

/** True for failures that may pass by themselves: refused/reset sockets, timeouts, a starting or full server. */
export function isTransient(error: unknown): boolean {
  if (error instanceof ConnectTimeoutError) return true;
  const code = errorCode(error);
  if (code !== undefined && (TRANSIENT_SOCKET_CODES.has(code) || TRANSIENT_SQLSTATES.has(code) || code.startsWith('08'))) {
    return true;
  }
  return describeError(error) === 'Connection terminated unexpectedly';
}

/** True when the server (not the network) refused the login: SQLSTATE class 28, for the allow/prefer fall-backs. */
export function isLoginRejection(error: unknown): boolean {
  return errorCode(error) === '28000';
}

/** True when the server answered the TLS request with "no". */
export function isTlsNotSupported(error: unknown): boolean {
  return describeError(error) === 'The server does not support SSL connections';
}

/** The SQLSTATE or Node error code of a connection failure (looking inside AggregateErrors). */
export function errorCode(error: unknown): string | undefined {
  if (error instanceof AggregateError && error.errors.length > 0) return errorCode(error.errors[0]);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The ConnectionError for a failed connection: reason, message naming role/host/port/user/database, and a hint. */
export function toConnectionError(error: unknown, settings: DatabaseSettings, context: FailureContext): ConnectionError {
  if (error instanceof ConnectionError) return error;
  const [reason, message, hint] = explain(error, settings, context);
  return new ConnectionError(settings.role, reason, redact(message, context.password), {
    hint: redact(hint, context.password),
    cause: error,
  });
}

type Explanation = [ConnectionFailureReason, string, string];

function explain(error: unknown, settings: DatabaseSettings, context: FailureContext): Explanation {
  const { role, host, user, database } = settings;
  const place = serverPlace(settings);
  const tries = context.attempts > 1 ? ` (${context.attempts} attempts)` : '';
  const hostAndPort = `${flagName(role, 'db-host')} and ${flagName(role, 'db-port')}`;
  const code = errorCode(error);
  const text = serverText(error);

  if (error instanceof PasswordNeededError) {
    return [
      'password-missing',
      `The ${place} asks for a password for user "${user}", and none was given.`,
      `Give it in ${passwordEnvVar(role)} (or with ${flagName(role, 'db-password')}), or run godwit on a terminal to be asked for it.`,
    ];
  }
  if (error instanceof ConnectTimeoutError) {
    return [
      'timeout',
      `The ${place} did not answer within ${error.timeoutMs / 1000} s${tries}.`,
      `Check ${hostAndPort}, and that no firewall drops the connection.`,
    ];
  }
  switch (code) {
    case '28P01': {
      const from =
        context.passwordSource === 'pgpass' ? ` (the password came from ${context.pgpassFile ?? 'the password file'})` : '';
      return [
        'wrong-password',
        `Password authentication failed for user "${user}" on the ${place}${from}.`,
        `Check ${flagName(role, 'db-user')}, and give the right password in ${passwordEnvVar(role)} (or with ${flagName(role, 'db-password')}).`,
      ];
    }
    case '3D000':
      return [
        'missing-database',
        `The ${place} has no database "${database}".`,
        `Check ${flagName(role, 'db-name')} (\`psql -l\` lists the databases of a server).`,
      ];
    case '28000':
    case '42501':
      return ['rejected', `The ${place} refused user "${user}" for database "${database}": ${text}.`, rejectionHint(role, code, text)];
    case 'ENOTFOUND':
      return ['unknown-host', `The ${role} database host "${host}" is unknown: the name does not resolve.`, `Check ${flagName(role, 'db-host')}.`];
    case '57P03':
      return ['unreachable', `The ${place} is not accepting connections: ${text}${tries}.`, 'Wait until the server has started, then run the command again.'];
    case '53300':
      return [
        'other',
        `The ${place} has no free connection slot: ${text}${tries}.`,
        'Close idle sessions on that server, or raise its max_connections.',
      ];
  }
  if (code !== undefined && TRANSIENT_SOCKET_CODES.has(code)) {
    return [
      'unreachable',
      `Could not connect to the ${place}: ${socketProblem(code)}${tries}.`,
      `Check that PostgreSQL runs there and accepts TCP connections (listen_addresses, port), and check ${hostAndPort}.`,
    ];
  }
  if (isTlsNotSupported(error)) {
    return [
      'tls',
      `The ${place} does not accept TLS connections, and ${flagName(role, 'ssl-mode')} ${settings.sslMode} requires TLS.`,
      `Enable ssl on that server, or use ${flagName(role, 'ssl-mode')} prefer (TLS when the server offers it) or disable.`,
    ];
  }
  if (isTlsError(error)) return explainTls(error, settings);
  if (code?.startsWith('08')) {
    return ['unreachable', `The ${place} broke off the connection: ${text}${tries}.`, `Check ${hostAndPort}.`];
  }
  if (text === 'Connection terminated unexpectedly') {
    return ['unreachable', `The ${place} closed the connection during login${tries}.`, `Check the server's log, and ${hostAndPort}.`];
  }
  return [
    'other',
    `Could not connect to the ${place} (database "${database}", user "${user}"): ${text}.`,
    `Check the ${role} connection settings (${flagName(role, 'db-host')}, ${flagName(role, 'db-port')}, ${flagName(role, 'db-user')}, ${flagName(role, 'db-name')}, ${flagName(role, 'ssl-mode')}).`,
  ];
}

function rejectionHint(role: DatabaseRole, code: string, text: string): string {
  if (code === '42501') return 'Grant the user the privilege it lacks (CONNECT on the database; REPLICATION for replication connections).';
  if (/no encryption/.test(text)) {
    return `The server accepts this login only over TLS: use ${flagName(role, 'ssl-mode')} require, verify-ca or verify-full.`;
  }
  if (/certificate/i.test(text)) {
    return `Check the client certificate (${flagName(role, 'ssl-cert')}, ${flagName(role, 'ssl-key')}): its CN must be the user name.`;
  }
  return `Ask for a pg_hba.conf entry that allows this connection, or check ${flagName(role, 'db-user')} and ${flagName(role, 'ssl-mode')}.`;
}

const HOSTNAME_CODES = new Set(['ERR_TLS_CERT_ALTNAME_INVALID']);

function isTlsError(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && /CERT|SSL|TLS|OSSL/.test(code)) return true;
  return describeError(error) === 'There was an error establishing an SSL connection';
}

function explainTls(error: unknown, settings: DatabaseSettings): Explanation {
  const { role } = settings;
  const place = serverPlace(settings);
  const code = errorCode(error) ?? 'TLS';
  const text = describeError(error);
  const mode = flagName(role, 'ssl-mode');
  if (HOSTNAME_CODES.has(code)) {
    return [
      'tls',
      `The TLS certificate of the ${place} is not valid for host "${settings.host}": ${text}.`,
      `Connect with a host name the certificate names (${flagName(role, 'db-host')}), or use ${mode} verify-ca to skip the host name check.`,
    ];
  }
  if (/CERT|SIGNATURE|ISSUER/.test(code)) {
    const rootCert = flagName(role, 'ssl-root-cert');
    return [
      'tls',
      `Could not verify the TLS certificate of the ${place}: ${text} (${code}).`,
      settings.sslRootCert === undefined || settings.sslRootCert === 'system'
        ? `Give the CA certificate that signed the server's certificate with ${rootCert}.`
        : `Check that ${rootCert} (${settings.sslRootCert}) holds the CA that signed the server's certificate, or use ${mode} require to encrypt without verifying.`,
    ];
  }
  return [
    'tls',
    `The TLS connection to the ${place} failed: ${text} (${code}).`,
    `Check ${mode}, ${flagName(role, 'ssl-cert')} and ${flagName(role, 'ssl-key')}.`,
  ];
}

function socketProblem(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'the connection was reset';
    case 'ETIMEDOUT':
      return 'the connection timed out';
    case 'EAI_AGAIN':
      return 'the host name could not be resolved right now';
    default:
      return 'no route to the host';
  }
}

function serverText(error: unknown): string {
  return describeError(error).replace(/\.$/, '');
}

// Servers never echo passwords; this guards against a library that would. Very short passwords
// are skipped: replacing every "ab" in a message would garble it and hide nothing.
function redact(text: string, password: string | undefined): string {
  return password !== undefined && password.length >= 4 ? text.split(password).join('********') : text;
}
