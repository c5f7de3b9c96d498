// What every rule family gets: the statements, the cross-statement model, parsed routine bodies,
// and a `report` function. A family declares its issue definitions next to its checks.
import type { ParsedStatement } from '../parse/statement-types.js';
import type { IssueDefinition } from './analysis-types.js';
import type { RoutineBody } from './routine-bodies.js';
import type { SchemaModel } from './schema-model.js';

/** Where an issue was found, when it is not simply the statement's own object. */
export interface IssueTarget {
  objectType?: string;
  objectName?: string;
}

export interface RuleContext {
  statements: ParsedStatement[];
  model: SchemaModel;
  /** Parsed bodies of CREATE FUNCTION/PROCEDURE and DO statements. */
  bodies: Map<ParsedStatement, RoutineBody>;
  report(type: string, statement: ParsedStatement, target?: IssueTarget): void;
}

/** One file of rules: its issue types and the check that reports them. */
export interface RuleFamily {
  name: string;
  definitions: IssueDefinition[];
  check(context: RuleContext): void;
}

const YB_DOCS = 'https://docs.yugabyte.com/preview/yugabyte-voyager/known-issues/postgresql/';

/** A docs-style link to the YugabyteDB Voyager known-issues page section for an issue. */
export function docsLink(anchor: string): string {
  return `${YB_DOCS}#${anchor}`;
}
