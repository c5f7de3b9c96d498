// A cross-statement view of the schema (tables with their columns and keys, indexes, foreign keys,
// partitions, enums) built from all parsed statements. Rules that need more than one statement
// (missing primary key, FK without index, redundant index) read this instead of re-walking files.
import type { AlterTableCmd, AlterTableStmt, ColumnDef, Constraint, CreateStmt, IndexElem, IndexStmt, Node, PartitionCmd, PartitionElem, RangeVar, ReplicaIdentityStmt, TypeName } from 'libpg-query';
import { displayIdent } from '../../core/identifiers.js';
import { displayName, rangeVarName, stringList } from '../parse/ast-names.js';
import { findNodes, nodeAs, nodeEntry } from '../parse/ast-walk.js';
import type { ParsedStatement } from '../parse/statement-types.js';

export interface ColumnInfo {
  name: string;
  type: TypeName | undefined;
  generatedStored: boolean;
  identity: boolean;
  /** DEFAULT nextval(...): a serial-like column fed by a sequence. */
  sequenceDefault: boolean;
}

export interface TableInfo {
  name: string;
  statement: ParsedStatement;
  columns: Map<string, ColumnInfo>;
  /** Partition key parts; a part without a column is an expression. Empty: not partitioned. */
  partitionKey: { column: string | undefined }[];
  parent: string | undefined;
  primaryKey: string[] | undefined;
  replicaIdentity: string | undefined;
}

export interface IndexInfo {
  name: string;
  table: string;
  /** Key columns in order; undefined marks an expression. */
  columns: (string | undefined)[];
  /** Per key column: explicitly ASC or DESC (range-sharded on YugabyteDB). */
  explicitOrder: boolean[];
  method: string;
  unique: boolean;
  primary: boolean;
  partial: boolean;
  statement: ParsedStatement;
}

export interface ForeignKeyInfo {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  statement: ParsedStatement;
}

export interface SchemaModel {
  tables: Map<string, TableInfo>;
  indexes: IndexInfo[];
  foreignKeys: ForeignKeyInfo[];
  enums: Set<string>;
  findTable(name: string | undefined): TableInfo | undefined;
}

function isNextval(node: Node | undefined): boolean {
  return findNodes<{ funcname?: Node[] }>(node, 'FuncCall').some((f) => stringList(f.funcname).at(-1) === 'nextval');
}

function addConstraint(model: SchemaModel, table: string, con: Constraint, stmt: ParsedStatement, column?: string): void {
  const keys = column !== undefined ? [column] : stringList(con.keys);
  const info = model.findTable(table);
  const name = con.conname ?? `${table}_${con.contype ?? ''}`;
  if (con.contype === 'CONSTR_PRIMARY' || con.contype === 'CONSTR_UNIQUE') {
    if (con.contype === 'CONSTR_PRIMARY' && info !== undefined) info.primaryKey = keys;
    const idx: IndexInfo = {
      name: displayIdent(name),
      table: info?.name ?? table,
      columns: keys,
      explicitOrder: keys.map(() => false),
      method: 'btree',
      unique: true,
      primary: con.contype === 'CONSTR_PRIMARY',
      partial: false,
      statement: stmt,
    };
    model.indexes.push(idx);
  } else if (con.contype === 'CONSTR_FOREIGN') {
    model.foreignKeys.push({
      name: displayIdent(name),
      table: info?.name ?? table,
      columns: column !== undefined ? [column] : stringList(con.fk_attrs),
      refTable: rangeVarName(con.pktable) ?? '',
      refColumns: stringList(con.pk_attrs),
      statement: stmt,
    });
  }
}

function addColumn(model: SchemaModel, table: TableInfo, col: ColumnDef, stmt: ParsedStatement): void {
  const name = col.colname ?? '';
  const info: ColumnInfo = { name, type: col.typeName, generatedStored: false, identity: false, sequenceDefault: false };
  for (const c of col.constraints ?? []) {
    const con = nodeAs<Constraint>(c, 'Constraint');
    if (con === undefined) continue;
    if (con.contype === 'CONSTR_GENERATED') info.generatedStored = con.generated_kind !== 'v';
    if (con.contype === 'CONSTR_IDENTITY') info.identity = true;
    if (con.contype === 'CONSTR_DEFAULT' && isNextval(con.raw_expr)) info.sequenceDefault = true;
    addConstraint(model, table.name, con, stmt, name);
  }
  const typeName = (col.typeName?.names ?? []).length > 0 ? stringList(col.typeName?.names).at(-1) : undefined;
  if (typeName === 'serial' || typeName === 'bigserial' || typeName === 'smallserial') info.sequenceDefault = true;
  table.columns.set(name, info);
}

function addTable(model: SchemaModel, cs: CreateStmt, stmt: ParsedStatement): void {
  const name = rangeVarName(cs.relation) ?? '';
  const partitionKey = (cs.partspec?.partParams ?? []).map((p) => ({ column: nodeAs<PartitionElem>(p, 'PartitionElem')?.name }));
  const parent = cs.partbound !== undefined ? rangeVarName(nodeAs<RangeVar>(cs.inhRelations?.[0], 'RangeVar')) : undefined;
  const table: TableInfo = { name, statement: stmt, columns: new Map(), partitionKey, parent, primaryKey: undefined, replicaIdentity: undefined };
  model.tables.set(name, table);
  for (const element of cs.tableElts ?? []) {
    const entry = nodeEntry(element);
    if (entry?.[0] === 'ColumnDef') addColumn(model, table, entry[1] as ColumnDef, stmt);
    if (entry?.[0] === 'Constraint') addConstraint(model, name, entry[1] as Constraint, stmt);
  }
}

function addIndex(model: SchemaModel, ix: IndexStmt, stmt: ParsedStatement): void {
  const elems = (ix.indexParams ?? []).map((p) => nodeAs<IndexElem>(p, 'IndexElem'));
  model.indexes.push({
    name: stmt.objectName ?? displayIdent(ix.idxname ?? ''),
    table: model.findTable(rangeVarName(ix.relation))?.name ?? rangeVarName(ix.relation) ?? '',
    columns: elems.map((e) => e?.name),
    explicitOrder: elems.map((e) => e?.ordering === 'SORTBY_ASC' || e?.ordering === 'SORTBY_DESC'),
    method: (ix.accessMethod ?? 'btree').toLowerCase(),
    unique: ix.unique === true,
    primary: ix.primary === true,
    partial: ix.whereClause !== undefined,
    statement: stmt,
  });
}

function applyAlterTable(model: SchemaModel, at: AlterTableStmt, stmt: ParsedStatement): void {
  const tableName = rangeVarName(at.relation) ?? '';
  const table = model.findTable(tableName);
  for (const c of at.cmds ?? []) {
    const cmd = nodeAs<AlterTableCmd>(c, 'AlterTableCmd');
    if (cmd === undefined) continue;
    const con = nodeAs<Constraint>(cmd.def, 'Constraint');
    if (cmd.subtype === 'AT_AddConstraint' && con !== undefined) addConstraint(model, tableName, con, stmt);
    if (cmd.subtype === 'AT_AddColumn' && table !== undefined) {
      const col = nodeAs<ColumnDef>(cmd.def, 'ColumnDef');
      if (col !== undefined) addColumn(model, table, col, stmt);
    }
    const column = cmd.name !== undefined ? table?.columns.get(cmd.name) : undefined;
    if (cmd.subtype === 'AT_ColumnDefault' && column !== undefined && isNextval(cmd.def)) column.sequenceDefault = true;
    if (cmd.subtype === 'AT_AddIdentity' && column !== undefined) column.identity = true;
    if (cmd.subtype === 'AT_AttachPartition') {
      const child = model.findTable(rangeVarName(nodeAs<PartitionCmd>(cmd.def, 'PartitionCmd')?.name));
      if (child !== undefined) child.parent = table?.name ?? tableName;
    }
    if (cmd.subtype === 'AT_ReplicaIdentity' && table !== undefined) {
      table.replicaIdentity = nodeAs<ReplicaIdentityStmt>(cmd.def, 'ReplicaIdentityStmt')?.identity_type;
    }
  }
}

/** Builds the cross-statement model from every parsed statement of the schema. */
export function buildSchemaModel(statements: ParsedStatement[]): SchemaModel {
  const tables = new Map<string, TableInfo>();
  const model: SchemaModel = {
    tables,
    indexes: [],
    foreignKeys: [],
    enums: new Set(),
    findTable(name) {
      if (name === undefined) return undefined;
      const exact = tables.get(name);
      if (exact !== undefined) return exact;
      const short = name.split('.').at(-1) ?? name;
      const candidates = [...tables.values()].filter((t) => (t.name.split('.').at(-1) ?? '') === short);
      return candidates.length === 1 ? candidates[0] : undefined;
    },
  };
  // Two passes: tables and enums first, then what refers to them. Exported schema files are read one
  // folder at a time (constraints/ before tables/), so statement order cannot be relied on.
  for (const stmt of statements) {
    const entry = nodeEntry(stmt.ast);
    if (entry === undefined) continue;
    const [type, fields] = entry;
    if (type === 'CreateStmt') addTable(model, fields as CreateStmt, stmt);
    else if (type === 'CreateEnumStmt') {
      const parts = stringList(fields.typeName as Node[]);
      model.enums.add(displayName(parts));
      model.enums.add(displayName(parts.slice(-1)));
    }
  }
  for (const stmt of statements) {
    const entry = nodeEntry(stmt.ast);
    if (entry === undefined) continue;
    const [type, fields] = entry;
    if (type === 'IndexStmt') addIndex(model, fields as IndexStmt, stmt);
    else if (type === 'AlterTableStmt') applyAlterTable(model, fields as AlterTableStmt, stmt);
  }
  return model;
}
