// The catalog queries behind the source catalog (DESIGN.md section 6: named constants, not scattered
// strings). Every query takes the selected schema names as $1 (text[]) and never has a name built
// into its text. They use only catalog features PostgreSQL 10 and 11 (YugabyteDB's base) also have;
// where a column appeared later (attgenerated in 12, indnkeyatts in 11) there is one variant per
// version, chosen by `catalogQueriesFor`.

/** Tables (ordinary, partitioned, partitions) with sizes, replica identity and partition ancestry. */
export const TABLES_QUERY = `
WITH RECURSIVE ancestry AS (
  SELECT i.inhrelid AS leaf, i.inhparent AS ancestor, 1 AS depth
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relispartition AND n.nspname = ANY($1::text[])
  UNION ALL
  SELECT a.leaf, i.inhparent, a.depth + 1
    FROM ancestry a
    JOIN pg_class c ON c.oid = a.ancestor
    JOIN pg_inherits i ON i.inhrelid = a.ancestor
   WHERE c.relispartition
)
SELECT n.nspname::text AS schema,
       c.relname::text AS name,
       c.relkind::text AS relkind,
       c.relispartition AS is_partition,
       c.reltuples::float8 AS reltuples,
       pg_total_relation_size(c.oid)::text AS size_bytes,
       c.relreplident::text AS replica_identity,
       CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
       CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END AS partition_bound,
       pn.nspname::text AS parent_schema,
       p.relname::text AS parent_name,
       rn.nspname::text AS root_schema,
       r.relname::text AS root_name
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN ancestry pa ON pa.leaf = c.oid AND pa.depth = 1
  LEFT JOIN pg_class p ON p.oid = pa.ancestor
  LEFT JOIN pg_namespace pn ON pn.oid = p.relnamespace
  LEFT JOIN LATERAL (
    SELECT ra.ancestor FROM ancestry ra WHERE ra.leaf = c.oid ORDER BY ra.depth DESC LIMIT 1
  ) ro ON true
  LEFT JOIN pg_class r ON r.oid = ro.ancestor
  LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind IN ('r', 'p')
 ORDER BY n.nspname, c.relname`;

const COLUMNS_SELECT = `
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       a.attname::text AS name,
       a.attnum AS ordinal,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       tn.nspname::text AS type_schema,
       t.typname::text AS type_name,
       a.attnotnull AS not_null,
       a.attidentity::text AS identity,`;

const COLUMNS_FROM = `
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_type t ON t.oid = a.atttypid
  JOIN pg_namespace tn ON tn.oid = t.typnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind IN ('r', 'p')
   AND a.attnum > 0
   AND NOT a.attisdropped
 ORDER BY n.nspname, c.relname, a.attnum`;

/** Columns of every table, PostgreSQL 12 and later (stored generated columns exist). */
export const COLUMNS_QUERY = `${COLUMNS_SELECT}
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END AS default_expr,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated_expr${COLUMNS_FROM}`;

/** Columns of every table before PostgreSQL 12 (YugabyteDB 2.x): no generated columns. */
export const COLUMNS_QUERY_BEFORE_12 = `${COLUMNS_SELECT}
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       NULL::text AS generated_expr${COLUMNS_FROM}`;

const UNIQUE_INDEXES_TEMPLATE = `
SELECT n.nspname::text AS schema,
       c.relname::text AS table_name,
       ic.relname::text AS name,
       i.indisprimary AS is_primary,
       i.indisreplident AS is_replica_identity,
       i.indpred IS NOT NULL AS partial,
       i.indisvalid AS valid,
       coalesce(con.condeferrable, false) AS deferrable,
       ARRAY(
         SELECT a.attname::text
           FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
           LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
          WHERE k.position <= i.KEY_COUNT
          ORDER BY k.position
       ) AS columns
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_class ic ON ic.oid = i.indexrelid
  LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u')
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind IN ('r', 'p')
   AND i.indisunique
 ORDER BY n.nspname, c.relname, ic.relname`;

/** Unique indexes (primary keys included) with key columns, PostgreSQL 11 and later (INCLUDE columns skipped). */
export const UNIQUE_INDEXES_QUERY = UNIQUE_INDEXES_TEMPLATE.replace('KEY_COUNT', 'indnkeyatts');

/** Unique indexes on PostgreSQL 10, where every index column is a key column. */
export const UNIQUE_INDEXES_QUERY_BEFORE_11 = UNIQUE_INDEXES_TEMPLATE.replace('KEY_COUNT', 'indnatts');

/** Sequences with their parameters, last value (when readable), owning column and the defaults using them. */
export const SEQUENCES_QUERY = `
SELECT n.nspname::text AS schema,
       c.relname::text AS name,
       format_type(s.seqtypid, NULL) AS data_type,
       s.seqincrement::text AS increment,
       s.seqmin::text AS min_value,
       s.seqmax::text AS max_value,
       s.seqstart::text AS start,
       s.seqcache::text AS cache,
       s.seqcycle AS cycle,
       CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(c.oid)::text END AS last_value,
       own.owner_schema,
       own.owner_table,
       own.owner_column,
       own.owner_identity,
       coalesce((
         SELECT json_agg(json_build_object('schema', un.nspname, 'table', ut.relname, 'column', ua.attname)
                         ORDER BY un.nspname, ut.relname, ua.attname)
           FROM pg_depend ud
           JOIN pg_attrdef ad ON ad.oid = ud.objid
           JOIN pg_class ut ON ut.oid = ad.adrelid
           JOIN pg_namespace un ON un.oid = ut.relnamespace
           JOIN pg_attribute ua ON ua.attrelid = ad.adrelid AND ua.attnum = ad.adnum
          WHERE ud.classid = 'pg_attrdef'::regclass
            AND ud.refclassid = 'pg_class'::regclass
            AND ud.refobjid = c.oid
       ), '[]'::json) AS used_by_defaults
  FROM pg_sequence s
  JOIN pg_class c ON c.oid = s.seqrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN LATERAL (
    SELECT tn.nspname::text AS owner_schema,
           t.relname::text AS owner_table,
           a.attname::text AS owner_column,
           d.deptype = 'i' AS owner_identity
      FROM pg_depend d
      JOIN pg_class t ON t.oid = d.refobjid
      JOIN pg_namespace tn ON tn.oid = t.relnamespace
      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass
       AND d.objid = c.oid
       AND d.refclassid = 'pg_class'::regclass
       AND d.refobjsubid > 0
       AND d.deptype IN ('a', 'i')
     LIMIT 1
  ) own ON true
 WHERE n.nspname = ANY($1::text[])
   AND c.relkind = 'S'
 ORDER BY n.nspname, c.relname`;

/**
 * Enums and domains defined in the selected schemas or used by their tables, views and composite
 * types, following arrays to their element type and domains to their base type.
 */
export const USER_TYPES_QUERY = `
WITH RECURSIVE used(oid) AS (
  SELECT a.atttypid
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1::text[])
     AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
     AND a.attnum > 0
     AND NOT a.attisdropped
  UNION
  SELECT t.oid
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname = ANY($1::text[])
     AND t.typtype IN ('e', 'd')
  UNION
  SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END
    FROM used u
    JOIN pg_type t ON t.oid = u.oid
   WHERE t.typtype = 'd' OR (t.typelem <> 0 AND t.typlen = -1)
)
SELECT t.typtype::text AS kind,
       n.nspname::text AS schema,
       t.typname::text AS name,
       ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) AS labels,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       t.typdefault AS default_expr,
       ARRAY(
         SELECT pg_get_constraintdef(con.oid)
           FROM pg_constraint con
          WHERE con.contypid = t.oid AND con.contype = 'c'
          ORDER BY con.conname
       ) AS checks
  FROM used u
  JOIN pg_type t ON t.oid = u.oid
  JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd')
 ORDER BY n.nspname, t.typname`;

/** The query set for one server version. */
export interface CatalogQueries {
  tables: string;
  columns: string;
  uniqueIndexes: string;
  sequences: string;
  userTypes: string;
}

/** Picks the query variants a server of `serverVersionNum` (`server_version_num`) understands. */
export function catalogQueriesFor(serverVersionNum: number): CatalogQueries {
  return {
    tables: TABLES_QUERY,
    columns: serverVersionNum >= 120_000 ? COLUMNS_QUERY : COLUMNS_QUERY_BEFORE_12,
    uniqueIndexes: serverVersionNum >= 110_000 ? UNIQUE_INDEXES_QUERY : UNIQUE_INDEXES_QUERY_BEFORE_11,
    sequences: SEQUENCES_QUERY,
    userTypes: USER_TYPES_QUERY,
  };
}
