// Typed errors thrown by every layer below the CLI. Only src/cli turns them into messages and exit
// codes, so a pipeline stage never decides how the process ends.

/** Exit codes the CLI uses; scripts that drive godwit can tell failure kinds apart. */
export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  connection: 3,
  locked: 4,
  state: 5,
  notAvailable: 6,
  notReady: 7,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a message for the user, an optional hint saying how to fix it, an exit code. */
export class GodwitError extends Error {
  readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string; exitCode?: ExitCodeValue; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.failure;
    this.hint = options.hint;
  }
}

/** Bad configuration: unknown key, wrong type, missing setting, unreadable file. */
export class ConfigError extends GodwitError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}

/** The command line itself is wrong, or a confirmation is needed and cannot be asked for. */
export class UsageError extends GodwitError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}

/** Which side of the migration a database error concerns. */
export type DatabaseRole = 'source' | 'target';

/** A database could not be reached or refused us; `reason` lets callers and tests tell cases apart. */
export class ConnectionError extends GodwitError {
  readonly role: DatabaseRole;
  readonly reason: ConnectionFailureReason;

  constructor(
    role: DatabaseRole,
    reason: ConnectionFailureReason,
    message: string,
    options: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, { ...options, exitCode: ExitCode.connection });
    this.role = role;
    this.reason = reason;
  }
}

export type ConnectionFailureReason =
  | 'wrong-password'
  | 'password-missing'
  | 'unreachable'
  | 'unknown-host'
  | 'timeout'
  | 'missing-database'
  | 'server-too-old'
  | 'rejected'
  | 'tls'
  | 'other';

/** Another copy of a command holds the export directory's lock for it. */
export class LockError extends GodwitError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.locked });
  }
}

/** The export directory or the migration store is not in a state this command can work from. */
export class StateError extends GodwitError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.state });
  }
}

/** A database is not ready for what was asked (wal_level, privileges, replica identity, ...). */
export class NotReadyError extends GodwitError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.notReady });
  }
}

/** The command exists in the grammar but its pipeline is not built yet. */
export class NotAvailableError extends GodwitError {
  constructor(commandName: string) {
    super(`\`godwit ${commandName}\` is not available yet in this version of godwit.`, {
      exitCode: ExitCode.notAvailable,
      hint: 'Run `godwit --help` to see which commands are available.',
    });
  }
}

/**
 * A cutover step asked for a transition the cutover state machine forbids (a second request, cutover
 * to source before cutover to target completed, a step out of order); src/cutover/cutover-states.ts.
 */
export class CutoverStateError extends GodwitError {
  readonly direction: string;
  readonly from: string;
  readonly event: string;

  constructor(direction: string, from: string, event: string, message: string, options: { hint?: string } = {}) {
    super(message, { ...options, exitCode: ExitCode.state });
    this.direction = direction;
    this.from = from;
    this.event = event;
  }
}

/** Text of any thrown value, for logs and wrapping; never throws itself. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True when `error` (or an error it wraps) says a local file system is full (ENOSPC, SQLite's SQLITE_FULL). */
export function isDiskFull(error: unknown): boolean {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 8; e = e.cause as typeof e, depth++) {
    if (e.code === 'ENOSPC' || e.code === 'SQLITE_FULL') return true;
  }
  return false;
}

/** The message for a full export-directory file system, whichever layer noticed it first. */
export function diskFullError(error: unknown): StateError {
  return new StateError(`The file system of the export directory is full: ${describeError(error)}.`, {
    cause: error,
    hint: 'Free space there (for example with `godwit archive changes`, or by growing the file system), then run the same command again: it resumes from the last durable state.',
  });
}
