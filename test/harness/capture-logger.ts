// A Logger that keeps what it is given, so tests can assert what godwit logged (retries, warnings).

import type { Logger, LogFields, LogLevel } from '../../src/core/logger.js';

/** One captured line. */
export interface CapturedLine {
  level: LogLevel;
  message: string;
  fields: LogFields | undefined;
}

/** A Logger whose `lines` hold everything logged through it, in order. */
export function capturingLogger(): Logger & { lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      lines.push({ level, message, fields });
    };
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace') };
}
