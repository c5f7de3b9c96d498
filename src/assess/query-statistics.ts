// Reads pg_stat_statements of the connected database into a QueryStatisticsCapture, and keeps that
// capture in the export directory (assessment/metadata/query_statistics.json). `assess-migration`
// captures the source this way and `compare-performance` the target, so both sides are read alike.
// When pg_stat_statements cannot be read the capture says why and what to do instead of failing:
// the assessment goes on without it, and compare-performance turns the reason into its error.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { StateError, describeError } from '../core/errors.js';
import { displayIdent, quoteIdent } from '../core/identifiers.js';
import { BOOKKEEPING_SCHEMA } from '../engines/bookkeeping-schema.js';
import type { SqlSession } from '../engines/sql-session.js';
import type { ExportDir } from '../state/export-dir.js';
import { writeReportFile } from '../reports/write-report-file.js';
import { isCatalogQuery } from './catalog-statements.js';
import type { QueryStatistic, QueryStatisticsCapture } from './query-statistics-types.js';

/** How many statements a capture keeps unless told otherwise (the most total execution time first). */
export const DEFAULT_QUERY_STATISTICS_LIMIT = 200;

/**
 * First words of the statements a capture keeps: those the planner plans. Utility statements
 * (BEGIN, COMMIT, SET, DDL, COPY, VACUUM...) say nothing about how the application's queries perform.
 */
export const PLANNED_STATEMENT_KEYWORDS: readonly string[] = ['select', 'insert', 'update', 'delete', 'merge', 'with', 'values', 'table'];

/** Texts that mark godwit's own statements (this reader, the bookkeeping of the import), left out of captures. */
export const OWN_STATEMENT_MARKERS: readonly string[] = ['pg_stat_statements', BOOKKEEPING_SCHEMA, '/* godwit'];

/** What pg_stat_statements shows instead of the text of another role's statement to an unprivileged role. */
const HIDDEN_QUERY_TEXT = '<insufficient privilege>';

/** SQLSTATE 55000 (object_not_in_prerequisite_state): "pg_stat_statements must be loaded via shared_preload_libraries". */
const NOT_LOADED = '55000';
/** SQLSTATE 42501 (insufficient_privilege): the role may not read the view. */
const NO_PRIVILEGE = '42501';

/** How `readQueryStatistics` reads and names the database. */
export interface ReadQueryStatisticsOptions {
  /** The connected database's name, for the capture and the reasons it gives. */
  database: string;
  /** `version()` of the server. */
  serverVersion: string;
  /** The server's major version: 13 renamed the timing columns (total_time became total_exec_time). */
  serverMajor: number;
  /** Most statements kept; default DEFAULT_QUERY_STATISTICS_LIMIT. */
  limit?: number;
}

interface ProbeRow extends Record<string, unknown> {
  role: string;
  extension_schema: string | null;
  loaded: boolean;
}

interface StatisticRow extends Record<string, unknown> {
  query_id: string | null;
  query: string;
  calls: number | string;
  rows: number | string;
  total_ms: number | string;
  min_ms: number | string;
  max_ms: number | string;
}

/**
 * Reads the statements of the connected database with the most total execution time from
 * pg_stat_statements (without godwit's own, without utility statements and without tools' catalog
 * queries). Returns
 * `available: false` with what to do when the extension is not loaded, not created in this database,
 * or hides other roles' statements; throws only for real failures (connection lost, ...).
 * Only a created but not loaded extension makes a statement fail (55000), so inside a transaction,
 * call it under a savepoint.
 */
export async function readQueryStatistics(session: SqlSession, options: ReadQueryStatisticsOptions): Promise<QueryStatisticsCapture> {
  const capturedAt = new Date().toISOString();
  const base = { formatVersion: 1 as const, capturedAt, serverVersion: options.serverVersion, database: options.database };
  const unavailable = (reason: string): QueryStatisticsCapture => ({ ...base, available: false, unavailableReason: reason, statistics: [] });

  const probe = (await session.query<ProbeRow>(PROBE_SQL)).rows[0];
  if (probe === undefined) throw new Error('the server returned no row for the pg_stat_statements probe');
  const create = `CREATE EXTENSION pg_stat_statements in database ${options.database}`;
  // Not loaded per the settings: say so without reading. With the extension created, the view itself
  // answers below (55000 when the library is not loaded), in case a server hides the library's settings.
  if (!probe.loaded && probe.extension_schema === null) {
    return unavailable(
      `pg_stat_statements is not loaded on this server: add pg_stat_statements to shared_preload_libraries (postgresql.conf), restart the server, then run ${create}, and let the application's workload run for a while.`,
    );
  }
  if (probe.extension_schema === null) {
    return unavailable(`the pg_stat_statements extension is not created in database ${options.database}: run ${create}, and let the application's workload run for a while.`);
  }

  const view = `${quoteIdent(probe.extension_schema)}.pg_stat_statements`;
  const grant = `GRANT pg_read_all_stats TO ${displayIdent(probe.role)}`;
  try {
    const hidden = (await session.query<{ hidden: number | string }>(hiddenCountSql(view), [HIDDEN_QUERY_TEXT])).rows[0]?.hidden ?? 0;
    if (Number(hidden) > 0) {
      return unavailable(
        `role ${probe.role} may not see the text of other roles' statements (${Number(hidden)} statements in pg_stat_statements show as ${HIDDEN_QUERY_TEXT}): run ${grant} (PostgreSQL 10+) or connect as a superuser.`,
      );
    }
    const limit = options.limit ?? DEFAULT_QUERY_STATISTICS_LIMIT;
    const rows = (await session.query<StatisticRow>(statisticsSql(view, options.serverMajor), [HIDDEN_QUERY_TEXT, ...OWN_STATEMENT_MARKERS.map(likePattern), fetchLimit(limit)])).rows;
    const planned = rows.map(toStatistic).filter((s) => isPlannedStatement(s.query));
    const statistics: QueryStatistic[] = [];
    for (const statistic of planned) {
      if (statistics.length === limit) break;
      if (!(await isCatalogQuery(statistic.query))) statistics.push(statistic);
    }
    return { ...base, available: true, statistics };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === NOT_LOADED) {
      return unavailable(`pg_stat_statements cannot be read (${describeError(error)}): add pg_stat_statements to shared_preload_libraries (postgresql.conf) and restart the server.`);
    }
    if (code === NO_PRIVILEGE) {
      return unavailable(`role ${probe.role} may not read ${displayIdent(probe.extension_schema)}.pg_stat_statements (${describeError(error)}): run GRANT SELECT ON ${displayIdent(probe.extension_schema)}.pg_stat_statements TO ${displayIdent(probe.role)} and ${grant}.`);
    }
    throw error;
  }
}

/** True for a statement the planner plans (a query or DML), false for utility statements. */
export function isPlannedStatement(text: string): boolean {
  const start = text.replace(/^(?:\s+|\(|\/\*[\s\S]*?\*\/|--[^\n]*(?:\n|$))*/, '');
  const word = /^[a-z]+/i.exec(start)?.[0]?.toLowerCase();
  return word !== undefined && PLANNED_STATEMENT_KEYWORDS.includes(word);
}

/**
 * Inside every statement of this reader: pg_stat_statements replaces string constants by $n but keeps
 * comments, so this is how the reader's own statements are recognised (OWN_STATEMENT_MARKERS) and left out.
 */
const READER_MARK = '/* godwit: pg_stat_statements reader */';

/** Who reads, where the extension lives (NULL when not created here), and whether the library is loaded (its settings exist). */
const PROBE_SQL = `SELECT ${READER_MARK} current_user::text AS role,
  (SELECT n.nspname::text FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements') AS extension_schema,
  EXISTS (SELECT 1 FROM pg_settings WHERE name = 'pg_stat_statements.max' AND vartype = 'integer') AS loaded`;

const THIS_DATABASE = 'dbid = (SELECT oid FROM pg_database WHERE datname = current_database())';

function hiddenCountSql(view: string): string {
  return `SELECT ${READER_MARK} count(*)::int AS hidden FROM ${view} WHERE ${THIS_DATABASE} AND query = $1`;
}

/** One row per queryid (the same statement run by several roles is one statement), most total time first. */
function statisticsSql(view: string, serverMajor: number): string {
  const time = (kind: 'total' | 'min' | 'max'): string => (serverMajor >= 13 ? `${kind}_exec_time` : `${kind}_time`);
  const markers = OWN_STATEMENT_MARKERS.map((_, i) => `AND query NOT ILIKE $${i + 2}`).join(' ');
  const limitParameter = OWN_STATEMENT_MARKERS.length + 2;
  return `SELECT ${READER_MARK} queryid::text AS query_id, min(query) AS query, sum(calls)::float8 AS calls, sum(rows)::float8 AS rows,
  sum(${time('total')})::float8 AS total_ms, min(${time('min')})::float8 AS min_ms, max(${time('max')})::float8 AS max_ms
FROM ${view}
WHERE ${THIS_DATABASE} AND query <> $1 ${markers}
GROUP BY queryid
ORDER BY total_ms DESC
LIMIT $${limitParameter}`;
}

/** Rows read before utility statements are left out: enough that they rarely crowd out planned ones. */
function fetchLimit(limit: number): number {
  return Math.max(limit * 5, 1_000);
}

function likePattern(marker: string): string {
  return `%${marker.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function toStatistic(row: StatisticRow): QueryStatistic {
  const calls = Number(row.calls);
  const totalExecMs = Number(row.total_ms);
  return {
    queryId: row.query_id ?? '',
    query: row.query,
    calls,
    rows: Number(row.rows),
    totalExecMs,
    meanExecMs: calls > 0 ? totalExecMs / calls : 0,
    minExecMs: Number(row.min_ms),
    maxExecMs: Number(row.max_ms),
  };
}

/** Where a migration keeps the source's capture: `assessment/metadata/query_statistics.json`. */
export function queryStatisticsFile(dir: ExportDir): string {
  return join(dir.assessmentMetadataDir, 'query_statistics.json');
}

/** Writes a capture as JSON, whole or not at all (`.partial`, then rename), so a reader never sees half a file. */
export function writeQueryStatisticsCapture(file: string, capture: QueryStatisticsCapture): void {
  writeReportFile(file, `${JSON.stringify(capture, null, 2)}\n`);
}

const statisticSchema = z.object({
  queryId: z.string(),
  query: z.string(),
  calls: z.number().nonnegative(),
  rows: z.number().nonnegative(),
  totalExecMs: z.number().nonnegative(),
  meanExecMs: z.number().nonnegative(),
  minExecMs: z.number().nonnegative(),
  maxExecMs: z.number().nonnegative(),
});

const captureSchema = z.object({
  formatVersion: z.literal(1),
  capturedAt: z.string(),
  serverVersion: z.string(),
  database: z.string(),
  available: z.boolean(),
  unavailableReason: z.string().optional(),
  statistics: z.array(statisticSchema),
});

const RUN_ASSESSMENT = 'Run `godwit assess-migration` first: it captures the source\'s query statistics.';

/** Reads and checks a capture written by writeQueryStatisticsCapture; a missing or damaged file is a StateError. */
export function readQueryStatisticsCapture(file: string): QueryStatisticsCapture {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new StateError(`There are no query statistics of the source in this export directory (${file} is missing).`, { hint: RUN_ASSESSMENT });
    }
    throw new StateError(`The query statistics file ${file} cannot be read: ${describeError(error)}.`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw malformed(file, `not JSON (${describeError(error)})`, error);
  }
  const parsed = captureSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw malformed(file, `${issue?.message ?? 'unexpected content'}${where}`, parsed.error);
  }
  return parsed.data;
}

function malformed(file: string, what: string, cause: unknown): StateError {
  return new StateError(`The query statistics file ${file} is damaged: ${what}.`, {
    cause,
    hint: 'Run `godwit assess-migration` again: it captures the source\'s query statistics anew and replaces the file.',
  });
}
