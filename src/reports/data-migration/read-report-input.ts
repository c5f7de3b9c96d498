// Gathers the counts of the data-migration report and the import status from the migration store
// (the report data itself stays pure: report-data.ts).

import type { MigrationStore } from '../../state/store.js';
import { readAppliedChangeCounts } from '../../state/apply-counts-store.js';
import { readExportedChangeCounts } from '../../state/exported-counts-store.js';
import {
  exportedRowsByTable,
  importedRowsByTable,
  listSnapshotChunks,
  listSnapshotTables,
  snapshotExportFinished,
} from '../../state/snapshot-store.js';
import { statusLabel } from '../../cutover/cutover-states.js';
import { listCutoverHistory, readCutover } from '../../cutover/cutover-store.js';
import { buildDataMigrationReport, buildImportStatus, type CutoverSection, type DataMigrationReport, type ImportStatus } from './report-data.js';

/** The report from what the store knows; `finalRowCounts` when the caller counted the target. */
export function dataMigrationReportFromStore(store: MigrationStore, finalRowCounts?: ReadonlyMap<string, number>): DataMigrationReport {
  return buildDataMigrationReport({
    migrationId: store.getMigrationId(),
    generatedAt: store.now(),
    tables: listSnapshotTables(store).map((t) => t.tableKey),
    exportedSnapshotRows: exportedRowsByTable(store),
    importedSnapshotRows: importedRowsByTable(store),
    finalRowCounts,
    importedChanges: readAppliedChangeCounts(store, 'source-to-target'),
    exportedChanges: readExportedChangeCounts(store, 'source-to-target'),
    cutover: cutoverSection(store),
    fallBack: readCutover(store, 'to-target').prepareForFallBack
      ? { exportedChanges: readExportedChangeCounts(store, 'target-to-source'), importedChanges: readAppliedChangeCounts(store, 'target-to-source') }
      : undefined,
  });
}

/** The cutover part of the report (undefined before any request): the labels of `cutover status` and the history. */
function cutoverSection(store: MigrationStore): CutoverSection | undefined {
  const toTarget = readCutover(store, 'to-target');
  const toSource = readCutover(store, 'to-source');
  if (toTarget.state === 'NOT_INITIATED' && toSource.state === 'NOT_INITIATED') return undefined;
  const section: CutoverSection = { toTarget: statusLabel(toTarget.state), history: listCutoverHistory(store) };
  if (toTarget.prepareForFallBack || toSource.state !== 'NOT_INITIATED') section.toSource = statusLabel(toSource.state);
  return section;
}

/** The import status from what the store knows. */
export function importStatusFromStore(store: MigrationStore, phase: string): ImportStatus {
  const status = store.getPhaseStatus(phase);
  return buildImportStatus({
    migrationId: store.getMigrationId(),
    phase: status.state,
    phaseDetail: status.detail,
    exportFinished: snapshotExportFinished(store),
    tables: listSnapshotTables(store).map((t) => t.tableKey),
    exported: exportedRowsByTable(store),
    imported: importedRowsByTable(store),
    stillExporting: new Set(listSnapshotChunks(store, 'planned').map((c) => c.tableKey)),
  });
}
