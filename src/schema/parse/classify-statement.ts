// Decides from a statement's syntax tree alone what kind of object it creates or changes, and the
// names involved. `export schema` uses the kind to pick the `schema/<kind>/` file, `import schema`
// to order statements, and analyze-schema to name objects in its report.
import type {
  AlterTableCmd,
  AlterTableStmt,
  CommentStmt,
  Constraint,
  CreateStmt,
  CreateTrigStmt,
  Node,
  ObjectType,
  PartitionCmd,
  RangeVar,
} from 'libpg-query';
import { displayIdent } from '../../core/identifiers.js';
import {
  displayName,
  functionSignature,
  genericObjectName,
  objectWithArgsName,
  rangeVarName,
  rangeVarSchema,
  stringList,
} from './ast-names.js';
import { findNodes, nodeAs, nodeEntry } from './ast-walk.js';
import type { ObjectKind, StatementClass } from './statement-types.js';

type Fields = Record<string, unknown>;

const OBJECT_TYPE_KINDS: Partial<Record<ObjectType, ObjectKind>> = {
  OBJECT_ACCESS_METHOD: 'access-method',
  OBJECT_AGGREGATE: 'aggregate',
  OBJECT_CAST: 'cast',
  OBJECT_COLLATION: 'collation',
  OBJECT_COLUMN: 'table',
  OBJECT_CONVERSION: 'conversion',
  OBJECT_DATABASE: 'database',
  OBJECT_DOMAIN: 'domain',
  OBJECT_DOMCONSTRAINT: 'domain',
  OBJECT_EVENT_TRIGGER: 'event-trigger',
  OBJECT_EXTENSION: 'extension',
  OBJECT_FDW: 'foreign-server',
  OBJECT_FOREIGN_SERVER: 'foreign-server',
  OBJECT_FOREIGN_TABLE: 'foreign-table',
  OBJECT_FUNCTION: 'function',
  OBJECT_ROUTINE: 'function',
  OBJECT_INDEX: 'index',
  OBJECT_LANGUAGE: 'language',
  OBJECT_MATVIEW: 'materialized-view',
  OBJECT_OPCLASS: 'operator',
  OBJECT_OPERATOR: 'operator',
  OBJECT_OPFAMILY: 'operator',
  OBJECT_POLICY: 'policy',
  OBJECT_PROCEDURE: 'procedure',
  OBJECT_PUBLICATION: 'publication',
  OBJECT_ROLE: 'role',
  OBJECT_RULE: 'rule',
  OBJECT_SCHEMA: 'schema',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_SUBSCRIPTION: 'subscription',
  OBJECT_STATISTIC_EXT: 'statistics',
  OBJECT_TABCONSTRAINT: 'constraint',
  OBJECT_TABLE: 'table',
  OBJECT_TABLESPACE: 'tablespace',
  OBJECT_TRANSFORM: 'transform',
  OBJECT_TRIGGER: 'trigger',
  OBJECT_TSCONFIGURATION: 'text-search',
  OBJECT_TSDICTIONARY: 'text-search',
  OBJECT_TSPARSER: 'text-search',
  OBJECT_TSTEMPLATE: 'text-search',
  OBJECT_TYPE: 'type',
  OBJECT_USER_MAPPING: 'foreign-server',
  OBJECT_VIEW: 'view',
};

/** Maps a PostgreSQL ObjectType (as in ALTER/COMMENT/DROP statements) to an object kind. */
export function kindOfObjectType(objtype: ObjectType | undefined): ObjectKind {
  return (objtype !== undefined ? OBJECT_TYPE_KINDS[objtype] : undefined) ?? 'other';
}

function result(kind: ObjectKind, objectName?: string, tableName?: string, extra: Partial<StatementClass> = {}): StatementClass {
  return { kind, objectName, tableName, notValid: false, foreignKey: false, ...extra };
}

/** Prefixes a name that lives in its table's schema (indexes) with that schema. */
function inSchemaOf(rv: RangeVar | undefined, name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const schema = rangeVarSchema(rv);
  return schema === undefined ? displayIdent(name) : displayName([schema, name]);
}

function classifyAlterTable(stmt: AlterTableStmt): StatementClass {
  const table = rangeVarName(stmt.relation);
  const cmds = (stmt.cmds ?? []).map((c) => nodeAs<AlterTableCmd>(c, 'AlterTableCmd')).filter((c) => c !== undefined);
  const baseKind = kindOfObjectType(stmt.objtype);
  if (cmds.length > 0 && cmds.every((c) => c.subtype === 'AT_ChangeOwner')) return result('owner', table);
  for (const cmd of cmds) {
    switch (cmd.subtype) {
      case 'AT_AddConstraint': {
        const con = nodeAs<Constraint>(cmd.def, 'Constraint');
        const foreignKey = con?.contype === 'CONSTR_FOREIGN';
        const notValid = con?.skip_validation === true;
        return result('constraint', con?.conname !== undefined ? displayIdent(con.conname) : undefined, table, { foreignKey, notValid });
      }
      case 'AT_AttachPartition': {
        const part = nodeAs<PartitionCmd>(cmd.def, 'PartitionCmd');
        return result(baseKind === 'index' ? 'index' : 'partition', rangeVarName(part?.name), table);
      }
      case 'AT_AddIdentity':
        return result('sequence', table, table);
      case 'AT_EnableRowSecurity':
      case 'AT_ForceRowSecurity':
      case 'AT_DisableRowSecurity':
      case 'AT_NoForceRowSecurity':
        return result('policy', table, table);
      case 'AT_EnableTrig':
      case 'AT_EnableAlwaysTrig':
      case 'AT_EnableReplicaTrig':
      case 'AT_DisableTrig':
        return result('trigger', cmd.name !== undefined ? displayIdent(cmd.name) : undefined, table);
      default:
        break;
    }
  }
  return result(baseKind, table, baseKind === 'index' ? undefined : table);
}

function commentTarget(stmt: CommentStmt): StatementClass {
  const name = genericObjectName(stmt.object);
  const parts = stringList(nodeAs<{ items?: Node[] }>(stmt.object, 'List')?.items);
  let table: string | undefined;
  if (stmt.objtype === 'OBJECT_COLUMN') table = displayName(parts.slice(0, -1));
  if (stmt.objtype === 'OBJECT_TABCONSTRAINT' || stmt.objtype === 'OBJECT_TRIGGER' || stmt.objtype === 'OBJECT_POLICY' || stmt.objtype === 'OBJECT_RULE') {
    table = displayName(parts.slice(0, -1));
  }
  if (stmt.objtype === 'OBJECT_TABLE') table = name;
  return result('comment', name, table);
}

function classifySelect(fields: Fields): StatementClass {
  const calls = findNodes<{ funcname?: Node[] }>(fields, 'FuncCall').map((f) => stringList(f.funcname).at(-1));
  if (fields.fromClause === undefined && calls.includes('set_config')) return result('set');
  if (fields.fromClause === undefined && (calls.includes('setval') || calls.includes('lo_create'))) return result('data');
  return result('other');
}

function defineStmt(fields: Fields): StatementClass {
  const kind = kindOfObjectType(fields.kind as ObjectType);
  const defnames = fields.defnames as Node[] | undefined;
  if (kind === 'aggregate') return result('aggregate', functionSignature(defnames, nodeAs<{ items?: Node[] }>((fields.args as Node[] | undefined)?.[0], 'List')?.items));
  // Operator names are symbols, never quoted.
  if (kind === 'operator') return result(kind, stringList(defnames).join('.'));
  return result(kind, displayName(stringList(defnames)));
}

/** Classifies one statement node (the `stmt` of a RawStmt) into an object kind and names. */
export function classifyStatement(ast: Node): StatementClass {
  const entry = nodeEntry(ast);
  if (entry === undefined) return result('other');
  const [type, f] = entry;
  const rv = (key: string): string | undefined => rangeVarName(f[key] as RangeVar | undefined);
  switch (type) {
    case 'CreateSchemaStmt':
      return result('schema', f.schemaname !== undefined ? displayIdent(String(f.schemaname)) : undefined);
    case 'CreateExtensionStmt':
    case 'AlterExtensionStmt':
    case 'AlterExtensionContentsStmt':
      return result('extension', displayIdent(String(f.extname ?? '')));
    case 'CreateEnumStmt':
    case 'AlterEnumStmt':
    case 'CreateRangeStmt':
      return result('type', displayName(stringList(f.typeName as Node[])));
    case 'CompositeTypeStmt':
      return result('type', rv('typevar'));
    case 'CreateDomainStmt':
      return result('domain', displayName(stringList(f.domainname as Node[])));
    case 'AlterDomainStmt':
      return result('domain', displayName(stringList(f.typeName as Node[])));
    case 'CreateSeqStmt':
    case 'AlterSeqStmt':
      return result('sequence', rv('sequence'));
    case 'CreateStmt': {
      const cs = f as CreateStmt;
      if (cs.partbound !== undefined) {
        return result('partition', rv('relation'), rangeVarName(nodeAs<RangeVar>(cs.inhRelations?.[0], 'RangeVar')));
      }
      return result('table', rv('relation'));
    }
    case 'CreateForeignTableStmt':
      return result('foreign-table', rangeVarName(nodeAs<CreateStmt>(f.base, 'CreateStmt')?.relation ?? (f.base as CreateStmt | undefined)?.relation));
    case 'CreateTableAsStmt': {
      const into = f.into as { rel?: RangeVar } | undefined;
      return result(f.objtype === 'OBJECT_MATVIEW' ? 'materialized-view' : 'table', rangeVarName(into?.rel));
    }
    case 'RefreshMatViewStmt':
      return result('materialized-view', rv('relation'));
    case 'ViewStmt':
      return result('view', rv('view'));
    case 'AlterTableStmt':
      return classifyAlterTable(f as AlterTableStmt);
    case 'IndexStmt':
      return result('index', inSchemaOf(f.relation as RangeVar, f.idxname as string | undefined), rv('relation'));
    case 'CreateFunctionStmt':
      return result(f.is_procedure === true ? 'procedure' : 'function', functionSignature(f.funcname as Node[], f.parameters as Node[]));
    case 'AlterFunctionStmt':
      return result(kindOfObjectType(f.objtype as ObjectType), objectWithArgsName(f.func as never));
    case 'DefineStmt':
      return defineStmt(f);
    case 'CreateTrigStmt': {
      const t = f as CreateTrigStmt;
      return result('trigger', t.trigname !== undefined ? displayIdent(t.trigname) : undefined, rv('relation'));
    }
    case 'CreateEventTrigStmt':
    case 'AlterEventTrigStmt':
      return result('event-trigger', displayIdent(String(f.trigname ?? '')));
    case 'CreatePolicyStmt':
    case 'AlterPolicyStmt':
      return result('policy', displayIdent(String(f.policy_name ?? '')), rv('table'));
    case 'RuleStmt':
      return result('rule', displayIdent(String(f.rulename ?? '')), rv('relation'));
    case 'CommentStmt':
    case 'SecLabelStmt':
      return commentTarget(f as CommentStmt);
    case 'GrantStmt':
    case 'GrantRoleStmt':
    case 'AlterDefaultPrivilegesStmt':
      return result('grant', genericObjectName((f.objects as Node[] | undefined)?.[0]));
    case 'AlterOwnerStmt':
      return result('owner', genericObjectName(f.object as Node));
    case 'VariableSetStmt':
    case 'ConstraintsSetStmt':
    case 'AlterSystemStmt':
      return result('set', f.name !== undefined ? String(f.name) : undefined);
    case 'SelectStmt':
      return classifySelect(f);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
    case 'CopyStmt':
    case 'TruncateStmt':
      return result('data', rv('relation'), rv('relation'));
    case 'CollationStmt':
    case 'AlterCollationStmt':
      return result('collation', displayName(stringList(f.collname as Node[])));
    case 'CreateOpClassStmt':
    case 'CreateOpFamilyStmt':
    case 'AlterOpFamilyStmt':
      return result('operator', displayName(stringList((f.opclassname ?? f.opfamilyname) as Node[])));
    case 'AlterOperatorStmt':
      return result('operator', objectWithArgsName(f.opername as never));
    case 'CreatePublicationStmt':
    case 'AlterPublicationStmt':
      return result('publication', displayIdent(String(f.pubname ?? '')));
    case 'CreateSubscriptionStmt':
    case 'AlterSubscriptionStmt':
      return result('subscription', displayIdent(String(f.subname ?? '')));
    case 'AlterTSConfigurationStmt':
    case 'AlterTSDictionaryStmt':
      return result('text-search', displayName(stringList((f.cfgname ?? f.dictname) as Node[])));
    case 'CreateCastStmt':
      return result('cast');
    case 'CreateConversionStmt':
      return result('conversion', displayName(stringList(f.conversion_name as Node[])));
    case 'CreatePLangStmt':
      return result('language', displayIdent(String(f.plname ?? '')));
    case 'CreateStatsStmt':
    case 'AlterStatsStmt':
      return result('statistics', displayName(stringList((f.defnames ?? f.statname) as Node[])));
    case 'CreateAmStmt':
      return result('access-method', displayIdent(String(f.amname ?? '')));
    case 'CreateTransformStmt':
      return result('transform');
    case 'CreateFdwStmt':
    case 'AlterFdwStmt':
    case 'CreateForeignServerStmt':
    case 'AlterForeignServerStmt':
    case 'CreateUserMappingStmt':
    case 'AlterUserMappingStmt':
    case 'ImportForeignSchemaStmt':
      return result('foreign-server', f.servername !== undefined ? displayIdent(String(f.servername)) : undefined);
    case 'CreateTableSpaceStmt':
    case 'AlterTableSpaceOptionsStmt':
      return result('tablespace', displayIdent(String(f.tablespacename ?? '')));
    case 'CreatedbStmt':
    case 'DropdbStmt':
    case 'AlterDatabaseStmt':
    case 'AlterDatabaseSetStmt':
    case 'AlterDatabaseRefreshCollStmt':
      return result('database', displayIdent(String(f.dbname ?? '')));
    case 'CreateRoleStmt':
    case 'AlterRoleStmt':
    case 'AlterRoleSetStmt':
    case 'DropRoleStmt':
      return result('role', f.role !== undefined ? String(f.role) : undefined);
    case 'DropStmt':
    case 'DropOwnedStmt':
    case 'DropSubscriptionStmt':
    case 'DropTableSpaceStmt':
      return result('drop');
    case 'TransactionStmt':
      return result('transaction');
    case 'RenameStmt':
    case 'AlterObjectSchemaStmt':
    case 'AlterObjectDependsStmt': {
      const kind = kindOfObjectType((f.renameType ?? f.objectType) as ObjectType);
      return result(kind, rv('relation') ?? genericObjectName(f.object as Node));
    }
    default:
      return result('other');
  }
}
