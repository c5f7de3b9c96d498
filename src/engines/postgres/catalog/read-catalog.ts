// Reads the source catalog of a PostgreSQL (or YugabyteDB) server: runs the catalog queries in one
// read-only repeatable-read transaction, so tables, columns, indexes and sequences describe the same
// moment, and assembles the engine-neutral SourceCatalog.

import type pg from 'pg';
import { GodwitError, describeError } from '../../../core/errors.js';
import type {
  IdentityKind,
  ReplicaIdentityMode,
  SourceCatalog,
  SourceCatalogReader,
  SourceColumn,
  SourceDomain,
  SourceEnum,
  SourceSequence,
  SourceTable,
  SourceTableKind,
  SourceUniqueIndex,
} from '../../source-catalog.js';
import type { ServerInfo } from '../server-info.js';
import { catalogQueriesFor, type CatalogQueries } from './catalog-queries.js';
import {
  type ColumnRow,
  type SequenceRow,
  type TableRow,
  type UniqueIndexRow,
  type UserTypeRow,
  tableKey,
} from './catalog-rows.js';

/** A catalog query failed (privileges, a server without a catalog feature): names the query. */
export class CatalogReadError extends GodwitError {
  readonly query: keyof CatalogQueries;

  constructor(query: keyof CatalogQueries, cause: unknown) {
    super(`Could not read the source catalog (${query}): ${describeError(cause)}`, {
      cause,
      hint: 'Connect as a user that may read the system catalogs of the selected schemas (the table owner or a superuser).',
    });
    this.query = query;
  }
}

/** A SourceCatalogReader on an open connection; the caller keeps owning (and closing) the client. */
export function postgresCatalogReader(
  client: pg.ClientBase,
  server: ServerInfo,
  clock: () => Date = () => new Date(),
): SourceCatalogReader {
  return { readCatalog: (schemas) => readPostgresCatalog(client, server, schemas, clock) };
}

/** Reads the catalog of `schemas` in one snapshot; the client must not be inside a transaction. */
export async function readPostgresCatalog(
  client: pg.ClientBase,
  server: ServerInfo,
  schemas: readonly string[],
  clock: () => Date = () => new Date(),
): Promise<SourceCatalog> {
  const queries = catalogQueriesFor(server.versionNum);
  const run = async <R extends pg.QueryResultRow>(name: keyof CatalogQueries): Promise<R[]> => {
    try {
      return (await client.query<R>(queries[name], [schemas])).rows;
    } catch (error) {
      throw new CatalogReadError(name, error);
    }
  };
  const readAt = clock().toISOString();
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const tableRows = await run<TableRow>('tables');
    const columnRows = await run<ColumnRow>('columns');
    const indexRows = await run<UniqueIndexRow>('uniqueIndexes');
    const sequenceRows = await run<SequenceRow>('sequences');
    const typeRows = await run<UserTypeRow>('userTypes');
    await client.query('COMMIT');
    return {
      readAt,
      serverVersion: server.versionString,
      schemas: [...schemas],
      tables: assembleTables(tableRows, columnRows, indexRows),
      sequences: sequenceRows.map(toSequence),
      enums: typeRows.filter((row) => row.kind === 'e').map(toEnum),
      domains: typeRows.filter((row) => row.kind === 'd').map(toDomain),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function assembleTables(tableRows: TableRow[], columnRows: ColumnRow[], indexRows: UniqueIndexRow[]): SourceTable[] {
  const columnsByTable = groupBy(columnRows, (row) => tableKey(row.schema, row.table_name));
  const indexesByTable = groupBy(indexRows, (row) => tableKey(row.schema, row.table_name));
  return tableRows.map((row) => {
    const columns = (columnsByTable.get(tableKey(row.schema, row.name)) ?? []).map(toColumn);
    const notNull = new Set(columns.filter((column) => column.notNull).map((column) => column.name));
    const uniqueIndexes = (indexesByTable.get(tableKey(row.schema, row.name)) ?? []).map((index) =>
      toUniqueIndex(index, notNull),
    );
    const primary = uniqueIndexes.find((index) => index.primary);
    const primaryKey = primary === undefined ? [] : primary.columns.filter((name): name is string => name !== null);
    const replicaIdentity = toReplicaIdentity(row.replica_identity);
    return {
      schema: row.schema,
      name: row.name,
      kind: toTableKind(row),
      estimatedRows: row.reltuples < 0 ? null : row.reltuples,
      sizeBytes: Number(row.size_bytes),
      columns,
      primaryKey,
      replicaIdentity,
      replicaIdentityColumns: identityColumns(replicaIdentity, primaryKey, uniqueIndexes, columns),
      uniqueIndexes,
      partitionKey: row.partition_key,
      partition: partitionInfo(row),
    };
  });
}

function identityColumns(
  mode: ReplicaIdentityMode,
  primaryKey: string[],
  indexes: SourceUniqueIndex[],
  columns: SourceColumn[],
): string[] {
  switch (mode) {
    case 'default':
      return primaryKey;
    case 'index':
      return (indexes.find((index) => index.replicaIdentity)?.columns ?? []).filter((name): name is string => name !== null);
    case 'full':
      return columns.map((column) => column.name);
    case 'nothing':
      return [];
  }
}

function toTableKind(row: TableRow): SourceTableKind {
  if (row.relkind === 'p') return row.is_partition ? 'partition' : 'partitioned';
  return row.is_partition ? 'partition' : 'ordinary';
}

function partitionInfo(row: TableRow): SourceTable['partition'] {
  if (!row.is_partition || row.parent_schema === null || row.parent_name === null) return null;
  return {
    parent: { schema: row.parent_schema, name: row.parent_name },
    root: { schema: row.root_schema ?? row.parent_schema, name: row.root_name ?? row.parent_name },
    bound: row.partition_bound ?? '',
  };
}

function toReplicaIdentity(code: string): ReplicaIdentityMode {
  switch (code) {
    case 'i':
      return 'index';
    case 'f':
      return 'full';
    case 'n':
      return 'nothing';
    default:
      return 'default';
  }
}

function toIdentity(code: string): IdentityKind | null {
  if (code === 'a') return 'always';
  if (code === 'd') return 'by-default';
  return null;
}

function toColumn(row: ColumnRow): SourceColumn {
  return {
    name: row.name,
    ordinal: row.ordinal,
    dataType: row.data_type,
    typeSchema: row.type_schema,
    typeName: row.type_name,
    notNull: row.not_null,
    default: row.default_expr,
    generated: row.generated_expr,
    identity: toIdentity(row.identity),
  };
}

function toUniqueIndex(row: UniqueIndexRow, notNullColumns: Set<string>): SourceUniqueIndex {
  return {
    name: row.name,
    columns: row.columns,
    primary: row.is_primary,
    replicaIdentity: row.is_replica_identity,
    partial: row.partial,
    deferrable: row.deferrable,
    valid: row.valid,
    keyColumnsNotNull: row.columns.every((name) => name !== null && notNullColumns.has(name)),
  };
}

function toSequence(row: SequenceRow): SourceSequence {
  return {
    schema: row.schema,
    name: row.name,
    dataType: row.data_type,
    increment: row.increment,
    minValue: row.min_value,
    maxValue: row.max_value,
    start: row.start,
    cache: row.cache,
    cycle: row.cycle,
    lastValue: row.last_value,
    ownedBy:
      row.owner_schema === null || row.owner_table === null || row.owner_column === null
        ? null
        : { schema: row.owner_schema, table: row.owner_table, column: row.owner_column, identity: row.owner_identity === true },
    usedByDefaults: row.used_by_defaults,
  };
}

function toEnum(row: UserTypeRow): SourceEnum {
  return { schema: row.schema, name: row.name, labels: row.labels };
}

function toDomain(row: UserTypeRow): SourceDomain {
  return {
    schema: row.schema,
    name: row.name,
    baseType: row.base_type ?? '',
    notNull: row.not_null,
    default: row.default_expr,
    checks: row.checks,
  };
}

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const group = groups.get(k);
    if (group === undefined) groups.set(k, [row]);
    else group.push(row);
  }
  return groups;
}
