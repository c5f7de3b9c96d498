// Invariant 8 for an apply without the privilege it needs: applying changes runs with
// `session_replication_role = replica`, so triggers and foreign-key actions that already ran where the
// change was made do not run again. A user who may not set it (PostgreSQL: superuser, or GRANT SET ON
// PARAMETER from 15 on) must disable them by hand; this module finds out whether the role can be set
// and lists exactly what would still fire: user triggers enabled for ordinary sessions (tgenabled O or
// A; R fires only under replica, D never) and foreign keys whose constraint triggers are enabled, on the
// migrated tables and their partitions. The names come from the catalog and are quoted for the SQL shown.

import type pg from 'pg';
import { quoteIdent } from '../../core/identifiers.js';

/** Something that fires on the applying database unless disabled. */
export interface FiringObject {
  kind: 'trigger' | 'foreign key';
  /** `"schema"."table"` the trigger or constraint is on. */
  table: string;
  name: string;
  /** The statement that disables it (a foreign key: dropped, to be added again later). */
  fix: string;
}

/** True when this session may set session_replication_role = replica (tried in a transaction that is rolled back). */
export async function maySetReplicaRole(client: pg.ClientBase): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL session_replication_role = replica');
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === '42501') return false;
    throw error;
  } finally {
    await client.query('ROLLBACK');
  }
}

/** The migrated tables and every partition under them, as (schema, name) arrays for unnest. */
const TABLES_CTE = `
WITH roots AS (
  SELECT c.oid FROM unnest($1::text[], $2::text[]) AS t(schema_name, table_name)
    JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
    JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name
), tables AS (
  SELECT oid FROM roots
  UNION
  SELECT tree.relid FROM roots, LATERAL pg_catalog.pg_partition_tree(roots.oid) tree
)`;

const TRIGGERS_QUERY = `${TABLES_CTE}
SELECT n.nspname::text AS schema, c.relname::text AS table, t.tgname::text AS name
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE t.tgrelid IN (SELECT oid FROM tables) AND NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')
 ORDER BY 1, 2, 3`;

const FOREIGN_KEYS_QUERY = `${TABLES_CTE}
SELECT n.nspname::text AS schema, c.relname::text AS table, k.conname::text AS name
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE k.contype = 'f' AND k.conparentid = 0
   AND (k.conrelid IN (SELECT oid FROM tables) OR k.confrelid IN (SELECT oid FROM tables))
   AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgconstraint = k.oid AND t.tgenabled IN ('O', 'A'))
 ORDER BY 1, 2, 3`;

/** Every enabled user trigger and foreign key of `tables` (root tables; their partitions are included). */
export async function listFiringObjects(client: pg.ClientBase, tables: readonly { schema: string; name: string }[]): Promise<FiringObject[]> {
  const params = [tables.map((t) => t.schema), tables.map((t) => t.name)];
  const triggers = await client.query<{ schema: string; table: string; name: string }>(TRIGGERS_QUERY, params);
  const keys = await client.query<{ schema: string; table: string; name: string }>(FOREIGN_KEYS_QUERY, params);
  const qualified = (r: { schema: string; table: string }): string => `${quoteIdent(r.schema)}.${quoteIdent(r.table)}`;
  return [
    ...triggers.rows.map((r): FiringObject => ({
      kind: 'trigger',
      table: qualified(r),
      name: r.name,
      fix: `ALTER TABLE ${qualified(r)} DISABLE TRIGGER ${quoteIdent(r.name)};`,
    })),
    ...keys.rows.map((r): FiringObject => ({
      kind: 'foreign key',
      table: qualified(r),
      name: r.name,
      fix: `ALTER TABLE ${qualified(r)} DROP CONSTRAINT ${quoteIdent(r.name)};  -- or, as a superuser, ALTER TABLE ${qualified(r)} DISABLE TRIGGER ALL;`,
    })),
  ];
}
