// XML rendering of the schema analysis. Every text value is escaped (escapeXml); SQL goes into
// element content, never CDATA, so a statement containing "]]>" cannot break the document.
import type { SchemaAnalysisReport } from '../../schema/analyze/analysis-types.js';
import { escapeXml } from '../escape.js';

function element(name: string, value: string | number | undefined, pad: string): string {
  return value === undefined ? '' : `${pad}<${name}>${escapeXml(String(value))}</${name}>\n`;
}

/** Renders the report as a well-formed XML document. */
export function renderSchemaAnalysisXml(report: SchemaAnalysisReport): string {
  let xml = '<?xml version="1.0" encoding="UTF-8"?>\n';
  xml += `<schemaAnalysisReport reportVersion="${report.reportVersion}" target="${escapeXml(report.target)}" generatedAt="${escapeXml(report.generatedAt)}">\n`;
  xml += '  <files>\n';
  for (const f of report.files) xml += element('file', f, '    ');
  xml += '  </files>\n';
  xml += `  <summary totalIssues="${report.summary.totalIssues}">\n`;
  for (const c of report.summary.byCategory) {
    xml += `    <category name="${escapeXml(c.category)}" title="${escapeXml(c.title)}" issues="${c.issues}"/>\n`;
  }
  for (const o of report.summary.byObjectType) {
    xml += `    <objectType name="${escapeXml(o.objectType)}" totalObjects="${o.totalObjects}" objectsWithIssues="${o.objectsWithIssues}" issues="${o.issues}"/>\n`;
  }
  xml += '  </summary>\n  <issues>\n';
  for (const i of report.issues) {
    xml += '    <issue>\n';
    xml += element('category', i.category, '      ');
    xml += element('type', i.type, '      ');
    xml += element('title', i.title, '      ');
    xml += element('objectType', i.objectType, '      ');
    xml += element('objectName', i.objectName, '      ');
    xml += element('reason', i.reason, '      ');
    xml += element('sql', i.sql, '      ');
    xml += element('suggestion', i.suggestion, '      ');
    xml += element('docsLink', i.docsLink, '      ');
    xml += element('file', i.file, '      ');
    xml += element('line', i.line, '      ');
    xml += '    </issue>\n';
  }
  xml += '  </issues>\n</schemaAnalysisReport>\n';
  return xml;
}
