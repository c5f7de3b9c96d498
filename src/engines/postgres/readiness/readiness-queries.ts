// The catalog queries behind the capture readiness check (DESIGN.md section 6: named constants), and
// the row shapes node-postgres returns for them. Names always travel as parameters, never in the SQL
// text. Where a catalog column appeared in a later version (attgenerated in 12, indnkeyatts in 11)
// there is one variant per version, chosen by `readinessQueriesFor`.

/** The server settings the check reads; pg_settings is readable by every user. */
export const READINESS_SETTING_NAMES = ['wal_level', 'max_replication_slots', 'max_wal_senders', 'max_slot_wal_keep_size'] as const;

/** Current value, unit and whether a changed value waits for a restart, of the settings named in $1. */
export const SETTINGS_QUERY = `
SELECT name::text AS name, setting::text AS setting, unit::text AS unit, pending_restart
  FROM pg_catalog.pg_settings
 WHERE name = ANY($1::text[])`;

/**
 * Who we are and what the role may do. Role attributes (rolsuper, rolreplication) are never
 * inherited through membership, which is exactly how the server checks them.
 */
export const ROLE_QUERY = `
SELECT current_user::text AS role_name,
       current_database()::text AS database,
       r.rolsuper AS is_superuser,
       r.rolreplication AS has_replication,
       has_database_privilege(current_database(), 'CREATE') AS can_create,
       pg_is_in_recovery() AS in_recovery
  FROM pg_catalog.pg_roles r
 WHERE r.rolname = current_user`;

/**
 * Slots and WAL senders in use: every slot (logical, physical, temporary) takes one of
 * max_replication_slots; every WAL sender (streaming or idle) one of max_wal_senders. Both views
 * list all rows to every user (only details are hidden from unprivileged ones).
 */
export const REPLICATION_USAGE_QUERY = `
SELECT (SELECT count(*) FROM pg_catalog.pg_stat_replication)::int AS wal_senders,
       coalesce((SELECT json_agg(json_build_object('name', s.slot_name, 'type', s.slot_type,
                                                   'database', s.database, 'active', s.active)
                                 ORDER BY s.slot_name)
                   FROM pg_catalog.pg_replication_slots s), '[]'::json) AS slots`;

/** One publication by name ($1), as JSON so that columns added in later versions (pubviaroot) are optional. */
export const PUBLICATION_QUERY = `
SELECT to_json(p)::text AS publication FROM pg_catalog.pg_publication p WHERE p.pubname = $1`;

/** The tables a publication ($1) publishes, as the server resolves them (roots when published via root). */
export const PUBLICATION_TABLES_QUERY = `
SELECT schemaname::text AS schema, tablename::text AS name FROM pg_catalog.pg_publication_tables WHERE pubname = $1`;

const SELECTED_TABLES_TEMPLATE = `
WITH RECURSIVE requested AS (
  SELECT c.oid
    FROM unnest($1::text[], $2::text[]) AS r(schema_name, table_name)
    JOIN pg_catalog.pg_namespace n ON n.nspname = r.schema_name
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.table_name
   WHERE c.relkind IN ('r', 'p')
),
tree(oid) AS (
  SELECT oid FROM requested
  UNION
  SELECT i.inhrelid
    FROM tree t
    JOIN pg_catalog.pg_inherits i ON i.inhparent = t.oid
    JOIN pg_catalog.pg_class child ON child.oid = i.inhrelid
   WHERE child.relispartition
)
SELECT c.oid::text AS relid,
       n.nspname::text AS schema,
       c.relname::text AS name,
       c.relkind::text AS relkind,
       c.relispartition AS is_partition,
       (SELECT i.inhparent::text FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent_relid,
       c.oid IN (SELECT oid FROM requested) AS requested,
       c.relpersistence::text AS persistence,
       c.relreplident::text AS replica_identity,
       pg_catalog.pg_get_userbyid(c.relowner)::text AS owner,
       pg_catalog.pg_has_role(c.relowner, 'USAGE') AS is_owner,
       pg_catalog.has_schema_privilege(n.oid, 'USAGE') AS schema_usage,
       pg_catalog.has_table_privilege(c.oid, 'SELECT') AS can_select,
       GENERATED_COLUMNS AS generated_columns,
       coalesce((
         SELECT json_agg(json_build_object(
                  'name', ic.relname::text,
                  'primary', i.indisprimary,
                  'replica_identity', i.indisreplident,
                  'partial', i.indpred IS NOT NULL,
                  'valid', i.indisvalid,
                  'immediate', i.indimmediate,
                  'columns', ARRAY(
                    SELECT a.attname::text
                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
                      LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum AND k.attnum > 0
                     WHERE k.position <= i.KEY_COUNT
                     ORDER BY k.position),
                  'nullable_columns', ARRAY(
                    SELECT a.attname::text
                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
                      JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                     WHERE k.position <= i.KEY_COUNT AND NOT a.attnotnull
                     ORDER BY k.position))
                ORDER BY i.indisprimary DESC, ic.relname)
           FROM pg_catalog.pg_index i
           JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
          WHERE i.indrelid = c.oid AND i.indisunique
       ), '[]'::json) AS unique_indexes
  FROM tree t
  JOIN pg_catalog.pg_class c ON c.oid = t.oid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 ORDER BY n.nspname, c.relname`;

const GENERATED_COLUMNS_SINCE_12 = `ARRAY(
         SELECT a.attname::text FROM pg_catalog.pg_attribute a
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''
          ORDER BY a.attnum)`;

function selectedTablesQuery(generatedColumns: string, keyCount: string): string {
  return SELECTED_TABLES_TEMPLATE.replace('GENERATED_COLUMNS', generatedColumns).replace(/KEY_COUNT/g, keyCount);
}

/**
 * The selected tables ($1 schemas, $2 names, parallel arrays) and every partition below them, with
 * what the check needs: persistence, replica identity, ownership and privileges of the current
 * user, stored generated columns and unique indexes. PostgreSQL 12 and later.
 */
export const SELECTED_TABLES_QUERY = selectedTablesQuery(GENERATED_COLUMNS_SINCE_12, 'indnkeyatts');

/** The same on PostgreSQL 11 (YugabyteDB 2.x): no generated columns. */
export const SELECTED_TABLES_QUERY_11 = selectedTablesQuery('ARRAY[]::text[]', 'indnkeyatts');

/** The same on PostgreSQL 10: every index column is a key column. */
export const SELECTED_TABLES_QUERY_10 = selectedTablesQuery('ARRAY[]::text[]', 'indnatts');

/** The selected-tables query a server of `serverVersionNum` understands. */
export function selectedTablesQueryFor(serverVersionNum: number): string {
  if (serverVersionNum >= 120_000) return SELECTED_TABLES_QUERY;
  return serverVersionNum >= 110_000 ? SELECTED_TABLES_QUERY_11 : SELECTED_TABLES_QUERY_10;
}

/** A row of SETTINGS_QUERY. */
export interface SettingRow {
  name: string;
  setting: string;
  unit: string | null;
  pending_restart: boolean;
}

/** The row of ROLE_QUERY. */
export interface RoleRow {
  role_name: string;
  database: string;
  is_superuser: boolean;
  has_replication: boolean;
  can_create: boolean;
  in_recovery: boolean;
}

/** One slot in REPLICATION_USAGE_QUERY. */
export interface SlotUsage {
  name: string;
  type: string;
  database: string | null;
  active: boolean;
}

/** The row of REPLICATION_USAGE_QUERY. */
export interface ReplicationUsageRow {
  wal_senders: number;
  slots: SlotUsage[];
}

/** One unique index of a SELECTED_TABLES_QUERY row. */
export interface UniqueIndexFacts {
  name: string;
  primary: boolean;
  replica_identity: boolean;
  partial: boolean;
  valid: boolean;
  /** False for DEFERRABLE constraints: PostgreSQL never uses those as replica identity. */
  immediate: boolean;
  /** Key columns in index order; an expression key is null. */
  columns: (string | null)[];
  /** Key columns not declared NOT NULL. */
  nullable_columns: string[];
}

/** A row of SELECTED_TABLES_QUERY. */
export interface SelectedTableRow {
  relid: string;
  schema: string;
  name: string;
  /** 'r' table, 'p' partitioned table. */
  relkind: string;
  is_partition: boolean;
  parent_relid: string | null;
  /** Named in the input (not only reached as a partition of a named table). */
  requested: boolean;
  /** 'p' permanent, 'u' unlogged. */
  persistence: string;
  /** 'd' default, 'i' index, 'f' full, 'n' nothing (YugabyteDB adds 'c', change). */
  replica_identity: string;
  owner: string;
  is_owner: boolean;
  schema_usage: boolean;
  can_select: boolean;
  generated_columns: string[];
  unique_indexes: UniqueIndexFacts[];
}
