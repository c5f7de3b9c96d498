// Turns the text of a SQL file (pg_dump output or a user-edited schema file) into statements with
// their exact text, start line, syntax tree and classification, using the real PostgreSQL parser.
import { setFlagsFromString } from 'node:v8';
import { importExternal } from '../../core/import-external.js';
import type { Node, ParseResult } from 'libpg-query';
import { classifyStatement } from './classify-statement.js';
import { SqlSyntaxError } from './sql-syntax-error.js';
import type { ParsedStatement } from './statement-types.js';
import { stripPsqlMetaCommands } from './strip-psql-meta.js';

type SqlParserModule = typeof import('libpg-query');

let loading: Promise<void> | undefined;
let parser: SqlParserModule | undefined;

/**
 * Loads the WebAssembly parser once; the synchronous functions need it loaded first. Loaded on demand
 * (the module instantiates its 1.7 MB of WebAssembly when imported) and kept on V8's baseline
 * compiler: optimising the whole module in the background cost every command about 0.2 s of CPU,
 * while its parses take milliseconds.
 */
export function loadSqlParser(): Promise<void> {
  loading ??= (async () => {
    setFlagsFromString('--liftoff-only');
    const module = await importExternal<SqlParserModule>('libpg-query');
    await module.loadModule();
    parser = module;
  })();
  return loading;
}

/** The loaded parser module, for synchronous parsing after loadSqlParser() resolved. */
export function sqlParser(): SqlParserModule {
  if (parser === undefined) throw new Error('The SQL parser is used before loadSqlParser() finished.');
  return parser;
}

/** Parses a file's text into statements; loads the parser if needed. Throws SqlSyntaxError. */
export async function parseSqlText(text: string, fileName: string): Promise<ParsedStatement[]> {
  await loadSqlParser();
  return parseSqlTextSync(text, fileName);
}

/** Line and column (1-based) of a 0-based code-point offset, for parser error positions. */
export function positionOfCodePoint(text: string, codePointOffset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  let seen = 0;
  for (const ch of text) {
    if (seen >= codePointOffset) break;
    seen++;
    if (ch === '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  return { line, column };
}

function runParser(text: string, fileName: string): ParseResult {
  try {
    return sqlParser().parseSync(text);
  } catch (error) {
    if (sqlParser().hasSqlDetails(error) && error.sqlDetails !== undefined) {
      const { line, column } = positionOfCodePoint(text, error.sqlDetails.cursorPosition);
      throw new SqlSyntaxError(fileName, line, column, error.sqlDetails.message, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    throw new SqlSyntaxError(fileName, 1, 1, message, { cause: error });
  }
}

/** Start offsets (bytes) of every line, to turn a byte offset into a line number. */
function lineStarts(bytes: Buffer): number[] {
  const starts = [0];
  for (let i = bytes.indexOf(10); i !== -1; i = bytes.indexOf(10, i + 1)) starts.push(i + 1);
  return starts;
}

function lineOfByte(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Synchronous parseSqlText for callers that already awaited loadSqlParser(). */
export function parseSqlTextSync(text: string, fileName: string): ParsedStatement[] {
  const cleaned = stripPsqlMetaCommands(text).text;
  const tree = runParser(cleaned, fileName);
  const bytes = Buffer.from(cleaned, 'utf8');
  const starts = lineStarts(bytes);
  const statements: ParsedStatement[] = [];
  for (const raw of tree.stmts ?? []) {
    if (raw.stmt === undefined) continue;
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? bytes.length : start + raw.stmt_len;
    const sql = bytes.subarray(start, end).toString('utf8').trimEnd();
    const ast: Node = raw.stmt;
    statements.push({ file: fileName, line: lineOfByte(starts, start), sql, ast, ...classifyStatement(ast) });
  }
  return statements;
}
