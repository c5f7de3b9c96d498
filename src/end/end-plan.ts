// The plan of `end migration`, computed before anything changes: what is backed up where, which
// godwit processes are still running for the export directory, and which database objects go. Pure,
// so the command can show it, ask, and refuse bad combinations (a backup without --backup-dir, a
// backup directory inside the export directory it is about to empty) with nothing touched.

import { isAbsolute, join, relative, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import type { ExportDir } from '../state/export-dir.js';
import type { HeldLock } from '../state/lock.js';

/** The four backups the command offers (each flag is required, true or false, as in the established tool). */
export interface BackupChoices {
  schemaFiles: boolean;
  dataFiles: boolean;
  migrationReports: boolean;
  logFiles: boolean;
}

/** One directory copied into the backup directory. */
export interface DirectoryBackup {
  what: 'schema files' | 'data files' | 'reports' | 'assessment reports' | 'log files';
  from: string;
  to: string;
}

export interface EndPlan {
  backupDir: string | undefined;
  copies: DirectoryBackup[];
  /** Write the data-migration report (text and JSON) into backupDir/reports. */
  writeDataMigrationReport: boolean;
  /** godwit commands still holding their lock in this export directory. */
  running: HeldLock[];
  exportDirRoot: string;
}

/** True when `inner` is `outer` or lies below it. */
function isInside(inner: string, outer: string): boolean {
  const rel = relative(resolve(outer), resolve(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Builds the plan, or throws UsageError naming what is wrong; `self` is this command's lock name (not "running"). */
export function planEndMigration(input: {
  exportDir: ExportDir;
  choices: BackupChoices;
  backupDir: string | undefined;
  holders: readonly HeldLock[];
  self: string;
}): EndPlan {
  const { exportDir, choices, holders, self } = input;
  const anyBackup = choices.schemaFiles || choices.dataFiles || choices.migrationReports || choices.logFiles;
  const backupDir = input.backupDir === undefined ? undefined : resolve(input.backupDir);
  if (anyBackup && backupDir === undefined) {
    throw new UsageError('A backup was asked for (--backup-schema-files, --backup-data-files, --save-migration-reports or --backup-log-files is true) but no --backup-dir was given.', {
      hint: 'Add --backup-dir DIR (a directory outside the export directory), or set the backup flags to false.',
    });
  }
  if (backupDir !== undefined && isInside(backupDir, exportDir.root)) {
    throw new UsageError(`--backup-dir ${backupDir} is inside the export directory ${exportDir.root}, which end migration empties.`, {
      hint: 'Choose a backup directory outside the export directory.',
    });
  }
  if (backupDir !== undefined && isInside(exportDir.root, backupDir)) {
    throw new UsageError(`--backup-dir ${backupDir} contains the export directory ${exportDir.root}: the backup would copy into itself.`, {
      hint: 'Choose a backup directory beside the export directory, not above it.',
    });
  }
  const copies: DirectoryBackup[] = [];
  if (backupDir !== undefined) {
    if (choices.schemaFiles) copies.push({ what: 'schema files', from: exportDir.schemaDir, to: join(backupDir, 'schema') });
    if (choices.dataFiles) copies.push({ what: 'data files', from: exportDir.dataDir, to: join(backupDir, 'data') });
    if (choices.migrationReports) {
      copies.push({ what: 'reports', from: exportDir.reportsDir, to: join(backupDir, 'reports') });
      copies.push({ what: 'assessment reports', from: exportDir.assessmentReportsDir, to: join(backupDir, 'assessment', 'reports') });
    }
    // Last, so that the copy includes what end migration itself logged up to then.
    if (choices.logFiles) copies.push({ what: 'log files', from: exportDir.logsDir, to: join(backupDir, 'logs') });
  }
  return {
    backupDir,
    copies,
    writeDataMigrationReport: choices.migrationReports && backupDir !== undefined,
    running: holders.filter((h) => h.command !== self),
    exportDirRoot: exportDir.root,
  };
}

/** The plan in words, for the confirmation question and the log. */
export function describeEndPlan(plan: EndPlan, databases: readonly string[]): string {
  const lines = [`end migration of ${plan.exportDirRoot}:`];
  for (const copy of plan.copies) lines.push(`  back up ${copy.what} to ${copy.to}`);
  if (plan.writeDataMigrationReport && plan.backupDir !== undefined) lines.push(`  save the data-migration report to ${join(plan.backupDir, 'reports')}`);
  for (const held of plan.running) {
    lines.push(`  stop the running \`${held.command.replaceAll('-', ' ')}\`${held.holder === undefined ? '' : ` (pid ${held.holder.pid} on ${held.holder.host})`}`);
  }
  for (const database of databases) lines.push(`  drop godwit's replication slots, publications and bookkeeping on the ${database}`);
  lines.push(`  remove everything in ${plan.exportDirRoot}`);
  return lines.join('\n');
}
