// The query statistics godwit keeps from pg_stat_statements: captured on the source by
// `assess-migration` (assessment/metadata/query_statistics.json) and read again on the target by
// `compare-performance`, which puts the same statements side by side. The JSON file is this shape
// serialised as-is, so field names here are stable.

/** One normalised statement as pg_stat_statements counts it (its constants replaced by $1, $2...). */
export interface QueryStatistic {
  /** pg_stat_statements' queryid as text (a bigint; differs between servers, so never used to match). */
  queryId: string;
  /** The normalised text as pg_stat_statements shows it. */
  query: string;
  calls: number;
  /** Rows returned or affected, over all calls. */
  rows: number;
  totalExecMs: number;
  meanExecMs: number;
  minExecMs: number;
  maxExecMs: number;
}

/** What one capture found on one database. */
export interface QueryStatisticsCapture {
  /** Version of this shape, bumped on incompatible changes. */
  formatVersion: 1;
  capturedAt: string;
  /** `version()` of the server read. */
  serverVersion: string;
  database: string;
  /** False when pg_stat_statements could not be read; `unavailableReason` says why and how to fix it. */
  available: boolean;
  unavailableReason?: string;
  /** The statements with the most total execution time first (at most the capture's limit). */
  statistics: QueryStatistic[];
}
