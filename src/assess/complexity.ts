// How much work the migration will be, LOW, MEDIUM or HIGH, by a rule stated in the report: schema
// issues that need rewriting weigh most, then what the source must change before a live migration
// (readiness blockers, tables without a primary key), the application's statements that use SQL the
// target lacks, then caveats to review.

import type { ReadinessReport } from '../engines/capture-readiness.js';
import type { CategoryCount, IssueCategory } from '../schema/analyze/analysis-types.js';
import type { MigrationComplexity } from './assessment-types.js';

/** Categories whose issues mean DDL or code must be rewritten for the target. */
export const REWRITE_CATEGORIES: readonly IssueCategory[] = [
  'unsupported_features',
  'unsupported_datatypes',
  'unsupported_query_constructs',
  'unsupported_plpgsql_objects',
];
/** More rewrite issues than this: HIGH. */
export const HIGH_REWRITE_ISSUES = 20;
/** At least this many caveats to review: at least MEDIUM. */
export const MEDIUM_CAVEATS = 5;

/** The level and the counts that decided it. */
export function assessComplexity(
  byCategory: readonly CategoryCount[],
  readiness: ReadinessReport,
  tablesWithoutPrimaryKey: number,
  statementsWithUnsupportedConstructs = 0,
): MigrationComplexity {
  const count = (category: IssueCategory): number => byCategory.find((c) => c.category === category)?.issues ?? 0;
  const rewrites = REWRITE_CATEGORIES.reduce((sum, category) => sum + count(category), 0);
  const caveats = count('migration_caveats');
  const blockers = readiness.findings.filter((f) => f.severity === 'blocker').length;
  const reasons = [
    `${rewrites} schema issue(s) that need rewriting (${REWRITE_CATEGORIES.map((c) => `${c} ${count(c)}`).join(', ')}); more than ${HIGH_REWRITE_ISSUES} is HIGH, any is at least MEDIUM.`,
    `${blockers} live-migration readiness blocker(s) on the source; any is at least MEDIUM.`,
    `${tablesWithoutPrimaryKey} table(s) without a primary key; any is at least MEDIUM (YugabyteDB distributes rows by primary key and adds a hidden one otherwise).`,
    `${caveats} migration caveat(s) to review; ${MEDIUM_CAVEATS} or more is at least MEDIUM.`,
    `${statementsWithUnsupportedConstructs} application statement(s) (pg_stat_statements) using SQL the target lacks; any is at least MEDIUM.`,
  ];
  const medium = rewrites > 0 || blockers > 0 || tablesWithoutPrimaryKey > 0 || caveats >= MEDIUM_CAVEATS || statementsWithUnsupportedConstructs > 0;
  const level = rewrites > HIGH_REWRITE_ISSUES ? 'HIGH' : medium ? 'MEDIUM' : 'LOW';
  return { level, reasons };
}
