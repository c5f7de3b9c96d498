// Which captured statements are tools' catalog queries (pg_dump's, godwit's own, a monitoring
// agent's) rather than the application's: those that name only system catalogs and views, or no table
// and only pg_catalog functions. The query statistics captures (assess-migration's and compare-performance's) leave them out.

import type { Node } from 'libpg-query';
import { stringList } from '../schema/parse/ast-names.js';
import { walkAst } from '../schema/parse/ast-walk.js';
import { loadSqlParser, parseSqlTextSync } from '../schema/parse/parse-sql.js';

const CATALOG_SCHEMAS = new Set(['pg_catalog', 'information_schema']);

/**
 * True when every table a statement names is a system catalog or view (and it names at least one), or,
 * naming none, when every function it calls is written `pg_catalog.name` (as pg_dump and drivers do;
 * an application's own `SELECT pg_advisory_lock($1)` is not).
 */
function readsOnlyCatalogs(ast: unknown): boolean {
  let tables = 0;
  let catalogs = 0;
  let calls = 0;
  let catalogCalls = 0;
  walkAst(ast, (type, fields) => {
    if (type === 'RangeVar') {
      tables++;
      const schema = typeof fields.schemaname === 'string' ? fields.schemaname : undefined;
      const name = String(fields.relname ?? '');
      if (schema !== undefined ? CATALOG_SCHEMAS.has(schema) : name.startsWith('pg_')) catalogs++;
    } else if (type === 'FuncCall') {
      calls++;
      const names = stringList(fields.funcname as Node[]);
      if (names.length === 2 && names[0] === 'pg_catalog') catalogCalls++;
    }
  });
  if (tables > 0) return catalogs === tables;
  return calls > 0 && catalogCalls === calls;
}

/** True when `query` parses and every statement in it reads only catalogs; unparseable text counts as the application's. */
export async function isCatalogQuery(query: string): Promise<boolean> {
  await loadSqlParser();
  try {
    const statements = parseSqlTextSync(query, 'pg_stat_statements');
    return statements.length > 0 && statements.every((statement) => readsOnlyCatalogs(statement.ast));
  } catch {
    return false;
  }
}
