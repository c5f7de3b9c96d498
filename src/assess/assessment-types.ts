// The data `assess-migration` produces: what the source holds, how busy it is, what will need work,
// and the recommendations derived from it. Renderers (src/reports/assessment) depend only on these
// types. The JSON report is this shape serialised as-is, so field names here are stable.

import type { ReadinessReport } from '../engines/capture-readiness.js';
import type { SourceTableKind } from '../engines/source-catalog.js';
import type { CategoryCount, ObjectTypeCount, SchemaIssue } from '../schema/analyze/analysis-types.js';
import type { QueryStatistic } from './query-statistics-types.js';

/** One table of the selected schemas as the catalog and the statistics collector see it. */
export interface InventoryTable {
  schema: string;
  name: string;
  kind: SourceTableKind;
  /** `reltuples` (a partitioned parent: the sum of its partitions'); null when never analysed. */
  estimatedRows: number | null;
  /** Heap and TOAST, in bytes (a partitioned parent: its partitions'). */
  tableBytes: number;
  /** All its indexes, in bytes (a partitioned parent: its partitions'). */
  indexBytes: number;
  indexCount: number;
  hasPrimaryKey: boolean;
}

/** One index of a selected table. */
export interface InventoryIndex {
  schema: string;
  table: string;
  name: string;
  /** Access method: btree, hash, gin, gist, brin, spgist... */
  method: string;
  bytes: number;
  unique: boolean;
  primary: boolean;
}

/** The selected schemas' tables, indexes and sequences, and the database's size. */
export interface SourceInventory {
  tables: InventoryTable[];
  indexes: InventoryIndex[];
  sequences: number;
  databaseBytes: number;
}

/** Cumulative counters of one table (pg_stat_user_tables), read twice to get rates. */
export interface TableActivityCounters {
  /** Rows read: sequential and index fetches. */
  rowsRead: number;
  inserts: number;
  updates: number;
  deletes: number;
}

/** Counters of the whole database (pg_stat_database), read twice to get rates. */
export interface DatabaseActivityCounters {
  commits: number;
  rollbacks: number;
}

/** Rates of one table over the sampling interval, per second. */
export interface TableActivity {
  readsPerSecond: number;
  insertsPerSecond: number;
  updatesPerSecond: number;
  deletesPerSecond: number;
  /** Inserts, updates and deletes together. */
  writesPerSecond: number;
}

/** What the sampling found; `sampled` false when the interval was 0 (rates are then unknown). */
export interface ActivitySample {
  sampled: boolean;
  intervalSeconds: number;
  /** Commits and rollbacks per second of the whole database. */
  transactionsPerSecond: number;
  readsPerSecond: number;
  writesPerSecond: number;
  /** activityKey (`schema.name`, quoted where SQL needs it) -> rates; tables without activity have zeros. */
  tables: Record<string, TableActivity>;
}

/** Where a table should live in YugabyteDB: in the database's colocation tablet or split into its own tablets. */
export type TablePlacement = 'colocated' | 'sharded';

/** One table with its size, activity and placement advice. */
export interface AssessedTable extends InventoryTable {
  /** Rates over the sampling interval; null when it was not sampled. */
  activity: TableActivity | null;
  placement: TablePlacement;
  /** Why that placement, in a sentence. */
  placementReason: string;
}

/** A starting point for the YugabyteDB cluster, with the arithmetic that led to it. */
export interface SizingRecommendation {
  nodes: number;
  vcpusPerNode: number;
  memoryGiBPerNode: number;
  replicationFactor: number;
  colocatedTables: number;
  shardedTables: number;
  colocatedBytes: number;
  shardedBytes: number;
  /** Each step of the reasoning in words, with its numbers. */
  rationale: string[];
}

/** LOW, MEDIUM or HIGH, with the rule that decided it. */
export interface MigrationComplexity {
  level: 'LOW' | 'MEDIUM' | 'HIGH';
  reasons: string[];
}

/** An application statement (from pg_stat_statements) that uses SQL the target lacks. */
export interface QueryConstructFinding {
  query: string;
  calls: number;
  issues: { type: string; title: string; reason: string; suggestion: string; docsLink?: string }[];
}

/** Who and what is assessed, as the report names it. */
export interface AssessedSource {
  host: string;
  port: number;
  database: string;
  user: string;
  schemas: string[];
  serverVersion: string;
}

/** The whole assessment, what every renderer takes. */
export interface AssessmentReport {
  /** Version of this report shape, bumped on incompatible JSON changes. */
  reportVersion: 1;
  generatedAt: string;
  /** What the recommendations are for, e.g. "YugabyteDB". */
  target: string;
  source: AssessedSource & {
    /** pg_database_size of the whole database (all schemas). */
    databaseBytes: number;
  };
  complexity: MigrationComplexity;
  summary: {
    tables: number;
    partitions: number;
    indexes: number;
    sequences: number;
    /** Heap and TOAST of the selected tables, and their indexes, in bytes. */
    tableBytes: number;
    indexBytes: number;
    /** The sum of the estimates of the tables that have one. */
    estimatedRows: number;
    /** Tables (and partitions) never vacuumed or analysed: no row estimate (run ANALYZE). */
    tablesNotAnalysed: number;
    tablesWithoutPrimaryKey: number;
  };
  /** Objects of each type in the exported DDL and how many have issues. */
  objects: ObjectTypeCount[];
  activity: ActivitySample;
  tables: AssessedTable[];
  indexes: InventoryIndex[];
  sizing: SizingRecommendation;
  schemaIssues: { byCategory: CategoryCount[]; issues: SchemaIssue[] };
  /** Is the source ready for change capture (live migration)? The same check `export data` makes. */
  readiness: ReadinessReport;
  queryStatistics: {
    available: boolean;
    unavailableReason?: string;
    /** The statements with the most total execution time (the full list is in the metadata file). */
    top: QueryStatistic[];
    /** Path of the full capture, relative to the export directory (compare-performance reads it). */
    file: string;
    /** Captured statements that use constructs the target does not support. */
    unsupportedConstructs: QueryConstructFinding[];
    /** Captured statements the parser could not read (not checked). */
    unparsedStatements: number;
  };
}
