import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeSchema, issueDefinitions } from '../../src/schema/analyze/analyze-schema.js';
import { loadSqlParser, parseSqlTextSync } from '../../src/schema/parse/parse-sql.js';
import { RULE_CASES } from './rule-cases.js';

function typesFound(sql: string): string[] {
  return analyzeSchema(parseSqlTextSync(sql, 'case.sql')).issues.map((i) => i.type);
}

beforeAll(async () => {
  await loadSqlParser();
});

describe('analyze-schema rules', () => {
  it('has at least 40 issue types across the six categories, each with a positive and a negative case', () => {
    const defs = issueDefinitions();
    expect(defs.size).toBeGreaterThanOrEqual(40);
    expect(new Set([...defs.values()].map((d) => d.category)).size).toBe(6);
    expect(RULE_CASES.map((c) => c.type).sort()).toEqual([...defs.keys()].sort());
    for (const d of defs.values()) {
      expect(d.type).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(d.reason.length).toBeGreaterThan(10);
      expect(d.suggestion.length).toBeGreaterThan(5);
    }
  });

  it.each(RULE_CASES)('$type: reported for the positive case', ({ type, positive }) => {
    expect(typesFound(positive)).toContain(type);
  });

  it.each(RULE_CASES)('$type: not reported for the negative case', ({ type, negative }) => {
    expect(typesFound(negative)).not.toContain(type);
  });

  it('fills every field of an issue, with file, line and the statement text', () => {
    const sql = 'CREATE TABLE t (id int PRIMARY KEY, d tsvector);\n\nCREATE INDEX "we<ird>" ON t USING gist (d);';
    const report = analyzeSchema(parseSqlTextSync(sql, 'schema/tables/table.sql'), { now: new Date('2024-01-02T03:04:05Z') });
    const issue = report.issues.find((i) => i.type === 'GIST_INDEX');
    expect(issue).toMatchObject({
      category: 'unsupported_features',
      objectType: 'index',
      objectName: '"we<ird>" ON t',
      sql: 'CREATE INDEX "we<ird>" ON t USING gist (d)',
      file: 'schema/tables/table.sql',
      line: 3,
    });
    expect(report.generatedAt).toBe('2024-01-02T03:04:05.000Z');
    expect(report.summary.byCategory.find((c) => c.category === 'unsupported_features')?.issues).toBe(1);
    expect(report.summary.byObjectType.find((o) => o.objectType === 'index')).toMatchObject({ totalObjects: 1, objectsWithIssues: 1 });
    expect(report.summary.byObjectType.find((o) => o.objectType === 'table')).toMatchObject({ totalObjects: 1, objectsWithIssues: 0 });
  });

  it('analyses PL/pgSQL bodies whose parameters use %TYPE', () => {
    const sql = 'CREATE FUNCTION f(a t.id%TYPE) RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock(a); RETURN (SELECT xmin FROM t LIMIT 1); END $$;';
    expect(typesFound(sql)).toEqual(expect.arrayContaining(['PLPGSQL_REFERENCED_TYPE', 'ADVISORY_LOCKS', 'SYSTEM_COLUMNS']));
  });
});
