// The PostgreSQL queries behind `assess-migration`: the selected tables with their sizes, their
// indexes, the counters the activity sampling reads twice. Every query takes the selected schema
// names as $1 (text[]). Partitioned parents add up their leaf partitions through pg_partition_tree
// (PostgreSQL 12+); before 12 they show their own (empty) sizes.

const PARENT_SUM = (expression: string): string =>
  `(SELECT coalesce(sum(${expression}), 0) FROM pg_partition_tree(c.oid) t JOIN pg_class pc ON pc.oid = t.relid WHERE t.isleaf)`;

/** Tables with rows estimate, heap+TOAST bytes, index bytes and count, and whether they have a primary key. */
export function tablesQuery(serverMajor: number): string {
  const tree = serverMajor >= 12;
  const rows = tree ? `CASE WHEN c.relkind = 'p' THEN ${PARENT_SUM('greatest(pc.reltuples, 0)')} ELSE c.reltuples END` : 'c.reltuples';
  const tableBytes = tree ? `CASE WHEN c.relkind = 'p' THEN ${PARENT_SUM('pg_table_size(pc.oid)')} ELSE pg_table_size(c.oid) END` : 'pg_table_size(c.oid)';
  const indexBytes = tree ? `CASE WHEN c.relkind = 'p' THEN ${PARENT_SUM('pg_indexes_size(pc.oid)')} ELSE pg_indexes_size(c.oid) END` : 'pg_indexes_size(c.oid)';
  return `
SELECT n.nspname::text AS schema,
       c.relname::text AS name,
       c.relkind::text AS relkind,
       c.relispartition AS is_partition,
       (${rows})::float8 AS reltuples,
       (${tableBytes})::text AS table_bytes,
       (${indexBytes})::text AS index_bytes,
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)::int AS index_count,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_primary_key
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind IN ('r', 'p')
 ORDER BY n.nspname, c.relname`;
}

/** Indexes of the selected tables with their access method and size. */
export const INDEXES_QUERY = `
SELECT n.nspname::text AS schema,
       t.relname::text AS table_name,
       ic.relname::text AS name,
       am.amname::text AS method,
       pg_relation_size(ic.oid)::text AS bytes,
       i.indisunique AS is_unique,
       i.indisprimary AS is_primary
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
  JOIN pg_am am ON am.oid = ic.relam
 WHERE n.nspname = ANY($1::text[])
   AND t.relkind IN ('r', 'p')
 ORDER BY n.nspname, t.relname, ic.relname`;

/** Sequences of the selected schemas (a count for the summary). */
export const SEQUENCE_COUNT_QUERY = `
SELECT count(*)::int AS sequences
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind = 'S'`;

/** The whole database's size. */
export const DATABASE_SIZE_QUERY = 'SELECT pg_database_size(current_database())::text AS bytes';

/** Cumulative row counters of the selected tables (the statistics collector's; as text: bigint). */
export const TABLE_COUNTERS_QUERY = `
SELECT schemaname::text AS schema,
       relname::text AS name,
       (coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0))::text AS rows_read,
       n_tup_ins::text AS inserts,
       n_tup_upd::text AS updates,
       n_tup_del::text AS deletes
  FROM pg_stat_user_tables
 WHERE schemaname = ANY($1::text[])`;

/** Cumulative transaction counters of the current database. */
export const DATABASE_COUNTERS_QUERY = `
SELECT xact_commit::text AS commits, xact_rollback::text AS rollbacks
  FROM pg_stat_database
 WHERE datname = current_database()`;
