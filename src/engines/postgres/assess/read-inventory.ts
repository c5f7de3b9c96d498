// Reads what `assess-migration` reports about a PostgreSQL source: the tables and indexes of the
// selected schemas with their sizes, and the cumulative counters the activity sampling diffs. The
// pipeline (src/assess) sees only the engine-neutral types of assessment-types.ts.

import type { DatabaseActivityCounters, SourceInventory, TableActivityCounters } from '../../../assess/assessment-types.js';
import { activityKey } from '../../../assess/activity-sampling.js';
import type { SourceTableKind } from '../../source-catalog.js';
import type { SqlSession } from '../../sql-session.js';
import {
  DATABASE_COUNTERS_QUERY,
  DATABASE_SIZE_QUERY,
  INDEXES_QUERY,
  SEQUENCE_COUNT_QUERY,
  TABLE_COUNTERS_QUERY,
  tablesQuery,
} from './inventory-queries.js';

interface TableRow extends Record<string, unknown> {
  schema: string;
  name: string;
  relkind: string;
  is_partition: boolean;
  reltuples: number;
  table_bytes: string;
  index_bytes: string;
  index_count: number;
  has_primary_key: boolean;
}

interface IndexRow extends Record<string, unknown> {
  schema: string;
  table_name: string;
  name: string;
  method: string;
  bytes: string;
  is_unique: boolean;
  is_primary: boolean;
}

function tableKind(row: TableRow): SourceTableKind {
  if (row.relkind === 'p') return 'partitioned';
  return row.is_partition ? 'partition' : 'ordinary';
}

/** Reads the inventory of `schemas` in one pass of catalog queries (sizes are the server's functions). */
export async function readSourceInventory(session: SqlSession, schemas: readonly string[], serverMajor: number): Promise<SourceInventory> {
  const { rows: tables } = await session.query<TableRow>(tablesQuery(serverMajor), [schemas]);
  const { rows: indexes } = await session.query<IndexRow>(INDEXES_QUERY, [schemas]);
  const { rows: [sequences] } = await session.query<{ sequences: number }>(SEQUENCE_COUNT_QUERY, [schemas]);
  const { rows: [size] } = await session.query<{ bytes: string }>(DATABASE_SIZE_QUERY);
  return {
    tables: tables.map((row) => ({
      schema: row.schema,
      name: row.name,
      kind: tableKind(row),
      // reltuples is -1 (14+) or 0 with no pages (before 14) until the table is vacuumed or analysed.
      estimatedRows: row.reltuples < 0 ? null : Math.round(row.reltuples),
      tableBytes: Number(row.table_bytes),
      indexBytes: Number(row.index_bytes),
      indexCount: row.index_count,
      hasPrimaryKey: row.has_primary_key,
    })),
    indexes: indexes.map((row) => ({
      schema: row.schema,
      table: row.table_name,
      name: row.name,
      method: row.method,
      bytes: Number(row.bytes),
      unique: row.is_unique,
      primary: row.is_primary,
    })),
    sequences: sequences?.sequences ?? 0,
    databaseBytes: Number(size?.bytes ?? 0),
  };
}

/** The cumulative counters of the selected tables (by activityKey) and of the database. */
export async function readActivityCounters(
  session: SqlSession,
  schemas: readonly string[],
): Promise<{ tables: Map<string, TableActivityCounters>; database: DatabaseActivityCounters }> {
  const { rows } = await session.query<{ schema: string; name: string; rows_read: string; inserts: string; updates: string; deletes: string }>(
    TABLE_COUNTERS_QUERY,
    [schemas],
  );
  const tables = new Map<string, TableActivityCounters>();
  for (const row of rows) {
    tables.set(activityKey(row.schema, row.name), {
      rowsRead: Number(row.rows_read),
      inserts: Number(row.inserts),
      updates: Number(row.updates),
      deletes: Number(row.deletes),
    });
  }
  const { rows: [database] } = await session.query<{ commits: string; rollbacks: string }>(DATABASE_COUNTERS_QUERY);
  return { tables, database: { commits: Number(database?.commits ?? 0), rollbacks: Number(database?.rollbacks ?? 0) } };
}
