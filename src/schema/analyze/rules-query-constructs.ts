// SQL constructs YugabyteDB does not support, looked for in every statement and inside function,
// procedure and DO bodies (views, materialized views, defaults, checks, policies, routines).
import type { Node } from 'libpg-query';
import { stringList } from '../parse/ast-names.js';
import { walkAst } from '../parse/ast-walk.js';
import type { ParsedStatement } from '../parse/statement-types.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';

const Q = 'unsupported_query_constructs' as const;

const definitions: IssueDefinition[] = [
  { type: 'ADVISORY_LOCKS', category: Q, title: 'Advisory locks', reason: 'Advisory lock functions (pg_advisory_lock, pg_try_advisory_xact_lock, ...) are not supported by YugabyteDB releases before 2.25 and behave differently in a distributed database.', suggestion: 'Use a lock table with SELECT ... FOR UPDATE, or enable advisory locks on a release that supports them.', docsLink: docsLink('advisory-locks-is-not-yet-implemented') },
  { type: 'SYSTEM_COLUMNS', category: Q, title: 'System columns', reason: 'System columns ctid, xmin, xmax, cmin, cmax and tableoid do not exist (or mean something else) on YugabyteDB.', suggestion: 'Use the primary key to identify rows and an explicit version column for optimistic locking.', docsLink: docsLink('system-columns-is-not-yet-supported') },
  { type: 'XML_FUNCTIONS', category: Q, title: 'XML functions', reason: 'XML functions and XMLTABLE are not supported by YugabyteDB.', suggestion: 'Process XML in the application.', docsLink: docsLink('xml-functions-is-not-yet-supported') },
  { type: 'LARGE_OBJECT_FUNCTIONS', category: Q, title: 'Large object functions', reason: 'Large object functions (lo_create, lo_import, lo_unlink, lo_manage, ...) are not supported by YugabyteDB.', suggestion: 'Store the contents in bytea columns.', docsLink: docsLink('large-objects-and-its-functions-are-currently-not-supported') },
  { type: 'MERGE_STATEMENT', category: Q, title: 'MERGE', reason: 'MERGE (PostgreSQL 15) is not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Rewrite as INSERT ... ON CONFLICT DO UPDATE, or UPDATE followed by INSERT.', docsLink: docsLink('merge-command') },
  { type: 'LISTEN_NOTIFY', category: Q, title: 'LISTEN / NOTIFY', reason: 'LISTEN, NOTIFY and pg_notify are not supported by YugabyteDB (notifications are not delivered across nodes).', suggestion: 'Use a queue table polled by the listener, or an external message broker.', docsLink: docsLink('listen-notify') },
  { type: 'COPY_FROM_WHERE', category: Q, title: 'COPY FROM ... WHERE', reason: 'COPY FROM with a WHERE clause (PostgreSQL 12) is not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Load into a staging table and INSERT ... SELECT ... WHERE.', docsLink: docsLink('copy-from-where') },
  { type: 'COPY_ON_ERROR', category: Q, title: 'COPY ... ON_ERROR', reason: 'The COPY ON_ERROR option (PostgreSQL 17) is not supported by YugabyteDB.', suggestion: 'Validate input before loading, or load into a text staging table.', docsLink: docsLink('copy-on-error') },
  { type: 'CURSOR_WITH_HOLD', category: Q, title: 'Cursor WITH HOLD', reason: 'DECLARE ... CURSOR WITH HOLD is not supported by YugabyteDB.', suggestion: 'Fetch within the transaction, or page with keyset queries.', docsLink: docsLink('cursor-with-hold') },
  { type: 'REGEX_FUNCTIONS', category: Q, title: 'PostgreSQL 15 regular expression functions', reason: 'regexp_count, regexp_instr, regexp_like and regexp_substr (PostgreSQL 15) are not available on YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Rewrite with regexp_matches / regexp_replace / substring(... from pattern).', docsLink: docsLink('regex-functions') },
  { type: 'RANGE_AGGREGATE_FUNCTIONS', category: Q, title: 'Range aggregate functions', reason: 'range_agg and range_intersect_agg (PostgreSQL 14) are not available on YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Aggregate the ranges in a custom aggregate or in the application.', docsLink: docsLink('range-aggregate-functions') },
  { type: 'ANY_VALUE_FUNCTION', category: Q, title: 'any_value()', reason: 'The any_value aggregate (PostgreSQL 16) is not available on YugabyteDB.', suggestion: 'Use min() or max() instead.', docsLink: docsLink('any-value-aggregate') },
  { type: 'JSON_CONSTRUCTOR_FUNCTIONS', category: Q, title: 'SQL/JSON constructors', reason: 'JSON_OBJECT, JSON_ARRAY, JSON_OBJECTAGG and JSON_ARRAYAGG (PostgreSQL 16) are not supported by YugabyteDB.', suggestion: 'Use json_build_object, json_build_array, json_object_agg and json_agg.', docsLink: docsLink('json-constructor-functions') },
  { type: 'JSON_QUERY_FUNCTIONS', category: Q, title: 'SQL/JSON query functions', reason: 'JSON_EXISTS, JSON_QUERY, JSON_VALUE and JSON_TABLE (PostgreSQL 17) are not supported by YugabyteDB.', suggestion: 'Use jsonb operators (->, ->>, @?, jsonb_path_query) and jsonb_to_recordset.', docsLink: docsLink('json-query-functions') },
  { type: 'IS_JSON_PREDICATE', category: Q, title: 'IS JSON predicate', reason: 'The IS JSON predicate (PostgreSQL 16) is not supported by YugabyteDB.', suggestion: 'Validate with a cast to jsonb in a function that catches the error.', docsLink: docsLink('json-predicate') },
  { type: 'FETCH_WITH_TIES', category: Q, title: 'FETCH FIRST ... WITH TIES', reason: 'FETCH ... WITH TIES (PostgreSQL 13) is not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Use a window function (rank() <= n) instead.', docsLink: docsLink('fetch-with-ties') },
  { type: 'PG_STAT_FUNCTIONS', category: Q, title: 'Statistics views and functions', reason: 'pg_stat_* views and functions report per-node and partly different values on YugabyteDB.', suggestion: 'Review what the code expects from the statistics; use yb_ equivalents where they exist.' },
  { type: 'CTE_MATERIALIZED_CLAUSE', category: Q, title: 'WITH ... AS [NOT] MATERIALIZED', reason: 'The MATERIALIZED / NOT MATERIALIZED clause of common table expressions (PostgreSQL 12) is not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Remove the clause.', docsLink: docsLink('cte-materialized') },
  { type: 'TWO_PHASE_COMMIT', category: Q, title: 'Two-phase commit', reason: 'PREPARE TRANSACTION / COMMIT PREPARED are not supported by YugabyteDB.', suggestion: 'Use a single distributed transaction, which YugabyteDB provides natively.', docsLink: docsLink('two-phase-commit') },
];

const FUNCTION_ISSUES = new Map<string, string>();
const addAll = (names: string[], type: string): void => names.forEach((n) => FUNCTION_ISSUES.set(n, type));
addAll(['pg_advisory_lock', 'pg_advisory_lock_shared', 'pg_advisory_unlock', 'pg_advisory_unlock_all', 'pg_advisory_unlock_shared', 'pg_advisory_xact_lock', 'pg_advisory_xact_lock_shared', 'pg_try_advisory_lock', 'pg_try_advisory_lock_shared', 'pg_try_advisory_xact_lock', 'pg_try_advisory_xact_lock_shared'], 'ADVISORY_LOCKS');
addAll(['xpath', 'xpath_exists', 'xmlagg', 'xml_is_well_formed', 'xml_is_well_formed_document', 'xml_is_well_formed_content', 'table_to_xml', 'table_to_xmlschema', 'table_to_xml_and_xmlschema', 'query_to_xml', 'query_to_xmlschema', 'cursor_to_xml', 'schema_to_xml', 'database_to_xml', 'xmlcomment', 'xmltext'], 'XML_FUNCTIONS');
addAll(['lo_create', 'lo_creat', 'lo_import', 'lo_export', 'lo_unlink', 'lo_open', 'lo_close', 'lo_get', 'lo_put', 'lo_from_bytea', 'lo_manage', 'lo_truncate', 'lo_lseek', 'loread', 'lowrite'], 'LARGE_OBJECT_FUNCTIONS');
addAll(['regexp_count', 'regexp_instr', 'regexp_like', 'regexp_substr'], 'REGEX_FUNCTIONS');
addAll(['range_agg', 'range_intersect_agg'], 'RANGE_AGGREGATE_FUNCTIONS');
addAll(['any_value'], 'ANY_VALUE_FUNCTION');
addAll(['pg_notify'], 'LISTEN_NOTIFY');

const NODE_ISSUES: Record<string, string> = {
  XmlExpr: 'XML_FUNCTIONS',
  XmlSerialize: 'XML_FUNCTIONS',
  RangeTableFunc: 'XML_FUNCTIONS',
  MergeStmt: 'MERGE_STATEMENT',
  NotifyStmt: 'LISTEN_NOTIFY',
  ListenStmt: 'LISTEN_NOTIFY',
  UnlistenStmt: 'LISTEN_NOTIFY',
  JsonObjectConstructor: 'JSON_CONSTRUCTOR_FUNCTIONS',
  JsonArrayConstructor: 'JSON_CONSTRUCTOR_FUNCTIONS',
  JsonArrayQueryConstructor: 'JSON_CONSTRUCTOR_FUNCTIONS',
  JsonObjectAgg: 'JSON_CONSTRUCTOR_FUNCTIONS',
  JsonArrayAgg: 'JSON_CONSTRUCTOR_FUNCTIONS',
  JsonFuncExpr: 'JSON_QUERY_FUNCTIONS',
  JsonTable: 'JSON_QUERY_FUNCTIONS',
  JsonIsPredicate: 'IS_JSON_PREDICATE',
};

const SYSTEM_COLUMNS = new Set(['ctid', 'xmin', 'xmax', 'cmin', 'cmax', 'tableoid']);
const CURSOR_OPT_HOLD = 0x0020;

/** The issue types of the constructs found in one syntax tree. */
export function constructIssues(root: unknown): Set<string> {
  const found = new Set<string>();
  walkAst(root, (type, f) => {
    const nodeIssue = NODE_ISSUES[type];
    if (nodeIssue !== undefined) found.add(nodeIssue);
    if (type === 'FuncCall') {
      const name = (stringList(f.funcname as Node[]).at(-1) ?? '').toLowerCase();
      const issue = FUNCTION_ISSUES.get(name);
      if (issue !== undefined) found.add(issue);
      if (name.startsWith('pg_stat_')) found.add('PG_STAT_FUNCTIONS');
    } else if (type === 'RangeVar' && String(f.relname ?? '').startsWith('pg_stat')) {
      found.add('PG_STAT_FUNCTIONS');
    } else if (type === 'ColumnRef') {
      const last = stringList(f.fields as Node[]).at(-1);
      if (last !== undefined && SYSTEM_COLUMNS.has(last)) found.add('SYSTEM_COLUMNS');
    } else if (type === 'CopyStmt') {
      if (f.whereClause !== undefined) found.add('COPY_FROM_WHERE');
      walkAst(f.options, (t, o) => {
        if (t === 'DefElem' && o.defname === 'on_error') found.add('COPY_ON_ERROR');
      });
    } else if (type === 'DeclareCursorStmt' && (Number(f.options ?? 0) & CURSOR_OPT_HOLD) !== 0) {
      found.add('CURSOR_WITH_HOLD');
    } else if (type === 'SelectStmt' && f.limitOption === 'LIMIT_OPTION_WITH_TIES') {
      found.add('FETCH_WITH_TIES');
    } else if (type === 'CommonTableExpr' && f.ctematerialized !== undefined && f.ctematerialized !== 'CTEMaterializeDefault') {
      found.add('CTE_MATERIALIZED_CLAUSE');
    } else if (type === 'TransactionStmt' && ['TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED'].includes(String(f.kind))) {
      found.add('TWO_PHASE_COMMIT');
    }
  });
  return found;
}

function check(ctx: RuleContext): void {
  for (const stmt of ctx.statements) {
    if (stmt.kind === 'set' || stmt.kind === 'comment') continue;
    const roots: unknown[] = [stmt.ast, ...(ctx.bodies.get(stmt)?.sqlRoots ?? [])];
    const found = new Set<string>();
    for (const root of roots) for (const type of constructIssues(root)) found.add(type);
    for (const type of found) ctx.report(type, stmt as ParsedStatement);
  }
}

/** Query construct rules (statements and routine bodies). */
export const queryConstructRules: RuleFamily = { name: 'query-constructs', definitions, check };
