// The typed error for a schema file the PostgreSQL parser rejects: it names the file, the line and
// column and what the parser said, so the CLI can print "schema/tables/table.sql, line 12: ...".
import { GodwitError } from '../../core/errors.js';

/** A schema file is not valid SQL; `line` and `column` are 1-based. */
export class SqlSyntaxError extends GodwitError {
  readonly fileName: string;
  readonly line: number;
  readonly column: number;
  readonly parserMessage: string;

  constructor(fileName: string, line: number, column: number, parserMessage: string, options: { cause?: unknown } = {}) {
    super(`${fileName}, line ${line}: ${parserMessage}`, {
      ...options,
      hint: `Fix the SQL in ${fileName} near line ${line}, column ${column}, and run the command again.`,
    });
    this.fileName = fileName;
    this.line = line;
    this.column = column;
    this.parserMessage = parserMessage;
  }
}
