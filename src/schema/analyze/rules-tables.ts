// Table DDL that YugabyteDB does not support or treats differently: inheritance, storage
// parameters, tablespaces, unlogged tables, compression, stored generated columns, exclusion and
// deferrable constraints, keys on partitioned tables, and ALTER TABLE/VIEW variants.
import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint, CreateStmt, IndexStmt } from 'libpg-query';
import { rangeVarName } from '../parse/ast-names.js';
import { findNodes, nodeAs, nodeEntry } from '../parse/ast-walk.js';
import type { ParsedStatement } from '../parse/statement-types.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';

const F = 'unsupported_features' as const;

const definitions: IssueDefinition[] = [
  { type: 'INHERITANCE', category: F, title: 'Table inheritance', reason: 'CREATE TABLE ... INHERITS and ALTER TABLE ... INHERIT are not supported by YugabyteDB.', suggestion: 'Replace inheritance with declarative partitioning or separate tables with a view over them.', docsLink: docsLink('table-inheritance-is-not-supported') },
  { type: 'STORAGE_PARAMETERS', category: F, title: 'Storage parameters', reason: 'Storage parameters (WITH (fillfactor=...), autovacuum_*, ...) on tables and indexes are not supported by YugabyteDB, whose storage is not heap based.', suggestion: 'Remove the WITH (...) clause; it has no meaning for DocDB storage.', docsLink: docsLink('storage-parameters-on-indexes-or-constraints-in-the-source-postgresql') },
  { type: 'TABLESPACE_CLAUSE', category: F, title: 'Tablespace', reason: 'YugabyteDB tablespaces describe replica placement, not directories; source tablespaces do not exist on the target.', suggestion: 'Remove the TABLESPACE clause, or create YugabyteDB tablespaces with a replica_placement first.' },
  { type: 'UNLOGGED_TABLE', category: F, title: 'Unlogged table', reason: 'UNLOGGED tables are not supported by YugabyteDB, and their changes are not in the WAL so live migration cannot stream them.', suggestion: 'Create the table as a regular (logged) table.', docsLink: docsLink('unlogged-table-is-not-supported') },
  { type: 'COMPRESSION_CLAUSE', category: F, title: 'COMPRESSION clause', reason: 'Column COMPRESSION (pglz, lz4) is a PostgreSQL 14 heap/TOAST setting that YugabyteDB does not support.', suggestion: 'Remove the COMPRESSION clause; DocDB compresses data itself.', docsLink: docsLink('compression-clause-in-table-column') },
  { type: 'STORED_GENERATED_COLUMN', category: F, title: 'Stored generated column', reason: 'GENERATED ALWAYS AS (...) STORED columns are not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Use a YugabyteDB release based on PostgreSQL 15, or compute the column with a BEFORE INSERT OR UPDATE trigger.', docsLink: docsLink('generated-always-as-stored-type-column-is-not-supported') },
  { type: 'EXCLUSION_CONSTRAINT', category: F, title: 'Exclusion constraint', reason: 'EXCLUDE constraints are not supported by YugabyteDB.', suggestion: 'Enforce the rule in application code or with a trigger that checks for conflicting rows.', docsLink: docsLink('exclusion-constraints-is-not-supported') },
  { type: 'DEFERRABLE_CONSTRAINT', category: F, title: 'Deferrable constraint', reason: 'DEFERRABLE primary key, unique and check constraints are not supported by YugabyteDB (only foreign keys can be deferred).', suggestion: 'Make the constraint NOT DEFERRABLE and order the application\'s writes accordingly.', docsLink: docsLink('deferrable-constraint-on-constraints-other-than-foreign-keys-is-not-supported') },
  { type: 'UNIQUE_NULLS_NOT_DISTINCT', category: F, title: 'UNIQUE NULLS NOT DISTINCT', reason: 'NULLS NOT DISTINCT (PostgreSQL 15) on unique constraints and indexes is not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Use a unique index on COALESCE(column, sentinel) or a YugabyteDB release based on PostgreSQL 15.', docsLink: docsLink('unique-nulls-not-distinct') },
  { type: 'PK_UK_NOT_COVERING_PARTITION_KEY', category: F, title: 'Key on partitioned table not covering the partition key', reason: 'A primary or unique key on a partitioned table must include every partition key column; keys on tables partitioned by an expression are not supported by YugabyteDB.', suggestion: 'Include the partition key columns in the key, or partition by plain columns.', docsLink: docsLink('tables-partitioned-with-expressions-cannot-contain-primary-unique-keys') },
  { type: 'FOREIGN_KEY_REFERENCING_PARTITIONED_TABLE', category: F, title: 'Foreign key referencing a partitioned table', reason: 'Foreign keys that reference a partitioned table (PostgreSQL 12) are not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Reference a leaf partition, enforce the relation with a trigger, or use a YugabyteDB release based on PostgreSQL 15.', docsLink: docsLink('foreign-key-references-partitioned-table') },
  { type: 'ALTER_TABLE_CLUSTER_ON', category: F, title: 'ALTER TABLE CLUSTER ON', reason: 'CLUSTER ON / SET WITHOUT CLUSTER are not supported by YugabyteDB: rows are ordered by the primary key.', suggestion: 'Remove the statement; choose the primary key to give the wanted order.', docsLink: docsLink('alter-table-cluster-on') },
  { type: 'ALTER_TABLE_DISABLE_RULE', category: F, title: 'ALTER TABLE DISABLE RULE', reason: 'ALTER TABLE ... DISABLE RULE is not supported by YugabyteDB.', suggestion: 'Drop the rule instead of disabling it, and create it again when needed.', docsLink: docsLink('alter-table-disable-rule') },
  { type: 'ALTER_TABLE_SET_COLUMN_ATTRIBUTE', category: F, title: 'ALTER COLUMN SET/RESET (attribute options)', reason: 'ALTER TABLE ... ALTER COLUMN ... SET (n_distinct = ...) and similar attribute options are not supported by YugabyteDB.', suggestion: 'Remove the statement.', docsLink: docsLink('alter-table-set-column-attribute') },
  { type: 'ALTER_VIEW', category: F, title: 'ALTER VIEW', reason: 'ALTER VIEW statements (other than changing the owner) are not supported by YugabyteDB.', suggestion: 'Fold the change into CREATE OR REPLACE VIEW.', docsLink: docsLink('alter-view') },
];

const ALTER_TABLE_ISSUES: Partial<Record<string, string>> = {
  AT_ClusterOn: 'ALTER_TABLE_CLUSTER_ON',
  AT_DropCluster: 'ALTER_TABLE_CLUSTER_ON',
  AT_DisableRule: 'ALTER_TABLE_DISABLE_RULE',
  AT_SetOptions: 'ALTER_TABLE_SET_COLUMN_ATTRIBUTE',
  AT_ResetOptions: 'ALTER_TABLE_SET_COLUMN_ATTRIBUTE',
  AT_SetRelOptions: 'STORAGE_PARAMETERS',
  AT_ResetRelOptions: 'STORAGE_PARAMETERS',
  AT_SetTableSpace: 'TABLESPACE_CLAUSE',
  AT_SetUnLogged: 'UNLOGGED_TABLE',
  AT_SetCompression: 'COMPRESSION_CLAUSE',
  AT_AddInherit: 'INHERITANCE',
};

function checkConstraints(ctx: RuleContext, stmt: ParsedStatement): void {
  let previous: Constraint | undefined;
  for (const con of findNodes<Constraint>(stmt.ast, 'Constraint')) {
    // Column constraints carry DEFERRABLE as a separate attribute node after the constraint.
    if (con.contype === 'CONSTR_ATTR_DEFERRABLE' && previous !== undefined && previous.contype !== 'CONSTR_FOREIGN') ctx.report('DEFERRABLE_CONSTRAINT', stmt);
    if (con.contype !== 'CONSTR_ATTR_DEFERRABLE' && con.contype !== 'CONSTR_ATTR_DEFERRED' && con.contype !== 'CONSTR_ATTR_IMMEDIATE') previous = con;
    if (con.contype === 'CONSTR_EXCLUSION') ctx.report('EXCLUSION_CONSTRAINT', stmt);
    if (con.deferrable === true && con.contype !== 'CONSTR_FOREIGN') ctx.report('DEFERRABLE_CONSTRAINT', stmt);
    if (con.nulls_not_distinct === true) ctx.report('UNIQUE_NULLS_NOT_DISTINCT', stmt);
    if ((con.options ?? []).length > 0) ctx.report('STORAGE_PARAMETERS', stmt);
    if (con.contype === 'CONSTR_FOREIGN') {
      const target = ctx.model.findTable(rangeVarName(con.pktable));
      if (target !== undefined && target.partitionKey.length > 0) ctx.report('FOREIGN_KEY_REFERENCING_PARTITIONED_TABLE', stmt);
    }
  }
}

function checkCreateTable(ctx: RuleContext, stmt: ParsedStatement, cs: CreateStmt): void {
  if ((cs.inhRelations ?? []).length > 0 && cs.partbound === undefined) ctx.report('INHERITANCE', stmt);
  if ((cs.options ?? []).length > 0) ctx.report('STORAGE_PARAMETERS', stmt);
  if (cs.tablespacename !== undefined) ctx.report('TABLESPACE_CLAUSE', stmt);
  if (cs.relation?.relpersistence === 'u') ctx.report('UNLOGGED_TABLE', stmt);
  for (const col of findNodes<ColumnDef>(cs.tableElts, 'ColumnDef')) {
    if (col.compression !== undefined) ctx.report('COMPRESSION_CLAUSE', stmt);
    const generated = findNodes<Constraint>(col.constraints, 'Constraint').some((c) => c.contype === 'CONSTR_GENERATED' && c.generated_kind !== 'v');
    if (generated) ctx.report('STORED_GENERATED_COLUMN', stmt);
  }
}

function checkAlterTable(ctx: RuleContext, stmt: ParsedStatement, at: AlterTableStmt): void {
  const cmds = (at.cmds ?? []).map((c) => nodeAs<AlterTableCmd>(c, 'AlterTableCmd')).filter((c) => c !== undefined);
  if (at.objtype === 'OBJECT_VIEW' && cmds.some((c) => c.subtype !== 'AT_ChangeOwner')) ctx.report('ALTER_VIEW', stmt);
  for (const cmd of cmds) {
    const type = cmd.subtype !== undefined ? ALTER_TABLE_ISSUES[cmd.subtype] : undefined;
    if (type !== undefined) ctx.report(type, stmt);
    if (cmd.subtype === 'AT_AddColumn') {
      const col = nodeAs<ColumnDef>(cmd.def, 'ColumnDef');
      if (col?.compression !== undefined) ctx.report('COMPRESSION_CLAUSE', stmt);
      if (findNodes<Constraint>(col?.constraints, 'Constraint').some((c) => c.contype === 'CONSTR_GENERATED' && c.generated_kind !== 'v')) {
        ctx.report('STORED_GENERATED_COLUMN', stmt);
      }
    }
  }
}

function checkPartitionKeys(ctx: RuleContext): void {
  for (const index of ctx.model.indexes) {
    if (!index.unique) continue;
    const table = ctx.model.findTable(index.table);
    if (table === undefined || table.partitionKey.length === 0) continue;
    const covered = table.partitionKey.every((part) => part.column !== undefined && index.columns.includes(part.column));
    if (!covered) ctx.report('PK_UK_NOT_COVERING_PARTITION_KEY', index.statement);
  }
}

function check(ctx: RuleContext): void {
  for (const stmt of ctx.statements) {
    const entry = nodeEntry(stmt.ast);
    if (entry === undefined) continue;
    const [type, fields] = entry;
    if (type === 'CreateStmt') checkCreateTable(ctx, stmt, fields as CreateStmt);
    if (type === 'AlterTableStmt') checkAlterTable(ctx, stmt, fields as AlterTableStmt);
    if (type === 'IndexStmt') {
      const ix = fields as IndexStmt;
      if ((ix.options ?? []).length > 0) ctx.report('STORAGE_PARAMETERS', stmt);
      if (ix.tableSpace !== undefined) ctx.report('TABLESPACE_CLAUSE', stmt);
      if (ix.nulls_not_distinct === true) ctx.report('UNIQUE_NULLS_NOT_DISTINCT', stmt);
    }
    if (type === 'CreateTableAsStmt' && (fields.into as { tableSpaceName?: string } | undefined)?.tableSpaceName !== undefined) {
      ctx.report('TABLESPACE_CLAUSE', stmt);
    }
    if (type === 'RenameStmt' && fields.renameType === 'OBJECT_VIEW') ctx.report('ALTER_VIEW', stmt);
    if (type === 'CreateStmt' || type === 'AlterTableStmt') checkConstraints(ctx, stmt);
  }
  checkPartitionKeys(ctx);
}

/** Table-level DDL rules. */
export const tableRules: RuleFamily = { name: 'tables', definitions, check };
