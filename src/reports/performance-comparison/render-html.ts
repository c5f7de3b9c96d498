// HTML rendering of the performance comparison: one self-contained file (inline CSS, no scripts, no
// external resources) with the summary first, then the statements run on both sides (the source's
// heaviest first), then those seen on one side only. Statement texts come from the databases and
// are escaped like everything else.
import type { ComparedSide, ComparedStatement, OneSidedStatement, PerformanceComparison, StatementTiming } from '../../assess/compare-queries.js';
import { escapeHtml as e } from '../escape.js';
import { formatMs, formatRatio } from './format-numbers.js';

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
pre{margin:0;white-space:pre-wrap;word-break:break-word;max-width:60em;font-size:.9em}
.slower{color:#a00;font-weight:bold}.faster{color:#070;font-weight:bold}.similar{color:#555}`;

function sideRow(label: string, side: ComparedSide): string {
  return `<tr><th>${e(label)}</th><td>${e(side.database)}</td><td>${e(side.serverVersion)}</td><td>${e(side.capturedAt)}</td><td class="num">${side.statements}</td></tr>`;
}

function timingCells(t: StatementTiming): string {
  return `<td class="num">${t.calls}</td><td class="num">${formatMs(t.meanExecMs)}</td><td class="num">${formatMs(t.totalExecMs)}</td>`;
}

function matchedRow(m: ComparedStatement, index: number): string {
  return `<tr><td class="num">${index + 1}</td><td><pre>${e(m.query)}</pre></td>${timingCells(m.source)}${timingCells(m.target)}
<td class="num">${e(formatRatio(m.meanRatio))}</td><td class="${e(m.verdict)}">${e(m.verdict)}</td></tr>`;
}

function oneSidedSection(title: string, explanation: string, statements: OneSidedStatement[]): string {
  if (statements.length === 0) return `<h2>${e(title)} (0)</h2>`;
  const rows = statements
    .map((s, i) => `<tr><td class="num">${i + 1}</td><td><pre>${e(s.query)}</pre></td>${timingCells(s.timing)}</tr>`)
    .join('\n');
  return `<h2>${e(title)} (${statements.length})</h2><p>${e(explanation)}</p>
<table><tr><th>#</th><th>Statement</th><th>Calls</th><th>Mean ms</th><th>Total ms</th></tr>
${rows}</table>`;
}

/** Renders the comparison as a self-contained HTML page a colleague can open on its own. */
export function renderPerformanceComparisonHtml(c: PerformanceComparison): string {
  const s = c.summary;
  const matchedRows = c.matched.map(matchedRow).join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Performance comparison report</title><style>${STYLE}</style></head>
<body><h1>Performance comparison report</h1>
<p>Generated ${e(c.generatedAt)} from pg_stat_statements: the source's as captured by assess-migration, the target's now.</p>
<table><tr><th></th><th>Database</th><th>Server</th><th>Captured at</th><th>Statements</th></tr>
${sideRow('Source', c.source)}
${sideRow('Target', c.target)}</table>
<h2>Summary</h2>
<table><tr><th>Statements on both sides</th><td class="num">${s.matched}</td></tr>
<tr><th>Slower on the target</th><td class="num slower">${s.slower}</td></tr>
<tr><th>Faster on the target</th><td class="num faster">${s.faster}</td></tr>
<tr><th>Similar</th><td class="num">${s.similar}</td></tr>
<tr><th>Only on the source (not run on the target yet)</th><td class="num">${s.onlySource}</td></tr>
<tr><th>Only on the target</th><td class="num">${s.onlyTarget}</td></tr></table>
<p>A statement is <span class="slower">slower</span> (or <span class="faster">faster</span>) when its mean execution time on one side is more than
${e(String(c.thresholds.meanRatio))} times the other's and the two means differ by more than ${e(String(c.thresholds.minDifferenceMs))} ms; otherwise it is similar.
Statements are matched by their normalised text; those with the most total execution time on the source come first.</p>
<h2>Statements on both sides (${c.matched.length})</h2>
<table><tr><th rowspan="2">#</th><th rowspan="2">Statement</th><th colspan="3">Source</th><th colspan="3">Target</th><th rowspan="2">Target / source mean</th><th rowspan="2">Verdict</th></tr>
<tr><th>Calls</th><th>Mean ms</th><th>Total ms</th><th>Calls</th><th>Mean ms</th><th>Total ms</th></tr>
${matchedRows}</table>
${oneSidedSection('Only on the source', 'Run on the source but not (yet) on the target: point that part of the application at the target, then compare again.', c.onlySource)}
${oneSidedSection('Only on the target', 'Run on the target but not seen on the source when it was assessed.', c.onlyTarget)}
</body></html>
`;
}
