// What `godwit import data to target` does (loaded only when it runs): honour --start-clean on the
// target, then load the snapshot in parallel batches and report what was loaded.
import { UsageError } from '../../core/errors.js';
import { poolFrom } from '../../engines/postgres/connect.js';
import type { ImportDataSummary } from '../../snapshot/import/import-data.js';
import { IMPORT_DATA_PHASE } from '../../snapshot/import/import-phase.js';
import { startCleanImport, tablesToTruncate } from '../../snapshot/import/import-start-clean.js';
import { postgresLoaderSessions } from '../../engines/postgres/snapshot/loader-sessions.js';
import { logLineProgress, terminalProgress } from '../../snapshot/import/progress-renderers.js';
import { listQueueImporters } from '../../state/queue-store.js';
import { snapshotRunKind } from '../../state/snapshot-store.js';
import { waitWhileRunning } from '../../state/wait-for-command.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit import data to target` (the spec is in import-data-to-target.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, settings, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('import data to target runs in an export directory');
  const parallelJobs = settings.options.int('parallel-jobs') ?? 4;
  const truncate = settings.options.bool('truncate-tables');
  if (truncate && !settings.options.bool('start-clean')) {
    throw new UsageError('--truncate-tables works only together with --start-clean.', { hint: 'Add --start-clean to start the import over.' });
  }
  // The snapshot pipeline loads while this waits and connects, unless a live importer already finished its snapshot part.
  const snapshotPipeline =
    settings.options.bool('start-clean') || snapshotRunKind(store) !== 'replication-slot' || listQueueImporters(store, 'source-to-target').length === 0
      ? import('../../snapshot/import/import-data.js')
      : undefined;
  snapshotPipeline?.catch(() => undefined);
  // Started side by side with import schema: the tables must exist before the first batch.
  await waitWhileRunning(exportDir, 'import-schema', context.signal, (line) => {
    logger.info(line);
    terminal.print(`import data to target: ${line}`);
  });
  const connection = await context.connect('target');
  const target = connection.settings;
  try {
    if (settings.options.bool('start-clean')) {
      const tables = truncate ? tablesToTruncate(store) : [];
      const what =
        truncate && tables.length > 0
          ? `truncates the target tables ${tables.map((t) => t.tableKey).join(', ')} and forgets`
          : truncate
            ? 'finds no planned tables to truncate yet, and forgets'
            : 'forgets (without deleting any row already loaded)';
      const question = `--start-clean ${what} every snapshot batch loaded so far into the target database "${target.database}" at ${target.host}:${target.port}. Continue?`;
      if (!(await terminal.confirm(question, settings.yes))) throw new UsageError('start-clean was not confirmed; nothing was changed.');
      await startCleanImport(store, connection.client, store.getMigrationId(), tables, logger);
      store.setPhaseStatus(IMPORT_DATA_PHASE, 'not-started', 'reset by --start-clean');
    }
  } finally {
    await connection.client.end();
  }

  // A live migration whose change apply ran before: the importer registers on the stream only once the
  // snapshot part (loads, indexes and keys) is finished, so that part is not checked again (half a second
  // and more at every restart, while the change backlog waits).
  const liveImporter = snapshotRunKind(store) === 'replication-slot' && !settings.options.bool('start-clean') ? (await import('../../apply/live-import.js')).TARGET_IMPORTER : undefined;
  const snapshotDone = liveImporter !== undefined && listQueueImporters(store, 'source-to-target').some((importer) => importer.importer === liveImporter);
  if (snapshotDone) {
    terminal.print('import data to target: snapshot part done in an earlier run.');
  } else {
    // The snapshot pipeline (and its SQL parser) is loaded only when this part runs.
    const { DEFAULT_BATCH_BYTES, importSnapshotData } = await (snapshotPipeline ?? import('../../snapshot/import/import-data.js'));
    const { pool } = poolFrom(connection, { applicationName: `godwit ${context.name}`, logger, max: parallelJobs + 1 });
    const sessions = postgresLoaderSessions(pool, parallelJobs, { user: target.user, database: target.database });
    const progress = terminal.fancyOutput
      ? terminalProgress({ print: (line) => terminal.print(line), stream: process.stdout }, logger)
      : logLineProgress({ print: (line) => terminal.print(line) }, logger);
    store.setPhaseStatus(IMPORT_DATA_PHASE, 'running');
    let summary: ImportDataSummary;
    try {
      summary = await importSnapshotData(exportDir, store, sessions, {
        batch: { batchSize: settings.options.int('batch-size') ?? 20_000, batchBytes: DEFAULT_BATCH_BYTES },
        parallelJobs,
        include: settings.options.tables('table-list'),
        exclude: settings.options.tables('exclude-table-list'),
        logger,
        progress,
        signal: context.signal,
      });
    } catch (error) {
      store.recordPhaseFailure(IMPORT_DATA_PHASE, error);
      throw error;
    } finally {
      progress.stop();
      await sessions.end();
    }
    const { load } = summary;
    const parts = [`${load.loadedRows} rows in ${load.loadedBatches} batches loaded into ${load.tables.length} tables`];
    if (load.skippedBatches > 0) parts.push(`${load.skippedBatches} batches were already loaded`);
    if (summary.postSnapshot !== undefined) {
      parts.push(`${summary.postSnapshot.built} indexes and keys built` + (summary.postSnapshot.alreadyThere > 0 ? ` (${summary.postSnapshot.alreadyThere} already there)` : ''));
    }
    parts.push(`${summary.analyzed} tables analyzed`);
    parts.push(summary.sequencesSkippedReason === undefined ? `${summary.sequencesSet} sequences set` : `sequences not set (${summary.sequencesSkippedReason})`);
    if (snapshotRunKind(store) !== 'replication-slot') {
      store.setPhaseStatus(IMPORT_DATA_PHASE, 'done', parts.join(', '));
      terminal.print(`import data to target: ${parts.join(', ')}.`);
      return;
    }

    // A live migration (the snapshot was taken under a replication slot): apply the change stream until stopped.
    terminal.print(`import data to target: snapshot part done: ${parts.join(', ')}.`);
    store.setPhaseStatus(IMPORT_DATA_PHASE, 'running', `snapshot loaded (${parts.join(', ')}); applying the change stream`);
  }
  const { TARGET_IMPORTER } = await import('../../apply/live-import.js');
  const { runLiveApply } = await import('./live-apply.run.js');
  const channels = parallelJobs;
  const apply = poolFrom(connection, { applicationName: `godwit ${context.name}`, logger, max: channels + 1 });
  const applySessions = postgresLoaderSessions(apply.pool, channels + 1, { user: target.user, database: target.database }, { isYugabyte: apply.server.isYugabyte });
  let cutover;
  try {
    cutover = await runLiveApply(
      context,
      {
        command: 'import data to target',
        stream: 'source-to-target',
        importer: TARGET_IMPORTER,
        cutover: 'to-target',
        phase: IMPORT_DATA_PHASE,
        exporter: 'export data from source',
      },
      applySessions,
      target,
      channels,
    );
  } finally {
    await applySessions.end();
  }
  if (cutover?.state === 'COMPLETED') {
    const { handOverToFallBack } = await import('./fall-back-hand-over.js');
    await handOverToFallBack(context, 'import data to target', cutover);
  }
}
