// Column data types YugabyteDB does not support, and types whose changes cannot be carried by the
// YugabyteDB change stream (so fall-back cannot stream them).
import type { ColumnDef, TypeName } from 'libpg-query';
import { isArrayType, typeBaseName, typeDisplay } from '../parse/ast-names.js';
import { findNodes, nodeEntry } from '../parse/ast-walk.js';
import type { ParsedStatement } from '../parse/statement-types.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';

const D = 'unsupported_datatypes' as const;
const C = 'migration_caveats' as const;

const definitions: IssueDefinition[] = [
  { type: 'XML_DATATYPE', category: D, title: 'xml data type', reason: 'The xml data type is not supported by YugabyteDB.', suggestion: 'Store the documents as text and parse them in the application.', docsLink: docsLink('xml-functions-is-not-yet-supported') },
  { type: 'TXID_SNAPSHOT_DATATYPE', category: D, title: 'txid_snapshot / pg_snapshot data type', reason: 'Transaction snapshot types are not supported by YugabyteDB (its transactions are not PostgreSQL xids).', suggestion: 'Drop the column; snapshot values of the source are meaningless on the target.', docsLink: docsLink('unsupported-datatypes-by-yugabytedb') },
  { type: 'PG_LSN_DATATYPE', category: D, title: 'pg_lsn data type', reason: 'The pg_lsn data type is not supported by YugabyteDB, and source LSNs mean nothing on the target.', suggestion: 'Store the value as text or bigint, or drop the column.', docsLink: docsLink('unsupported-datatypes-by-yugabytedb') },
  { type: 'LARGE_OBJECT_DATATYPE', category: D, title: 'lo (large object) data type', reason: 'Large objects (the lo type and pg_largeobject) are not supported by YugabyteDB and are not migrated.', suggestion: 'Store the contents in a bytea column.', docsLink: docsLink('large-objects-and-its-functions-are-currently-not-supported') },
  { type: 'MULTIRANGE_DATATYPE', category: D, title: 'Multirange data type', reason: 'Multirange types (PostgreSQL 14) are not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Store the ranges as an array of ranges or in a child table.', docsLink: docsLink('unsupported-datatypes-by-yugabytedb') },
  { type: 'DATATYPE_NOT_STREAMABLE', category: C, title: 'Type not carried by the YugabyteDB change stream', reason: 'Changes to columns of geometric types, tsquery, time with time zone and vector are not carried by YugabyteDB\'s change stream, so fall-back (target to source streaming) cannot replicate them.', suggestion: 'Plan the cutover without fall-back for this table, or change the column type.', docsLink: docsLink('unsupported-datatypes-by-voyager-during-live-migration') },
  { type: 'ARRAY_OF_ENUM_COLUMN', category: C, title: 'Array of enum column', reason: 'Arrays of user-defined enum types are not carried by YugabyteDB\'s change stream, so fall-back cannot replicate changes to them.', suggestion: 'Store the values as text[] with a CHECK constraint, or plan the cutover without fall-back.', docsLink: docsLink('unsupported-datatypes-by-voyager-during-live-migration') },
];

const UNSUPPORTED: Record<string, string> = {
  xml: 'XML_DATATYPE',
  txid_snapshot: 'TXID_SNAPSHOT_DATATYPE',
  pg_snapshot: 'TXID_SNAPSHOT_DATATYPE',
  pg_lsn: 'PG_LSN_DATATYPE',
  lo: 'LARGE_OBJECT_DATATYPE',
  int4multirange: 'MULTIRANGE_DATATYPE',
  int8multirange: 'MULTIRANGE_DATATYPE',
  nummultirange: 'MULTIRANGE_DATATYPE',
  datemultirange: 'MULTIRANGE_DATATYPE',
  tsmultirange: 'MULTIRANGE_DATATYPE',
  tstzmultirange: 'MULTIRANGE_DATATYPE',
};

const NOT_STREAMABLE = new Set(['point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'tsquery', 'timetz', 'vector']);

function columnsOf(stmt: ParsedStatement): { name: string; type: TypeName | undefined }[] {
  const type = nodeEntry(stmt.ast)?.[0];
  if (type === 'CreateStmt' || type === 'AlterTableStmt' || type === 'CompositeTypeStmt' || type === 'CreateForeignTableStmt') {
    return findNodes<ColumnDef>(stmt.ast, 'ColumnDef').map((c) => ({ name: c.colname ?? '', type: c.typeName }));
  }
  if (type === 'CreateDomainStmt') return [{ name: '', type: nodeEntry(stmt.ast)?.[1].typeName as TypeName | undefined }];
  return [];
}

function check(ctx: RuleContext): void {
  for (const stmt of ctx.statements) {
    for (const column of columnsOf(stmt)) {
      const base = typeBaseName(column.type);
      const target = column.name === '' ? {} : { objectType: 'column', objectName: `${stmt.objectName ?? ''}.${column.name}` };
      const unsupported = UNSUPPORTED[base];
      if (unsupported !== undefined) ctx.report(unsupported, stmt, target);
      if (stmt.kind === 'type' || stmt.kind === 'domain') continue;
      if (NOT_STREAMABLE.has(base) || typeDisplay(column.type) === 'time with time zone') ctx.report('DATATYPE_NOT_STREAMABLE', stmt, target);
      if (isArrayType(column.type) && ctx.model.enums.has(base)) ctx.report('ARRAY_OF_ENUM_COLUMN', stmt, target);
    }
  }
}

/** Data type rules. */
export const datatypeRules: RuleFamily = { name: 'datatypes', definitions, check };
