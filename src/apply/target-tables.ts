// What the apply needs to know about a target table, read once per table from the target catalog:
// each column's type (values travel as text and are cast to it), which columns are generated (never
// written) or GENERATED ALWAYS identities (INSERT needs OVERRIDING SYSTEM VALUE), and whether a unique
// index other than the row key exists (such tables are applied in order by one channel: routing.ts).

import { StateError } from '../core/errors.js';
import type { TableName } from '../core/change-event.js';
import { withSession, type LoaderSessions } from '../engines/loader-sessions.js';

/** One target column as the apply writes it. */
export interface TargetColumn {
  name: string;
  /** The type to cast the text value to: format_type without typmod, so the column's own typmod checks it on assignment. */
  castType: string;
  generated: boolean;
  identityAlways: boolean;
  /** character(n): blank-padded to a fixed length, so trailing spaces of a value carry no meaning. */
  blankPadded?: boolean;
}

/** One target table as the apply writes it. */
export interface TargetTable {
  schema: string;
  name: string;
  columns: ReadonlyMap<string, TargetColumn>;
  /** Column sets (sorted names) of the unique indexes and exclusion constraints; null entry for an expression index. */
  uniqueIndexes: readonly (readonly string[] | null)[];
  hasIdentityAlways: boolean;
}

const tableKeys = new Map<string, Map<string, string>>();

/**
 * A stable text key of a table, used in maps, hashes and the routing stored on the target. Called
 * several times per applied event, so the keys are kept (one per table) instead of built each time.
 */
export function tableKey(table: TableName): string {
  // Events of one table share its TableName object (the queue decoder hands out one per table shape).
  const known = keysByObject.get(table);
  if (known !== undefined && known.schema === table.schema && known.name === table.name) return known.key;
  const key = keyOf(table);
  keysByObject.set(table, { schema: table.schema, name: table.name, key });
  return key;
}

const keysByObject = new WeakMap<TableName, { schema: string; name: string; key: string }>();

function keyOf(table: TableName): string {
  let names = tableKeys.get(table.schema);
  if (names === undefined) {
    names = new Map();
    tableKeys.set(table.schema, names);
  }
  let key = names.get(table.name);
  if (key === undefined) {
    key = JSON.stringify([table.schema, table.name]);
    names.set(table.name, key);
  }
  return key;
}

// attgenerated exists from PostgreSQL 12 (YugabyteDB 2.x is PostgreSQL 11 based).
const COLUMNS_SQL = (withGenerated: boolean): string => `
  SELECT a.attname AS name,
         -- Without its typmod, character means character(1) and bit means bit(1): cast to the unlimited forms.
         CASE a.atttypid WHEN 'bpchar'::regtype THEN 'bpchar' WHEN 'bpchar[]'::regtype THEN 'bpchar[]'
                         WHEN 'bit'::regtype THEN 'varbit' WHEN 'bit[]'::regtype THEN 'varbit[]'
                         ELSE format_type(a.atttypid, NULL) END AS cast_type,
         ${withGenerated ? "a.attgenerated <> ''" : 'false'} AS generated,
         a.attidentity = 'a' AS identity_always,
         a.atttypid = 'bpchar'::regtype AND a.atttypmod > 0 AS blank_padded
    FROM pg_attribute a
    JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
   ORDER BY a.attnum`;

const UNIQUE_INDEXES_SQL = `
  SELECT i.indexrelid::bigint AS index_id,
         (SELECT array_agg(a.attname::text)
            FROM unnest(i.indkey) k(attnum) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE k.attnum > 0) AS columns,
         i.indexprs IS NOT NULL AS has_expressions
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relname = $2 AND (i.indisunique OR i.indisexclusion)`;

/** Reads target tables on demand and keeps them for the run. */
export class TargetTables {
  private readonly cache = new Map<string, Promise<TargetTable>>();
  private withGenerated: Promise<boolean> | undefined;

  constructor(private readonly sessions: LoaderSessions) {}

  /** The table's description; a table missing on the target is an error that names it. */
  get(table: TableName): Promise<TargetTable> {
    const key = tableKey(table);
    let found = this.cache.get(key);
    if (found === undefined) {
      found = this.read(table);
      found.catch(() => this.cache.delete(key));
      this.cache.set(key, found);
    }
    return found;
  }

  private read(table: TableName): Promise<TargetTable> {
    return withSession(this.sessions, async (session) => {
      this.withGenerated ??= session
        .query<{ v: string }>("SELECT current_setting('server_version_num') AS v")
        .then(({ rows }) => Number(rows[0]?.v ?? 0) >= 120000);
      const { rows } = await session.query<{ name: string; cast_type: string; generated: boolean; identity_always: boolean; blank_padded: boolean }>(
        COLUMNS_SQL(await this.withGenerated),
        [table.schema, table.name],
      );
      if (rows.length === 0) {
        throw new StateError(`The target has no table ${JSON.stringify(table.schema)}.${JSON.stringify(table.name)} to apply changes to.`, {
          hint: 'Create it on the target (import schema), then run import data to target again: applied changes are kept.',
        });
      }
      const indexes = await session.query<{ columns: string[] | null; has_expressions: boolean }>(UNIQUE_INDEXES_SQL, [table.schema, table.name]);
      const columns = new Map<string, TargetColumn>();
      for (const row of rows) {
        columns.set(row.name, { name: row.name, castType: row.cast_type, generated: row.generated, identityAlways: row.identity_always, blankPadded: row.blank_padded });
      }
      return {
        schema: table.schema,
        name: table.name,
        columns,
        uniqueIndexes: indexes.rows.map((row) => (row.has_expressions ? null : [...(row.columns ?? [])].sort())),
        hasIdentityAlways: rows.some((row) => row.identity_always),
      };
    });
  }
}

/**
 * True when the table has a unique index (or exclusion constraint) other than the one on the row key:
 * a value of it can move from one row to another, so the table's changes must be applied in order.
 */
export function hasOtherUniqueIndexes(table: TargetTable, keyColumns: readonly string[]): boolean {
  // Asked for every event: kept per table and key column array (events of a table share it).
  let byKey = otherUniqueCache.get(table);
  if (byKey === undefined) otherUniqueCache.set(table, (byKey = new WeakMap()));
  let answer = byKey.get(keyColumns);
  if (answer === undefined) {
    const key = [...keyColumns].sort().join('\u0000');
    answer = table.uniqueIndexes.some((columns) => columns === null || columns.join('\u0000') !== key);
    byKey.set(keyColumns, answer);
  }
  return answer;
}

const otherUniqueCache = new WeakMap<TargetTable, WeakMap<readonly string[], boolean>>();
