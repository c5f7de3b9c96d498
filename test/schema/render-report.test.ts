import { describe, expect, it } from 'vitest';
import type { SchemaAnalysisReport } from '../../src/schema/analyze/analysis-types.js';
import { renderSchemaAnalysis, SCHEMA_ANALYSIS_FORMATS } from '../../src/reports/schema-analysis/render-report.js';

const hostile = `t<script>alert("x")</script>&'"]]>`;

const report: SchemaAnalysisReport = {
  reportVersion: 1,
  generatedAt: '2024-01-02T03:04:05.000Z',
  target: 'YugabyteDB',
  files: ['schema/tables/table.sql'],
  summary: {
    totalIssues: 2,
    byCategory: [
      { category: 'unsupported_features', title: 'Unsupported features', issues: 1 },
      { category: 'performance_optimizations', title: 'Performance optimizations', issues: 1 },
    ],
    byObjectType: [{ objectType: 'index', totalObjects: 2, objectsWithIssues: 2, issues: 2 }],
  },
  issues: [
    {
      category: 'unsupported_features', type: 'GIST_INDEX', title: 'GiST index', objectType: 'index', objectName: `public."${hostile}" ON t`,
      reason: 'GiST is not supported.', sql: `CREATE INDEX "${hostile}" ON t USING gist (d)`, suggestion: 'Use GIN.',
      docsLink: 'https://docs.yugabyte.com/x', file: 'schema/tables/table.sql', line: 12,
    },
    {
      category: 'performance_optimizations', type: 'REDUNDANT_INDEX', title: 'Redundant index', objectType: 'index', objectName: 'i2 ON t',
      reason: 'Redundant.', sql: 'CREATE INDEX i2 ON t (a)', suggestion: 'Drop it.', docsLink: undefined, file: 'schema/tables/table.sql', line: 14,
    },
  ],
};

/** A minimal XML well-formedness check: tags balance, attributes are quoted, no raw `<` or bare `&`. */
function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w.-]*)((?:\s+[\w.-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf('<', i);
    const text = body.slice(i, lt === -1 ? body.length : lt);
    expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
    expect(text).not.toContain('>');
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(body);
    if (m === null) throw new Error(`malformed tag at ${body.slice(lt, lt + 60)}`);
    if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
    else if (m[4] !== '/') stack.push(m[2] as string);
    i = tag.lastIndex;
  }
  expect(stack).toEqual([]);
}

describe('schema analysis renderers', () => {
  it.each(SCHEMA_ANALYSIS_FORMATS)('%s contains every issue', (format) => {
    const out = renderSchemaAnalysis(report, format);
    expect(out).toContain('GIST_INDEX');
    expect(out).toContain('REDUNDANT_INDEX');
    expect(out).toContain('schema/tables/table.sql');
  });

  it('json is the report data, round-trippable', () => {
    expect(JSON.parse(renderSchemaAnalysis(report, 'json'))).toEqual(JSON.parse(JSON.stringify(report)));
  });

  it('xml is well-formed and escapes hostile names', () => {
    const xml = renderSchemaAnalysis(report, 'xml');
    assertWellFormedXml(xml);
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&apos;&quot;]]&gt;');
  });

  it('html is self-contained, summary first, grouped by category, escaped', () => {
    const html = renderSchemaAnalysis(report, 'html');
    expect(html).not.toMatch(/<script|<link|src=|@import/i);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;&quot;');
    expect(html.indexOf('Summary')).toBeLessThan(html.indexOf('id="unsupported_features"'));
    expect(html.indexOf('id="unsupported_features"')).toBeLessThan(html.indexOf('id="performance_optimizations"'));
    expect(html).toContain('<pre>CREATE INDEX i2 ON t (a)</pre>');
    expect(html).not.toContain('id="migration_caveats"');
  });

  it('txt lists the summary then the issues with their SQL', () => {
    const txt = renderSchemaAnalysis(report, 'txt');
    expect(txt).toMatch(/Total issues: 2[\s\S]*== Unsupported features \(1\) ==[\s\S]*file: schema\/tables\/table.sql, line 12[\s\S]*== Performance optimizations/);
  });
});
