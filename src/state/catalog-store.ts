// The source catalog as `export schema` recorded it (store migration 2): tables with their keys and
// replica identity, columns, partitions and their roots, sequences and their owning columns, enums
// and domains. The snapshot, stream and cutover phases read it from here instead of asking the
// source again, so every phase works from the same picture of the schema.

import type Database from 'better-sqlite3';
import { StateError } from '../core/errors.js';
import type {
  IdentityKind,
  ReplicaIdentityMode,
  SourceCatalog,
  SourceColumn,
  SourceDomain,
  SourceEnum,
  SourceSequence,
  SourceTable,
  SourceTableKind,
  SourceUniqueIndex,
} from '../engines/source-catalog.js';
import type { MigrationStore } from './store.js';

/**
 * The export-schema phase detail while it still runs but has recorded the catalog: a data export
 * started side by side may go on from there (src/state/wait-for-command.ts).
 */
export const CATALOG_RECORDED = 'source catalog recorded';

/** Replaces the whole recorded catalog with `catalog` in one transaction (a re-run of export schema starts over). */
export function replaceSourceCatalog(store: MigrationStore, catalog: SourceCatalog): void {
  store.transaction((db) => {
    clearCatalog(db);
    db.prepare('INSERT INTO source_catalog (singleton, read_at, server_version, schemas) VALUES (1, ?, ?, ?)').run(
      catalog.readAt,
      catalog.serverVersion,
      JSON.stringify(catalog.schemas),
    );
    const insertTable = db.prepare(
      `INSERT INTO source_tables (schema_name, table_name, kind, estimated_rows, size_bytes, primary_key, replica_identity,
         replica_identity_columns, unique_indexes, partition_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertColumn = db.prepare(
      `INSERT INTO source_columns (schema_name, table_name, column_name, ordinal, data_type, type_schema, type_name, not_null,
         default_expr, generated_expr, identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertPartition = db.prepare(
      `INSERT INTO source_partitions (schema_name, table_name, parent_schema, parent_name, root_schema, root_name, bound)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const table of catalog.tables) {
      insertTable.run(
        table.schema,
        table.name,
        table.kind,
        table.estimatedRows,
        table.sizeBytes,
        JSON.stringify(table.primaryKey),
        table.replicaIdentity,
        JSON.stringify(table.replicaIdentityColumns),
        JSON.stringify(table.uniqueIndexes),
        table.partitionKey,
      );
      for (const column of table.columns) {
        insertColumn.run(
          table.schema,
          table.name,
          column.name,
          column.ordinal,
          column.dataType,
          column.typeSchema,
          column.typeName,
          column.notNull ? 1 : 0,
          column.default,
          column.generated,
          column.identity,
        );
      }
      const partition = table.partition;
      if (partition !== null) {
        insertPartition.run(
          table.schema,
          table.name,
          partition.parent.schema,
          partition.parent.name,
          partition.root.schema,
          partition.root.name,
          partition.bound,
        );
      }
    }
    insertSequences(db, catalog.sequences);
    const insertType = db.prepare('INSERT INTO source_user_types (schema_name, type_name, kind, definition) VALUES (?, ?, ?, ?)');
    for (const type of catalog.enums) insertType.run(type.schema, type.name, 'enum', JSON.stringify({ labels: type.labels }));
    for (const type of catalog.domains) {
      const { schema, name, ...definition } = type;
      insertType.run(schema, name, 'domain', JSON.stringify(definition));
    }
  });
}

function clearCatalog(db: Database.Database): void {
  db.exec(`
    DELETE FROM source_columns;
    DELETE FROM source_partitions;
    DELETE FROM source_tables;
    DELETE FROM source_sequences;
    DELETE FROM source_user_types;
    DELETE FROM source_catalog;
  `);
}

function insertSequences(db: Database.Database, sequences: SourceSequence[]): void {
  const insert = db.prepare(
    `INSERT INTO source_sequences (schema_name, sequence_name, data_type, increment_by, min_value, max_value, start_value,
       cache_size, cycle, last_value, owner_schema, owner_table, owner_column, owner_is_identity, used_by_defaults)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const s of sequences) {
    insert.run(
      s.schema,
      s.name,
      s.dataType,
      s.increment,
      s.minValue,
      s.maxValue,
      s.start,
      s.cache,
      s.cycle ? 1 : 0,
      s.lastValue,
      s.ownedBy?.schema ?? null,
      s.ownedBy?.table ?? null,
      s.ownedBy?.column ?? null,
      s.ownedBy === null ? null : s.ownedBy.identity ? 1 : 0,
      JSON.stringify(s.usedByDefaults),
    );
  }
}

/** True when `export schema` has recorded a catalog. */
export function hasSourceCatalog(store: MigrationStore): boolean {
  return store.db.prepare('SELECT 1 FROM source_catalog').get() !== undefined;
}

/** The recorded catalog, typed; throws StateError when `export schema` has not recorded one yet. */
export function readSourceCatalog(store: MigrationStore): SourceCatalog {
  const db = store.db;
  // A read transaction, so a concurrent replaceSourceCatalog is seen entirely or not at all.
  const read = db.transaction((): SourceCatalog => {
    const head = db.prepare('SELECT read_at, server_version, schemas FROM source_catalog').get() as
      | { read_at: string; server_version: string; schemas: string }
      | undefined;
    if (head === undefined) {
      throw new StateError(`The migration store ${store.file} holds no source catalog.`, {
        hint: 'Run `godwit export schema` first: it records the source tables and sequences.',
      });
    }
    const types = db.prepare('SELECT schema_name, type_name, kind, definition FROM source_user_types ORDER BY schema_name, type_name').all() as TypeRow[];
    return {
      readAt: head.read_at,
      serverVersion: head.server_version,
      schemas: JSON.parse(head.schemas) as string[],
      tables: readTables(db),
      sequences: (db.prepare('SELECT * FROM source_sequences ORDER BY schema_name, sequence_name').all() as SequenceRow[]).map(toSequence),
      enums: types.filter((row) => row.kind === 'enum').map(toEnum),
      domains: types.filter((row) => row.kind === 'domain').map(toDomain),
    };
  });
  return read.deferred();
}

function readTables(db: Database.Database): SourceTable[] {
  const columns = new Map<string, SourceColumn[]>();
  for (const row of db.prepare('SELECT * FROM source_columns ORDER BY schema_name, table_name, ordinal').all() as ColumnRow[]) {
    const key = JSON.stringify([row.schema_name, row.table_name]);
    const list = columns.get(key) ?? [];
    list.push(toColumn(row));
    columns.set(key, list);
  }
  const partitions = new Map<string, PartitionRow>();
  for (const row of db.prepare('SELECT * FROM source_partitions').all() as PartitionRow[]) {
    partitions.set(JSON.stringify([row.schema_name, row.table_name]), row);
  }
  const tables = db.prepare('SELECT * FROM source_tables ORDER BY schema_name, table_name').all() as TableRow[];
  return tables.map((row) => {
    const key = JSON.stringify([row.schema_name, row.table_name]);
    const partition = partitions.get(key);
    return {
      schema: row.schema_name,
      name: row.table_name,
      kind: row.kind,
      estimatedRows: row.estimated_rows,
      sizeBytes: row.size_bytes,
      columns: columns.get(key) ?? [],
      primaryKey: JSON.parse(row.primary_key) as string[],
      replicaIdentity: row.replica_identity,
      replicaIdentityColumns: JSON.parse(row.replica_identity_columns) as string[],
      uniqueIndexes: JSON.parse(row.unique_indexes) as SourceUniqueIndex[],
      partitionKey: row.partition_key,
      partition:
        partition === undefined
          ? null
          : {
              parent: { schema: partition.parent_schema, name: partition.parent_name },
              root: { schema: partition.root_schema, name: partition.root_name },
              bound: partition.bound,
            },
    };
  });
}

interface TableRow {
  schema_name: string;
  table_name: string;
  kind: SourceTableKind;
  estimated_rows: number | null;
  size_bytes: number;
  primary_key: string;
  replica_identity: ReplicaIdentityMode;
  replica_identity_columns: string;
  unique_indexes: string;
  partition_key: string | null;
}

interface ColumnRow {
  schema_name: string;
  table_name: string;
  column_name: string;
  ordinal: number;
  data_type: string;
  type_schema: string;
  type_name: string;
  not_null: number;
  default_expr: string | null;
  generated_expr: string | null;
  identity: IdentityKind | null;
}

interface PartitionRow {
  schema_name: string;
  table_name: string;
  parent_schema: string;
  parent_name: string;
  root_schema: string;
  root_name: string;
  bound: string;
}

interface SequenceRow {
  schema_name: string;
  sequence_name: string;
  data_type: string;
  increment_by: string;
  min_value: string;
  max_value: string;
  start_value: string;
  cache_size: string;
  cycle: number;
  last_value: string | null;
  owner_schema: string | null;
  owner_table: string | null;
  owner_column: string | null;
  owner_is_identity: number | null;
  used_by_defaults: string;
}

interface TypeRow {
  schema_name: string;
  type_name: string;
  kind: 'enum' | 'domain';
  definition: string;
}

function toColumn(row: ColumnRow): SourceColumn {
  return {
    name: row.column_name,
    ordinal: row.ordinal,
    dataType: row.data_type,
    typeSchema: row.type_schema,
    typeName: row.type_name,
    notNull: row.not_null === 1,
    default: row.default_expr,
    generated: row.generated_expr,
    identity: row.identity,
  };
}

function toSequence(row: SequenceRow): SourceSequence {
  return {
    schema: row.schema_name,
    name: row.sequence_name,
    dataType: row.data_type,
    increment: row.increment_by,
    minValue: row.min_value,
    maxValue: row.max_value,
    start: row.start_value,
    cache: row.cache_size,
    cycle: row.cycle === 1,
    lastValue: row.last_value,
    ownedBy:
      row.owner_schema === null || row.owner_table === null || row.owner_column === null
        ? null
        : { schema: row.owner_schema, table: row.owner_table, column: row.owner_column, identity: row.owner_is_identity === 1 },
    usedByDefaults: JSON.parse(row.used_by_defaults) as SourceSequence['usedByDefaults'],
  };
}

function toEnum(row: TypeRow): SourceEnum {
  const definition = JSON.parse(row.definition) as { labels: string[] };
  return { schema: row.schema_name, name: row.type_name, labels: definition.labels };
}

function toDomain(row: TypeRow): SourceDomain {
  const definition = JSON.parse(row.definition) as Omit<SourceDomain, 'schema' | 'name'>;
  return { schema: row.schema_name, name: row.type_name, ...definition };
}
