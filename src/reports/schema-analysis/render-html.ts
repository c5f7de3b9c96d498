// HTML rendering of the schema analysis: one self-contained file (inline CSS, no scripts, no
// external resources) with the summary first and the issues grouped by category, each with its SQL.
import { CATEGORY_TITLES, ISSUE_CATEGORIES, type SchemaAnalysisReport, type SchemaIssue } from '../../schema/analyze/analysis-types.js';
import { escapeHtml as e } from '../escape.js';

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;white-space:pre-wrap}.issue{border-top:1px solid #ddd;padding:.5em 0}
.type{font-family:monospace;background:#eef;padding:1px 4px}`;

function issueBlock(i: SchemaIssue): string {
  const docs = i.docsLink !== undefined && /^https?:\/\//.test(i.docsLink) ? `<p>Docs: <a href="${e(i.docsLink)}">${e(i.docsLink)}</a></p>` : '';
  return `<div class="issue"><h3><span class="type">${e(i.type)}</span> ${e(i.title)}</h3>
<table><tr><th>Object</th><td>${e(i.objectType)}: ${e(i.objectName)}</td></tr>
<tr><th>File</th><td>${e(i.file)}, line ${i.line}</td></tr>
<tr><th>Reason</th><td>${e(i.reason)}</td></tr>
<tr><th>Suggestion</th><td>${e(i.suggestion)}</td></tr></table>${docs}
<pre>${e(i.sql)}</pre></div>`;
}

/** Renders the report as a self-contained HTML page a colleague can open on its own. */
export function renderSchemaAnalysisHtml(report: SchemaAnalysisReport): string {
  const categoryRows = report.summary.byCategory
    .map((c) => `<tr><td>${c.issues > 0 ? `<a href="#${e(c.category)}">${e(c.title)}</a>` : e(c.title)}</td><td>${c.issues}</td></tr>`)
    .join('\n');
  const objectRows = report.summary.byObjectType
    .map((o) => `<tr><td>${e(o.objectType)}</td><td>${o.totalObjects}</td><td>${o.objectsWithIssues}</td><td>${o.issues}</td></tr>`)
    .join('\n');
  const sections = ISSUE_CATEGORIES.map((category) => {
    const issues = report.issues.filter((i) => i.category === category);
    if (issues.length === 0) return '';
    return `<section id="${e(category)}"><h2>${e(CATEGORY_TITLES[category])} (${issues.length})</h2>\n${issues.map(issueBlock).join('\n')}</section>`;
  }).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Schema analysis report</title><style>${STYLE}</style></head>
<body><h1>Schema analysis report</h1>
<p>Target: ${e(report.target)} &middot; generated ${e(report.generatedAt)} &middot; files: ${e(report.files.join(', '))}</p>
<h2>Summary</h2><p>Total issues: ${report.summary.totalIssues}</p>
<table><tr><th>Category</th><th>Issues</th></tr>
${categoryRows}</table>
<table><tr><th>Object type</th><th>Total objects</th><th>Objects with issues</th><th>Issues</th></tr>
${objectRows}</table>
${sections}
</body></html>
`;
}
