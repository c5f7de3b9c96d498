// Whole objects YugabyteDB does not support or that need work on the target: extensions it does not
// ship, nondeterministic collations, conversions, access methods, foreign tables, SECURITY INVOKER
// views, and trigger variants (REFERENCING, constraint triggers, BEFORE ROW on partitioned tables).
import type { CreateTrigStmt, DefElem, Node } from 'libpg-query';
import { rangeVarName } from '../parse/ast-names.js';
import { nodeAs, nodeEntry } from '../parse/ast-walk.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';

const F = 'unsupported_features' as const;

const definitions: IssueDefinition[] = [
  { type: 'UNSUPPORTED_EXTENSION', category: F, title: 'Extension not available on YugabyteDB', reason: 'This extension is not among those YugabyteDB ships.', suggestion: 'Remove the extension and the objects that use it, or find a supported alternative.', docsLink: 'https://docs.yugabyte.com/preview/explore/ysql-language-features/pg-extensions/' },
  { type: 'NONDETERMINISTIC_COLLATION', category: F, title: 'Nondeterministic collation', reason: 'Collations with deterministic = false are not supported by YugabyteDB.', suggestion: 'Use a deterministic collation, and lower()/citext-style comparisons where case-insensitivity is needed.', docsLink: docsLink('non-deterministic-collations') },
  { type: 'CREATE_CONVERSION', category: F, title: 'CREATE CONVERSION', reason: 'CREATE CONVERSION is not supported by YugabyteDB.', suggestion: 'Remove the conversion; convert encodings in the application.', docsLink: docsLink('create-or-alter-conversion-is-not-supported') },
  { type: 'CREATE_ACCESS_METHOD', category: F, title: 'CREATE ACCESS METHOD', reason: 'Custom access methods are not supported by YugabyteDB.', suggestion: 'Remove the access method and the objects that use it.' },
  { type: 'FOREIGN_TABLE', category: F, title: 'Foreign table', reason: 'Foreign tables need their foreign server and user mapping on the target, and their data is not migrated.', suggestion: 'Create the server, user mapping and postgres_fdw (or file_fdw) extension on the target by hand.', docsLink: docsLink('foreign-table-in-the-source-database-requires-server-and-user-mapping') },
  { type: 'SECURITY_INVOKER_VIEW', category: F, title: 'SECURITY INVOKER view', reason: 'WITH (security_invoker = true) views (PostgreSQL 15) are not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Drop the option and grant privileges so that the view owner\'s rights are acceptable, or use a YugabyteDB release based on PostgreSQL 15.', docsLink: docsLink('security-invoker-views') },
  { type: 'REFERENCING_CLAUSE_IN_TRIGGER', category: F, title: 'REFERENCING clause in trigger', reason: 'Transition tables (REFERENCING NEW TABLE / OLD TABLE) are not supported in YugabyteDB triggers.', suggestion: 'Use a FOR EACH ROW trigger instead of reading transition tables.', docsLink: docsLink('referencing-clause-for-triggers') },
  { type: 'BEFORE_ROW_TRIGGER_ON_PARTITIONED_TABLE', category: F, title: 'BEFORE ROW trigger on a partitioned table', reason: 'BEFORE ROW triggers on partitioned tables (PostgreSQL 13) are not supported by YugabyteDB releases based on PostgreSQL 11.', suggestion: 'Create the trigger on each leaf partition instead.', docsLink: docsLink('before-row-triggers-on-partitioned-tables') },
  { type: 'CONSTRAINT_TRIGGER', category: F, title: 'Constraint trigger', reason: 'CREATE CONSTRAINT TRIGGER is not supported by YugabyteDB.', suggestion: 'Use a regular AFTER trigger.', docsLink: docsLink('constraint-trigger-is-not-supported') },
];

/** Extensions YugabyteDB ships (bundled or pre-installable). */
const YB_EXTENSIONS = new Set([
  'plpgsql', 'fuzzystrmatch', 'hstore', 'pgcrypto', 'pg_stat_statements', 'pg_trgm', 'postgres_fdw', 'file_fdw', 'sslinfo',
  'tablefunc', 'uuid-ossp', 'cube', 'earthdistance', 'intarray', 'isn', 'ltree', 'pg_hint_plan', 'pgaudit', 'pg_partman',
  'pg_cron', 'autoinc', 'insert_username', 'moddatetime', 'refint', 'vector', 'hypopg', 'orafce', 'passwordcheck', 'citext',
  'btree_gin', 'btree_gist', 'dblink', 'unaccent', 'dict_int', 'dict_xsyn', 'tcn', 'pgstattuple', 'pg_buffercache',
  'pgrowlocks', 'seg', 'tsm_system_rows', 'tsm_system_time', 'lo', 'yb_pg_metrics', 'pg_stat_monitor', 'anon',
]);

function boolOption(options: Node[] | undefined, name: string): boolean | undefined {
  for (const o of options ?? []) {
    const d = nodeAs<DefElem>(o, 'DefElem');
    if (d?.defname?.toLowerCase() !== name) continue;
    if (d.arg === undefined) return true;
    const entry = nodeEntry(d.arg);
    const value = String(entry?.[1].sval ?? entry?.[1].boolval ?? entry?.[1].ival ?? '').toLowerCase();
    return ['true', 'on', '1', 'yes'].includes(value);
  }
  return undefined;
}

const TRIGGER_TYPE_BEFORE = 1 << 1;

function checkTrigger(ctx: RuleContext, stmt: Parameters<RuleContext['report']>[1], trig: CreateTrigStmt): void {
  if ((trig.transitionRels ?? []).length > 0) ctx.report('REFERENCING_CLAUSE_IN_TRIGGER', stmt);
  if (trig.isconstraint === true) ctx.report('CONSTRAINT_TRIGGER', stmt);
  const table = ctx.model.findTable(rangeVarName(trig.relation));
  const before = ((trig.timing ?? 0) & TRIGGER_TYPE_BEFORE) !== 0;
  if (before && trig.row === true && table !== undefined && table.partitionKey.length > 0) {
    ctx.report('BEFORE_ROW_TRIGGER_ON_PARTITIONED_TABLE', stmt);
  }
}

function check(ctx: RuleContext): void {
  for (const stmt of ctx.statements) {
    const entry = nodeEntry(stmt.ast);
    if (entry === undefined) continue;
    const [type, f] = entry;
    if (type === 'CreateExtensionStmt' && !YB_EXTENSIONS.has(String(f.extname ?? '').toLowerCase())) ctx.report('UNSUPPORTED_EXTENSION', stmt);
    if (type === 'DefineStmt' && f.kind === 'OBJECT_COLLATION' && boolOption(f.definition as Node[], 'deterministic') === false) {
      ctx.report('NONDETERMINISTIC_COLLATION', stmt);
    }
    if (type === 'CreateConversionStmt') ctx.report('CREATE_CONVERSION', stmt);
    if (type === 'CreateAmStmt') ctx.report('CREATE_ACCESS_METHOD', stmt);
    if (type === 'CreateForeignTableStmt') ctx.report('FOREIGN_TABLE', stmt);
    if (type === 'ViewStmt' && boolOption(f.options as Node[], 'security_invoker') === true) ctx.report('SECURITY_INVOKER_VIEW', stmt);
    if (type === 'CreateTrigStmt') checkTrigger(ctx, stmt, f as CreateTrigStmt);
    if (type === 'AlterTableStmt') {
      const invoker = (f.cmds as Node[] | undefined ?? []).some((c) => boolOption(nodeAs<{ def?: { List?: { items?: Node[] } } }>(c, 'AlterTableCmd')?.def?.List?.items, 'security_invoker') === true);
      if (invoker) ctx.report('SECURITY_INVOKER_VIEW', stmt);
    }
  }
}

/** Object-level rules. */
export const objectRules: RuleFamily = { name: 'objects', definitions, check };
