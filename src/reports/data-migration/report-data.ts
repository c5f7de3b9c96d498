// The data-migration report as plain data: per table and in total, the snapshot rows exported and
// imported, errored rows, the inserts/updates/deletes exported and imported (zero until the change
// stream exists), and the final row count when the target was counted. Renderers turn it into a
// table or JSON; building it reads nothing but its input.

/** A table's change counts on one stream: what the exporter captured and what the importer applied. */
export interface ChangeCounts {
  exportedInserts: number;
  exportedUpdates: number;
  exportedDeletes: number;
  importedInserts: number;
  importedUpdates: number;
  importedDeletes: number;
}

/** One table's line (or the total). */
export interface DataMigrationRow extends ChangeCounts {
  table: string;
  exportedSnapshotRows: number;
  importedSnapshotRows: number;
  erroredRows: number;
  /** Rows counted on the target, null when it was not counted. */
  finalRowCount: number | null;
}

/** One recorded transition of the cutover state machine (src/cutover), for the report's history. */
export interface CutoverHistoryEntry {
  direction: string;
  from: string;
  event: string;
  to: string;
  at: string;
  detail: string | null;
}

/** Where the cutovers stand (the labels of `cutover status`) and how they got there. */
export interface CutoverSection {
  toTarget: string;
  /** Present once fall-back is prepared or a cutover to source was requested. */
  toSource?: string;
  history: CutoverHistoryEntry[];
}

/** One table's line of the fall-back stream (target-to-source): changes exported from the target and imported into the source. */
export interface FallBackRow extends ChangeCounts {
  table: string;
}

/** The whole report. */
export interface DataMigrationReport {
  migrationId: string;
  generatedAt: string;
  tables: DataMigrationRow[];
  total: DataMigrationRow;
  /** Present once fall-back is prepared: the target-to-source stream per table and in total. */
  fallBack?: { tables: FallBackRow[]; total: FallBackRow };
  /** Present once a cutover was requested. */
  cutover?: CutoverSection;
}

/** What the report is made of; every map is keyed by the table key (`"schema"."name"`). */
export interface DataMigrationInput {
  migrationId: string;
  generatedAt: string;
  tables: readonly string[];
  exportedSnapshotRows: ReadonlyMap<string, number>;
  importedSnapshotRows: ReadonlyMap<string, number>;
  finalRowCounts?: ReadonlyMap<string, number>;
  /** Change events the importer applied per table (the live part); absent or missing tables count 0. */
  importedChanges?: ReadonlyMap<string, { inserts: number; updates: number; deletes: number }>;
  /** Per table, the change events the exporter made durable in the queue. */
  exportedChanges?: ReadonlyMap<string, { inserts: number; updates: number; deletes: number }>;
  /** The cutover state and history, once a cutover was requested. */
  cutover?: CutoverSection;
  /** The fall-back stream's counts (target-to-source), once fall-back is prepared. */
  fallBack?: {
    exportedChanges: ReadonlyMap<string, { inserts: number; updates: number; deletes: number }>;
    importedChanges: ReadonlyMap<string, { inserts: number; updates: number; deletes: number }>;
  };
}

const COUNTS = [
  'exportedSnapshotRows',
  'importedSnapshotRows',
  'erroredRows',
  'exportedInserts',
  'exportedUpdates',
  'exportedDeletes',
  'importedInserts',
  'importedUpdates',
  'importedDeletes',
] as const;

/** Builds the report from counts. */
export function buildDataMigrationReport(input: DataMigrationInput): DataMigrationReport {
  const names = new Set([...input.tables, ...(input.importedChanges?.keys() ?? []), ...(input.exportedChanges?.keys() ?? [])]);
  const tables = [...names].sort().map(
    (table): DataMigrationRow => ({
      table,
      exportedSnapshotRows: input.exportedSnapshotRows.get(table) ?? 0,
      importedSnapshotRows: input.importedSnapshotRows.get(table) ?? 0,
      erroredRows: 0,
      exportedInserts: input.exportedChanges?.get(table)?.inserts ?? 0,
      exportedUpdates: input.exportedChanges?.get(table)?.updates ?? 0,
      exportedDeletes: input.exportedChanges?.get(table)?.deletes ?? 0,
      importedInserts: input.importedChanges?.get(table)?.inserts ?? 0,
      importedUpdates: input.importedChanges?.get(table)?.updates ?? 0,
      importedDeletes: input.importedChanges?.get(table)?.deletes ?? 0,
      finalRowCount: input.finalRowCounts?.get(table) ?? null,
    }),
  );
  const total: DataMigrationRow = { ...tables[0], table: 'total' } as DataMigrationRow;
  for (const name of COUNTS) total[name] = tables.reduce((sum, row) => sum + row[name], 0);
  const counted = tables.every((row) => row.finalRowCount !== null);
  total.finalRowCount = counted && tables.length > 0 ? tables.reduce((sum, row) => sum + (row.finalRowCount ?? 0), 0) : null;
  const report: DataMigrationReport = { migrationId: input.migrationId, generatedAt: input.generatedAt, tables, total };
  if (input.cutover !== undefined) report.cutover = input.cutover;
  if (input.fallBack !== undefined) report.fallBack = fallBackRows(input.tables, input.fallBack);
  return report;
}

const FALL_BACK_COUNTS = ['exportedInserts', 'exportedUpdates', 'exportedDeletes', 'importedInserts', 'importedUpdates', 'importedDeletes'] as const;

/** The fall-back stream's lines: every migrated table (and any the stream names besides), and the total. */
function fallBackRows(tables: readonly string[], counts: NonNullable<DataMigrationInput['fallBack']>): { tables: FallBackRow[]; total: FallBackRow } {
  const { exportedChanges: exported, importedChanges: imported } = counts;
  const names = new Set([...tables, ...exported.keys(), ...imported.keys()]);
  const rows = [...names].sort().map(
    (table): FallBackRow => ({
      table,
      exportedInserts: exported.get(table)?.inserts ?? 0,
      exportedUpdates: exported.get(table)?.updates ?? 0,
      exportedDeletes: exported.get(table)?.deletes ?? 0,
      importedInserts: imported.get(table)?.inserts ?? 0,
      importedUpdates: imported.get(table)?.updates ?? 0,
      importedDeletes: imported.get(table)?.deletes ?? 0,
    }),
  );
  const total: FallBackRow = { table: 'total', exportedInserts: 0, exportedUpdates: 0, exportedDeletes: 0, importedInserts: 0, importedUpdates: 0, importedDeletes: 0 };
  for (const name of FALL_BACK_COUNTS) total[name] = rows.reduce((sum, row) => sum + row[name], 0);
  return { tables: rows, total };
}

/** One table's import progress, for `import data status`. */
export interface ImportStatusRow {
  table: string;
  state: 'waiting for export' | 'not started' | 'loading' | 'done';
  exportedRows: number;
  importedRows: number;
  /** Percent of the exported rows loaded, one decimal. */
  percent: number;
}

/** The import's status: the phase and each table. */
export interface ImportStatus {
  migrationId: string;
  phase: string;
  phaseDetail: string | null;
  exportFinished: boolean;
  tables: ImportStatusRow[];
  total: ImportStatusRow;
}

/** Builds the status from counts: a table is done when the export of it is finished and every row is in. */
export function buildImportStatus(input: {
  migrationId: string;
  phase: string;
  phaseDetail: string | null;
  exportFinished: boolean;
  tables: readonly string[];
  exported: ReadonlyMap<string, number>;
  imported: ReadonlyMap<string, number>;
  /** Tables with planned (not yet exported) chunks. */
  stillExporting: ReadonlySet<string>;
}): ImportStatus {
  const row = (table: string, exportedRows: number, importedRows: number, exporting: boolean): ImportStatusRow => {
    const state: ImportStatusRow['state'] =
      exportedRows === 0 && exporting ? 'waiting for export' : importedRows === 0 && exportedRows > 0 ? 'not started' : importedRows >= exportedRows && !exporting ? 'done' : 'loading';
    const percent = exportedRows === 0 ? (exporting ? 0 : 100) : Math.floor((importedRows / exportedRows) * 1000) / 10;
    return { table, state, exportedRows, importedRows, percent };
  };
  const tables = [...input.tables]
    .sort()
    .map((t) => row(t, input.exported.get(t) ?? 0, input.imported.get(t) ?? 0, input.stillExporting.has(t)));
  const sum = (k: 'exportedRows' | 'importedRows'): number => tables.reduce((s, r) => s + r[k], 0);
  const total = row('total', sum('exportedRows'), sum('importedRows'), !input.exportFinished);
  return { migrationId: input.migrationId, phase: input.phase, phaseDetail: input.phaseDetail, exportFinished: input.exportFinished, tables, total };
}
