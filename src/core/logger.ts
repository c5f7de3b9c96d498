// The logging contract every layer writes to. The implementation that writes
// `logs/<command>.log` in the export directory lives in src/core/file-logger.ts.

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Structured context attached to a log line (values are redacted like the message). */
export type LogFields = Record<string, unknown>;

/** What pipeline code logs through; never a concrete file, so tests can capture lines. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
  trace(message: string, fields?: LogFields): void;
}

/** True when a line at `level` passes a logger configured at `threshold`. */
export function levelEnabled(level: LogLevel, threshold: LogLevel): boolean {
  return LOG_LEVELS.indexOf(level) <= LOG_LEVELS.indexOf(threshold);
}

/** A logger that drops everything: for library calls made outside a command (tests, the demo). */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  trace: () => undefined,
};
