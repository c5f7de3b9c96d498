// What `godwit end migration` does (loaded only when it runs): plan, confirm, stop godwit processes
// still running here, back up what was asked, remove godwit's slots, publications and bookkeeping on
// both databases, and empty the export directory. Every step can be repeated, so a crash is cured by
// running the same command again.

import { join } from 'node:path';
import { liveExportNames } from '../../capture/live-export.js';
import { UsageError } from '../../core/errors.js';
import type { MigrationCleanup } from '../../engines/migration-cleanup.js';
import { postgresMigrationCleanup } from '../../engines/postgres/cleanup/migration-objects.js';
import { copyBackup, emptyExportDir, stopRunningCommands, writeReportFiles } from '../../end/end-effects.js';
import { describeEndPlan, planEndMigration } from '../../end/end-plan.js';
import { dataMigrationReportFromStore } from '../../reports/data-migration/read-report-input.js';
import { renderReportHtml } from '../../reports/data-migration/render-html.js';
import { renderReportJson, renderReportTable } from '../../reports/data-migration/render-report.js';
import { heldByThisProcess, listLockHolders } from '../../state/lock.js';
import type { CommandContext } from '../command-context.js';

const SELF = 'end-migration';
/** How long a slot may stay busy (its exporter stopping) before the walsender is terminated or the command fails. */
const SLOT_WAIT_MS = 15_000;

/** The action of `godwit end migration` (the spec is in end-migration.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, settings, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('end migration runs in an export directory');
  const migrationId = store.getMigrationId();
  const plan = planEndMigration({
    exportDir,
    choices: {
      schemaFiles: settings.options.bool('backup-schema-files'),
      dataFiles: settings.options.bool('backup-data-files'),
      migrationReports: settings.options.bool('save-migration-reports'),
      logFiles: settings.options.bool('backup-log-files'),
    },
    backupDir: settings.options.string('backup-dir'),
    holders: listLockHolders(exportDir),
    self: SELF,
  });
  const description = describeEndPlan(plan, ['source', 'target']);
  logger.info(description);
  terminal.print(description);
  if (plan.running.length > 0) {
    terminal.note(`warning: ${plan.running.length} godwit command(s) still run for this export directory; end migration stops them first.`);
  }
  if (!(await terminal.confirm('End the migration as above? This cannot be undone.', settings.yes))) {
    throw new UsageError('end migration was not confirmed; nothing was changed.');
  }

  // Both databases are reached before anything changes, so an unreachable one stops the command with nothing done.
  const prefix = liveExportNames(migrationId).slotName;
  const cleanups: MigrationCleanup[] = [];
  try {
    for (const role of ['source', 'target'] as const) {
      const connection = await context.connect(role);
      const { host, port, database } = connection.settings;
      cleanups.push(postgresMigrationCleanup({ client: connection.client, label: `${role} ${host}:${port}/${database}`, migrationId, objectPrefix: prefix, logger }));
    }
    for (const cleanup of cleanups) logger.info(`found on the ${cleanup.label}`, { ...(await cleanup.inspect()) });

    await stopRunningCommands(exportDir, plan.running, logger);
    const logCopy = plan.copies.filter((c) => c.what === 'log files');
    for (const copy of plan.copies.filter((c) => c.what !== 'log files')) copyBackup(copy, logger);
    if (plan.writeDataMigrationReport && plan.backupDir !== undefined) {
      const report = dataMigrationReportFromStore(store);
      writeReportFiles(join(plan.backupDir, 'reports'), {
        'data_migration_report.txt': `${renderReportTable(report)}\n`,
        'data_migration_report.json': `${renderReportJson(report)}\n`,
        'data_migration_report.html': renderReportHtml(report, new Date().toISOString()),
      }, logger);
    }
    for (const cleanup of cleanups) {
      const result = await cleanup.remove({ waitActiveMs: SLOT_WAIT_MS, terminateActive: settings.yes });
      const parts = [
        result.droppedSlots.length > 0 ? `dropped slot(s) ${result.droppedSlots.join(', ')}` : 'no slot',
        result.droppedPublications.length > 0 ? `dropped publication(s) ${result.droppedPublications.join(', ')}` : 'no publication',
        { dropped: 'dropped schema godwit_metadata', kept: "deleted this migration's rows (godwit_metadata kept: other migrations use it)", absent: 'no godwit_metadata' }[result.bookkeeping],
      ];
      terminal.print(`${cleanup.label}: ${parts.join('; ')}.`);
    }
    logger.info('godwit objects removed from both databases; emptying the export directory');
    for (const copy of logCopy) copyBackup(copy, logger);
  } finally {
    for (const cleanup of cleanups) await cleanup.close();
  }
  store.close();
  emptyExportDir(exportDir, heldByThisProcess(exportDir, SELF));
  terminal.print(`Migration ${migrationId} ended: ${exportDir.root} is empty${plan.backupDir === undefined ? '' : `; backups are in ${plan.backupDir}`}.`);
}
