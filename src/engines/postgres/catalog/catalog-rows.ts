// The row shapes the catalog queries return (as node-postgres decodes them: bigint as text, float8 as
// number, arrays and json parsed), kept apart from the assembly code that turns them into a SourceCatalog.

/** A row of TABLES_QUERY. */
export interface TableRow {
  schema: string;
  name: string;
  relkind: string;
  is_partition: boolean;
  reltuples: number;
  size_bytes: string;
  replica_identity: string;
  partition_key: string | null;
  partition_bound: string | null;
  parent_schema: string | null;
  parent_name: string | null;
  root_schema: string | null;
  root_name: string | null;
}

/** A row of COLUMNS_QUERY / COLUMNS_QUERY_BEFORE_12. */
export interface ColumnRow {
  schema: string;
  table_name: string;
  name: string;
  ordinal: number;
  data_type: string;
  type_schema: string;
  type_name: string;
  not_null: boolean;
  identity: string;
  default_expr: string | null;
  generated_expr: string | null;
}

/** A row of UNIQUE_INDEXES_QUERY. */
export interface UniqueIndexRow {
  schema: string;
  table_name: string;
  name: string;
  is_primary: boolean;
  is_replica_identity: boolean;
  partial: boolean;
  valid: boolean;
  deferrable: boolean;
  columns: (string | null)[];
}

/** A row of SEQUENCES_QUERY. */
export interface SequenceRow {
  schema: string;
  name: string;
  data_type: string;
  increment: string;
  min_value: string;
  max_value: string;
  start: string;
  cache: string;
  cycle: boolean;
  last_value: string | null;
  owner_schema: string | null;
  owner_table: string | null;
  owner_column: string | null;
  owner_identity: boolean | null;
  used_by_defaults: { schema: string; table: string; column: string }[];
}

/** A row of USER_TYPES_QUERY ('e' enum, 'd' domain). */
export interface UserTypeRow {
  kind: string;
  schema: string;
  name: string;
  labels: string[];
  base_type: string | null;
  not_null: boolean;
  default_expr: string | null;
  checks: string[];
}

/** A map key for a table that no pair of names can collide on. */
export function tableKey(schema: string, name: string): string {
  return JSON.stringify([schema, name]);
}
