// The application's own statements, as pg_stat_statements recorded them on the source, checked for
// SQL the target lacks (advisory locks, system columns, MERGE, SQL/JSON functions...) with the same
// rules analyze-schema applies to views and routines: the schema can be clean while the queries the
// application sends are not. The capture left tools' catalog queries out already (catalog-statements.ts).

import { issueDefinitions } from '../schema/analyze/analyze-schema.js';
import { constructIssues } from '../schema/analyze/rules-query-constructs.js';
import type { IssueDefinition } from '../schema/analyze/analysis-types.js';
import { loadSqlParser, parseSqlTextSync } from '../schema/parse/parse-sql.js';
import type { QueryConstructFinding } from './assessment-types.js';
import type { QueryStatistic } from './query-statistics-types.js';

/** Each statement that uses an unsupported construct, with the issues found in it; and how many could not be parsed. */
export async function findUnsupportedConstructs(statistics: readonly QueryStatistic[]): Promise<{ findings: QueryConstructFinding[]; unparsed: number }> {
  if (statistics.length === 0) return { findings: [], unparsed: 0 };
  await loadSqlParser();
  const definitions = issueDefinitions();
  const findings: QueryConstructFinding[] = [];
  let unparsed = 0;
  for (const statistic of statistics) {
    let types: Set<string>;
    try {
      const statements = parseSqlTextSync(statistic.query, 'pg_stat_statements');
      types = new Set(statements.flatMap((statement) => [...constructIssues(statement.ast)]));
    } catch {
      unparsed++; // a text pg_stat_statements truncated or normalised beyond the grammar
      continue;
    }
    const issues = [...types].map((type) => definitions.get(type)).filter((d): d is IssueDefinition => d !== undefined);
    if (issues.length > 0) {
      findings.push({
        query: statistic.query,
        calls: statistic.calls,
        issues: issues.map((d) => ({ type: d.type, title: d.title, reason: d.reason, suggestion: d.suggestion, ...(d.docsLink === undefined ? {} : { docsLink: d.docsLink }) })),
      });
    }
  }
  return { findings, unparsed };
}
