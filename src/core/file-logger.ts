// The Logger that writes `logs/<command>.log` in the export directory: appended, one line per entry
// (ISO timestamp, level, message, JSON fields), every line redacted, and written with a synchronous
// write so a process killed right after logging still leaves the line in the file.

import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { GodwitError, describeError } from './errors.js';
import { levelEnabled, type LogFields, type LogLevel, type Logger } from './logger.js';
import { processRedactor, type Redactor } from './redact.js';

export interface FileLoggerOptions {
  /** The log file; its directory is created when missing. */
  file: string;
  /** The most detailed level written (`--log-level`). */
  level: LogLevel;
  /** Defaults to the process-wide redactor that configuration registers passwords with. */
  redactor?: Redactor;
  /** Secret values (passwords) to register with the redactor before the first line is written. */
  secrets?: readonly string[];
  clock?: () => Date;
}

/** A Logger appending redacted lines to one file; close it when the command ends. */
export class FileLogger implements Logger {
  readonly file: string;
  readonly level: LogLevel;
  private readonly redactor: Redactor;
  private readonly clock: () => Date;
  private fd: number | undefined;

  constructor(options: FileLoggerOptions) {
    this.file = options.file;
    this.level = options.level;
    this.redactor = options.redactor ?? processRedactor;
    for (const secret of options.secrets ?? []) this.redactor.addSecret(secret);
    this.clock = options.clock ?? (() => new Date());
    try {
      mkdirSync(dirname(this.file), { recursive: true });
      this.fd = openSync(this.file, 'a');
    } catch (error) {
      throw new GodwitError(`Cannot open the log file ${this.file}: ${describeError(error)}`, { cause: error });
    }
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  trace(message: string, fields?: LogFields): void {
    this.write('trace', message, fields);
  }

  /** True when a line at `level` would be written (to skip building costly fields). */
  enabled(level: LogLevel): boolean {
    return levelEnabled(level, this.level);
  }

  /** Closes the file; later calls are ignored (a late callback must not crash the process). */
  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private write(level: LogLevel, message: string, fields: LogFields | undefined): void {
    if (this.fd === undefined || !levelEnabled(level, this.level)) return;
    const line = formatLogLine(this.clock(), level, message, fields, this.redactor);
    const bytes = Buffer.from(line, 'utf8');
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset, bytes.length - offset);
  }
}

/** Opens the log of one command (`file` is `ExportDir.logFile(command)`); the CLI's single entry. */
export function createFileLogger(options: FileLoggerOptions): FileLogger {
  return new FileLogger(options);
}

/** One log line, newline included: `<ISO time> <LEVEL> <message> <JSON fields>`, redacted. */
export function formatLogLine(time: Date, level: LogLevel, message: string, fields: LogFields | undefined, redactor: Redactor): string {
  let body = redactor.redact(message).replace(/\r?\n/g, '\\n');
  if (fields !== undefined && Object.keys(fields).length > 0) {
    body += ` ${JSON.stringify(redactor.redactValue(fields))}`;
  }
  // A last pass over message and fields: nothing registered may survive, whatever escaping produced it.
  return `${time.toISOString()} ${level.toUpperCase().padEnd(5)} ${redactor.redact(body)}\n`;
}
