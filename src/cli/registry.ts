// Every godwit command, in workflow order (DESIGN.md section 2). Adding a command = one file + one line.
import type { CommandSpec } from './command-spec.js';
import { analyzeSchemaCommand } from './commands/analyze-schema.js';
import { archiveChanges } from './commands/archive-changes.js';
import { assessMigration } from './commands/assess-migration.js';
import { comparePerformance } from './commands/compare-performance.js';
import { cutoverStatus } from './commands/cutover-status.js';
import { demo } from './commands/demo.js';
import { endMigration } from './commands/end-migration.js';
import { exportDataFromSource } from './commands/export-data-from-source.js';
import { exportDataFromTarget } from './commands/export-data-from-target.js';
import { exportDataStatus } from './commands/export-data-status.js';
import { exportSchemaCommand } from './commands/export-schema.js';
import { finalizeSchemaPostDataImport } from './commands/finalize-schema-post-data-import.js';
import { getDataMigrationReport } from './commands/get-data-migration-report.js';
import { importDataStatus } from './commands/import-data-status.js';
import { importDataToSource } from './commands/import-data-to-source.js';
import { importDataToTarget } from './commands/import-data-to-target.js';
import { importSchemaCommand } from './commands/import-schema.js';
import { initiateCutoverToSource } from './commands/initiate-cutover-to-source.js';
import { initiateCutoverToTarget } from './commands/initiate-cutover-to-target.js';
import { version } from './commands/version.js';

/** All commands; build-program.ts turns them into the command tree. */
export const COMMANDS: readonly CommandSpec[] = [
  assessMigration,
  exportSchemaCommand,
  analyzeSchemaCommand,
  importSchemaCommand,
  exportDataFromSource,
  importDataToTarget,
  exportDataStatus,
  importDataStatus,
  getDataMigrationReport,
  archiveChanges,
  initiateCutoverToTarget,
  cutoverStatus,
  finalizeSchemaPostDataImport,
  exportDataFromTarget,
  importDataToSource,
  initiateCutoverToSource,
  endMigration,
  comparePerformance,
  demo,
  version,
];
