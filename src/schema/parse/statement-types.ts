// The parsed form of a schema file: one entry per SQL statement with its exact text, where it
// starts, its syntax tree and what kind of object it creates or changes. Export, analysis and
// import all work from this one shape.
import type { Node } from 'libpg-query';

/** Object kinds, named like the `schema/<object type>/` folders `export schema` writes. */
export const OBJECT_KINDS = [
  'schema',
  'extension',
  'type',
  'domain',
  'sequence',
  'table',
  'partition',
  'index',
  'constraint',
  'function',
  'procedure',
  'aggregate',
  'trigger',
  'view',
  'materialized-view',
  'policy',
  'comment',
  'grant',
  'owner',
  'set',
  'rule',
  'collation',
  'operator',
  'publication',
  'subscription',
  'text-search',
  'cast',
  'conversion',
  'language',
  'statistics',
  'access-method',
  'transform',
  'foreign-table',
  'foreign-server',
  'event-trigger',
  'tablespace',
  'database',
  'role',
  'drop',
  'transaction',
  'data',
  'other',
] as const;

export type ObjectKind = (typeof OBJECT_KINDS)[number];

/** What the classifier learns from one statement's syntax tree alone. */
export interface StatementClass {
  kind: ObjectKind;
  /** The object created or changed, schema-qualified where the statement says so. */
  objectName: string | undefined;
  /** The table an index, constraint, trigger, policy, rule, partition or comment belongs to. */
  tableName: string | undefined;
  /** ALTER TABLE ... ADD CONSTRAINT ... NOT VALID: import holds these back until after the data. */
  notValid: boolean;
  /** The statement adds a FOREIGN KEY constraint (import orders these after every table). */
  foreignKey: boolean;
}

/** One statement of a schema file. */
export interface ParsedStatement extends StatementClass {
  /** The file it came from, as given to the parser (used in error messages and reports). */
  file: string;
  /** 1-based line where the statement's first token is. */
  line: number;
  /** The exact statement text from its first token to just before its terminating semicolon. */
  sql: string;
  /** The libpg-query node of the statement, e.g. `{ CreateStmt: {...} }`. */
  ast: Node;
}
