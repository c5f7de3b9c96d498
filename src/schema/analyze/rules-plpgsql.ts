// Routine-level issues: PL/pgSQL constructs the analysis or the target handle differently
// (%TYPE references, dynamic SQL), languages the target lacks, bodies that could not be parsed,
// and SQL-standard function bodies (BEGIN ATOMIC).
import type { CreateFunctionStmt, FunctionParameter, Node } from 'libpg-query';
import { findNodes, nodeAs, walkAst } from '../parse/ast-walk.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';

const P = 'unsupported_plpgsql_objects' as const;

const definitions: IssueDefinition[] = [
  { type: 'PLPGSQL_REFERENCED_TYPE', category: P, title: 'Referenced type declaration (%TYPE / %ROWTYPE)', reason: 'Variables or parameters declared as table.column%TYPE or table%ROWTYPE are resolved against the table when the routine is created or run; on YugabyteDB releases based on PostgreSQL 11 %TYPE in parameters of some routines fails.', suggestion: 'Declare the concrete data type instead of the reference.', docsLink: docsLink('referenced-type-declaration-of-variables') },
  { type: 'PLPGSQL_DYNAMIC_SQL', category: P, title: 'Dynamic SQL (EXECUTE)', reason: 'SQL built at run time with EXECUTE cannot be analysed here; it may use constructs YugabyteDB does not support.', suggestion: 'Review the statements this routine builds, and test it on the target.' },
  { type: 'UNSUPPORTED_FUNCTION_LANGUAGE', category: P, title: 'Routine language not available on the target', reason: 'Routines in languages other than SQL and PL/pgSQL (plpython3u, plperl, C, ...) need the language or library installed on every YugabyteDB node, which is not available.', suggestion: 'Rewrite the routine in PL/pgSQL or move the logic to the application.' },
  { type: 'ROUTINE_BODY_NOT_ANALYSED', category: P, title: 'Routine body could not be parsed', reason: 'The routine body did not parse offline (it may depend on catalog objects), so its statements were not analysed.', suggestion: 'Review the routine by hand and test it on the target.' },
  { type: 'SQL_BODY_FUNCTION', category: 'unsupported_features', title: 'SQL-standard routine body (BEGIN ATOMIC / RETURN)', reason: 'Routines with an SQL-standard body (PostgreSQL 14) are not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Write the body as a string: AS $$ ... $$ LANGUAGE sql.', docsLink: docsLink('sql-body-in-function') },
];

const KNOWN_LANGUAGES = new Set(['sql', 'plpgsql', 'internal']);

function check(ctx: RuleContext): void {
  for (const [stmt, body] of ctx.bodies) {
    const fn = nodeAs<CreateFunctionStmt>(stmt.ast, 'CreateFunctionStmt');
    if (fn?.sql_body !== undefined) ctx.report('SQL_BODY_FUNCTION', stmt);
    if (!KNOWN_LANGUAGES.has(body.language)) ctx.report('UNSUPPORTED_FUNCTION_LANGUAGE', stmt);
    if (body.unparsed) ctx.report('ROUTINE_BODY_NOT_ANALYSED', stmt);
    const params = findNodes<FunctionParameter>(fn?.parameters as Node[] | undefined, 'FunctionParameter');
    let referenced = params.some((p) => p.argType?.pct_type === true) || fn?.returnType?.pct_type === true;
    let dynamic = false;
    walkAst(body.plpgsql, (type, f) => {
      if (type === 'PLpgSQL_type' && /%(row)?type$/i.test(String(f.typname ?? ''))) referenced = true;
      if (type === 'PLpgSQL_stmt_dynexecute' || type === 'PLpgSQL_stmt_dynfors' || (type === 'PLpgSQL_stmt_open' && f.dynquery !== undefined)) dynamic = true;
    });
    if (referenced) ctx.report('PLPGSQL_REFERENCED_TYPE', stmt);
    if (dynamic) ctx.report('PLPGSQL_DYNAMIC_SQL', stmt);
  }
}

/** PL/pgSQL and routine rules. */
export const plpgsqlRules: RuleFamily = { name: 'plpgsql', definitions, check };
