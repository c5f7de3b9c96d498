// How far the snapshot export has come, read from the store only (no database): per table the chunks
// exported out of those planned, the rows exported and a state; used by `export data status` and at
// the end of `export data from source`.

import { listSnapshotChunks, listSnapshotTables, snapshotExportFinished } from '../../state/snapshot-store.js';
import type { MigrationStore } from '../../state/store.js';

/** The state of one table's export. */
export type TableExportState = 'not-started' | 'exporting' | 'done';

/** One table's export status. */
export interface TableExportStatus {
  tableKey: string;
  schema: string;
  name: string;
  chunksPlanned: number;
  chunksExported: number;
  rowsExported: number;
  bytesExported: number;
  state: TableExportState;
}

/** The whole export's status. */
export interface ExportStatus {
  /** False before the first run planned the export. */
  planned: boolean;
  /** True once some run exported every planned chunk. */
  finished: boolean;
  tables: TableExportStatus[];
  total: { chunksPlanned: number; chunksExported: number; rowsExported: number; bytesExported: number };
}

/** Reads the export status from the store. */
export function readExportStatus(store: MigrationStore): ExportStatus {
  const chunks = listSnapshotChunks(store);
  const tables = listSnapshotTables(store).map((table): TableExportStatus => {
    const own = chunks.filter((c) => c.tableKey === table.tableKey);
    const exported = own.filter((c) => c.state === 'exported');
    return {
      tableKey: table.tableKey,
      schema: table.schema,
      name: table.name,
      chunksPlanned: own.length,
      chunksExported: exported.length,
      rowsExported: exported.reduce((n, c) => n + (c.rowCount ?? 0), 0),
      bytesExported: exported.reduce((n, c) => n + (c.byteCount ?? 0), 0),
      state: exported.length === own.length ? 'done' : exported.length === 0 ? 'not-started' : 'exporting',
    };
  });
  const sum = (pick: (t: TableExportStatus) => number): number => tables.reduce((n, t) => n + pick(t), 0);
  return {
    planned: tables.length > 0,
    finished: snapshotExportFinished(store),
    tables,
    total: {
      chunksPlanned: sum((t) => t.chunksPlanned),
      chunksExported: sum((t) => t.chunksExported),
      rowsExported: sum((t) => t.rowsExported),
      bytesExported: sum((t) => t.bytesExported),
    },
  };
}
