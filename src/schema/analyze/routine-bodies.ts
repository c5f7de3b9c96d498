// Function, procedure and DO bodies are strings inside CREATE statements. This parses them (SQL
// bodies with the SQL parser, PL/pgSQL with libpg-query's PL/pgSQL parser, then every embedded SQL
// expression again) so query-construct rules can look inside them like any other statement.
import type { CreateFunctionStmt, DefElem, Node, TypeName } from 'libpg-query';
import { sqlParser } from '../parse/parse-sql.js';
import { stringList, typeBaseName } from '../parse/ast-names.js';
import { nodeAs, walkAst } from '../parse/ast-walk.js';
import type { ParsedStatement } from '../parse/statement-types.js';

/** What the analysis learned from a routine's body. */
export interface RoutineBody {
  language: string;
  /** Syntax trees of the SQL found in the body (statements or expressions wrapped in SELECT). */
  sqlRoots: unknown[];
  /** The PL/pgSQL tree, when the language is plpgsql and it parsed. */
  plpgsql: unknown;
  /** The body could not be parsed, so it was not analysed. */
  unparsed: boolean;
}

function option(options: Node[] | undefined, name: string): Node | undefined {
  for (const o of options ?? []) {
    const d = nodeAs<DefElem>(o, 'DefElem');
    if (d?.defname === name) return d.arg;
  }
  return undefined;
}

function tryParse(sql: string): unknown[] | undefined {
  try {
    return (sqlParser().parseSync(sql).stmts ?? []).map((s) => s.stmt);
  } catch {
    return undefined;
  }
}

/** Parses one PL/pgSQL embedded query (statement, expression or `var := expr` assignment). */
function parseEmbedded(query: string, parseMode: number): unknown[] {
  const candidates: string[] = [];
  const assignment = /^\s*[^:]*?:=([\s\S]*)$/.exec(query);
  if (parseMode === 3 && assignment !== null) candidates.push(`SELECT ${assignment[1] ?? ''}`);
  if (parseMode === 0) candidates.push(query);
  candidates.push(`SELECT ${query}`, query);
  for (const sql of candidates) {
    const roots = tryParse(sql);
    if (roots !== undefined) return roots;
  }
  return [];
}

function dollarQuote(body: string): string {
  let tag = '$godwit_body$';
  for (let i = 0; body.includes(tag); i++) tag = `$godwit_body${i}$`;
  return `${tag}${body}${tag}`;
}

function parsePlpgsql(stmtSql: string, body: string, returnType: TypeName | undefined): unknown {
  try {
    return sqlParser().parsePlPgSQLSync(stmtSql);
  } catch {
    // The PL/pgSQL parser resolves some declarations (e.g. parameters of type t.c%TYPE) against a
    // catalog it does not have; retry with a neutral signature, the body unchanged.
  }
  const base = typeBaseName(returnType);
  const returns = base === 'trigger' || base === 'void' ? base : returnType?.setof === true ? 'SETOF record' : 'record';
  try {
    return sqlParser().parsePlPgSQLSync(`CREATE FUNCTION godwit_body() RETURNS ${returns} LANGUAGE plpgsql AS ${dollarQuote(body)}`);
  } catch {
    return undefined;
  }
}

function plpgsqlRoots(tree: unknown): unknown[] {
  const roots: unknown[] = [];
  walkAst(tree, (type, fields) => {
    if (type === 'PLpgSQL_expr' && typeof fields.query === 'string') {
      roots.push(...parseEmbedded(fields.query, Number(fields.parseMode ?? 0)));
    }
  });
  return roots;
}

function analyseBody(stmtSql: string, language: string, body: string | undefined, returnType: TypeName | undefined): RoutineBody {
  if (body === undefined) return { language, sqlRoots: [], plpgsql: undefined, unparsed: false };
  if (language === 'sql') {
    const roots = tryParse(body);
    return { language, sqlRoots: roots ?? [], plpgsql: undefined, unparsed: roots === undefined };
  }
  if (language === 'plpgsql') {
    const tree = parsePlpgsql(stmtSql, body, returnType);
    return { language, sqlRoots: tree === undefined ? [] : plpgsqlRoots(tree), plpgsql: tree, unparsed: tree === undefined };
  }
  return { language, sqlRoots: [], plpgsql: undefined, unparsed: false };
}

/** The parsed body of a CREATE FUNCTION/PROCEDURE or DO statement; undefined for other statements. */
export function routineBody(statement: ParsedStatement): RoutineBody | undefined {
  const fn = nodeAs<CreateFunctionStmt>(statement.ast, 'CreateFunctionStmt');
  if (fn !== undefined) {
    const language = (stringList([option(fn.options, 'language') ?? { String: { sval: 'sql' } }])[0] ?? 'sql').toLowerCase();
    if (fn.sql_body !== undefined) return { language, sqlRoots: [fn.sql_body], plpgsql: undefined, unparsed: false };
    const as = stringList(nodeAs<{ items?: Node[] }>(option(fn.options, 'as'), 'List')?.items);
    return analyseBody(statement.sql, language, as.length === 1 ? as[0] : undefined, fn.returnType);
  }
  const doStmt = nodeAs<{ args?: Node[] }>(statement.ast, 'DoStmt');
  if (doStmt !== undefined) {
    const body = stringList([option(doStmt.args, 'as') ?? { String: { sval: '' } }])[0];
    const language = (stringList([option(doStmt.args, 'language') ?? { String: { sval: 'plpgsql' } }])[0] ?? 'plpgsql').toLowerCase();
    if (language !== 'plpgsql') return analyseBody('', language, body, undefined);
    const tree = parsePlpgsql(`CREATE FUNCTION godwit_do() RETURNS void LANGUAGE plpgsql AS ${dollarQuote(body ?? '')}`, body ?? '', undefined);
    return { language, sqlRoots: tree === undefined ? [] : plpgsqlRoots(tree), plpgsql: tree, unparsed: tree === undefined };
  }
  return undefined;
}
