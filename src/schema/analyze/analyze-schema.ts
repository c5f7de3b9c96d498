// The analyze-schema rule engine: statements in, report data out. Pure (no I/O); needs the SQL
// parser loaded (loadSqlParser) because routine bodies are parsed here.
import type { ParsedStatement } from '../parse/statement-types.js';
import { CATEGORY_TITLES, ISSUE_CATEGORIES, type IssueDefinition, type ObjectTypeCount, type SchemaAnalysisReport, type SchemaIssue } from './analysis-types.js';
import { routineBody, type RoutineBody } from './routine-bodies.js';
import type { IssueTarget, RuleContext, RuleFamily } from './rule-context.js';
import { datatypeRules } from './rules-datatypes.js';
import { indexRules } from './rules-indexes.js';
import { migrationCaveatRules } from './rules-migration-caveats.js';
import { objectRules } from './rules-objects.js';
import { performanceRules } from './rules-performance.js';
import { plpgsqlRules } from './rules-plpgsql.js';
import { queryConstructRules } from './rules-query-constructs.js';
import { tableRules } from './rules-tables.js';
import { buildSchemaModel } from './schema-model.js';

/** Every rule family, in report order. */
export const RULE_FAMILIES: RuleFamily[] = [
  tableRules,
  indexRules,
  objectRules,
  datatypeRules,
  queryConstructRules,
  plpgsqlRules,
  migrationCaveatRules,
  performanceRules,
];

/** All issue definitions by type id; the rule list the docs and tests enumerate. */
export function issueDefinitions(): Map<string, IssueDefinition> {
  const map = new Map<string, IssueDefinition>();
  for (const family of RULE_FAMILIES) {
    for (const def of family.definitions) {
      if (map.has(def.type)) throw new Error(`duplicate issue type ${def.type}`);
      map.set(def.type, def);
    }
  }
  return map;
}

/** Kinds that are objects of their own for the summary (not owners, grants, settings, comments). */
const COUNTED_KINDS = new Set([
  'schema', 'extension', 'type', 'domain', 'sequence', 'table', 'partition', 'index', 'constraint', 'function', 'procedure',
  'aggregate', 'trigger', 'view', 'materialized-view', 'policy', 'rule', 'collation', 'operator', 'publication', 'text-search',
  'cast', 'conversion', 'language', 'statistics', 'access-method', 'transform', 'foreign-table', 'foreign-server',
  'event-trigger', 'tablespace',
]);

/** The name a report shows: table-scoped objects as `name ON table`, like the established tools. */
export function objectLabel(statement: ParsedStatement): string {
  const name = statement.objectName ?? '';
  const scoped = ['index', 'constraint', 'trigger', 'policy', 'rule'].includes(statement.kind);
  if (scoped && statement.tableName !== undefined) return `${name} ON ${statement.tableName}`;
  return name;
}

function summariseObjects(statements: ParsedStatement[], issues: SchemaIssue[]): ObjectTypeCount[] {
  const objects = new Map<string, Set<string>>();
  for (const s of statements) {
    if (!COUNTED_KINDS.has(s.kind) || s.objectName === undefined) continue;
    const set = objects.get(s.kind) ?? new Set<string>();
    set.add(objectLabel(s));
    objects.set(s.kind, set);
  }
  const withIssues = new Map<string, Set<string>>();
  const issueCounts = new Map<string, number>();
  for (const issue of issues) {
    const set = withIssues.get(issue.objectType) ?? new Set<string>();
    set.add(issue.objectName);
    withIssues.set(issue.objectType, set);
    issueCounts.set(issue.objectType, (issueCounts.get(issue.objectType) ?? 0) + 1);
    if (!objects.has(issue.objectType)) objects.set(issue.objectType, new Set());
    objects.get(issue.objectType)?.add(issue.objectName);
  }
  return [...objects.entries()]
    .map(([objectType, names]) => ({
      objectType,
      totalObjects: names.size,
      objectsWithIssues: withIssues.get(objectType)?.size ?? 0,
      issues: issueCounts.get(objectType) ?? 0,
    }))
    .sort((a, b) => a.objectType.localeCompare(b.objectType));
}

/** Runs every rule over the statements of all schema files and returns the report data. */
export function analyzeSchema(statements: ParsedStatement[], options: { target?: string; now?: Date } = {}): SchemaAnalysisReport {
  const definitions = issueDefinitions();
  const bodies = new Map<ParsedStatement, RoutineBody>();
  for (const s of statements) {
    const body = routineBody(s);
    if (body !== undefined) bodies.set(s, body);
  }
  const issues: SchemaIssue[] = [];
  const seen = new Set<string>();
  const report = (type: string, statement: ParsedStatement, target: IssueTarget = {}): void => {
    const def = definitions.get(type);
    if (def === undefined) throw new Error(`rule reported unknown issue type ${type}`);
    const objectType = target.objectType ?? statement.kind;
    const objectName = target.objectName ?? objectLabel(statement);
    const key = `${type}\u0000${objectType}\u0000${objectName}\u0000${statement.file}\u0000${statement.line}`;
    if (seen.has(key)) return;
    seen.add(key);
    issues.push({
      category: def.category,
      type,
      title: def.title,
      objectType,
      objectName,
      reason: def.reason,
      sql: statement.sql,
      suggestion: def.suggestion,
      docsLink: def.docsLink,
      file: statement.file,
      line: statement.line,
    });
  };
  const context: RuleContext = { statements, model: buildSchemaModel(statements), bodies, report };
  for (const family of RULE_FAMILIES) family.check(context);
  const order = new Map(ISSUE_CATEGORIES.map((c, i) => [c, i]));
  issues.sort((a, b) => (order.get(a.category) ?? 0) - (order.get(b.category) ?? 0) || a.file.localeCompare(b.file) || a.line - b.line || a.type.localeCompare(b.type));
  return {
    reportVersion: 1,
    generatedAt: (options.now ?? new Date()).toISOString(),
    target: options.target ?? 'YugabyteDB',
    files: [...new Set(statements.map((s) => s.file))],
    summary: {
      totalIssues: issues.length,
      byCategory: ISSUE_CATEGORIES.map((category) => ({ category, title: CATEGORY_TITLES[category], issues: issues.filter((i) => i.category === category).length })),
      byObjectType: summariseObjects(statements, issues),
    },
    issues,
  };
}
