// `godwit export data from source --export-type snapshot-and-changes` at the terminal: wires the live
// export (src/capture/live-export.ts) to the command's settings and renders what it reports (the
// readiness findings, the snapshot summary, the export metrics table every ~10 s).

import Table from 'cli-table3';
import { dropLiveExportObjects, liveExportNames, runLiveExport } from '../../capture/live-export.js';
import type { LiveExportMetrics } from '../../capture/live-metrics.js';
import { renderReadinessReport } from '../../engines/capture-readiness.js';
import { postgresSnapshotEngine } from '../../engines/postgres/snapshot/snapshot-engine.js';
import type { SourceCatalog } from '../../engines/source-catalog.js';
import type { SnapshotExportOptions } from '../../snapshot/export/export-snapshot.js';
import { readExportStatus } from '../../snapshot/export/export-status.js';
import { barProgress, logProgress } from '../../snapshot/export/progress-renderers.js';
import type { CommandContext } from '../command-context.js';
import type { DatabaseSettings } from '../../core/database-settings.js';
import { ReplicationConnection } from '../../engines/postgres/replication/index.js';
import { getLiveExport } from '../../state/live-export-store.js';
import { renderExportStatusTable } from './export-data-status.run.js';

export interface LiveCommandOptions {
  catalog: SourceCatalog;
  chunkPages: number;
  metricsIntervalMs: number;
  beforeChunk: SnapshotExportOptions['beforeChunk'];
}

/** Runs the live export until SIGINT/SIGTERM; with --start-clean, drops the slot and publication first. */
export async function runLiveExportCommand(context: CommandContext, options: LiveCommandOptions): Promise<void> {
  const { exportDir, store, terminal, logger, settings } = context;
  if (exportDir === undefined || store === undefined) throw new Error('export data from source runs in an export directory');
  const applicationName = `godwit ${context.name}`;
  // A restart that streamed before logs its replication session in meanwhile (the export streams through it).
  const replication = earlyReplication(context, applicationName);
  // It proves the settings; the export's readiness checks run on it and close it.
  let connection;
  try {
    connection = await context.connect('source');
  } catch (error) {
    await ReplicationConnection.closeOpening(replication);
    throw error;
  }
  const connect = () => context.connect('source');
  try {
    if (settings.options.bool('start-clean')) await startClean(context, connection.settings, applicationName);
  } catch (error) {
    await connection.client.end().catch(() => undefined);
    await ReplicationConnection.closeOpening(replication);
    throw error;
  }
  const progressLine = (line: string): void => {
    logger.info(line);
    terminal.note(line);
  };
  store.setPhaseStatus('export-data-from-source', 'running', 'snapshot-and-changes');
  let cutover;
  try {
    const result = await runLiveExport({
      store,
      dataDir: exportDir.dataDir,
      queueDir: exportDir.queueDir,
      catalog: options.catalog,
      include: settings.options.tables('table-list'),
      exclude: settings.options.tables('exclude-table-list'),
      parallelJobs: settings.options.int('parallel-jobs') ?? 4,
      textOnly: settings.options.string('snapshot-format') === 'text',
      chunkPages: options.chunkPages,
      settings: connection.settings,
      connect,
      connection,
      replication,
      baseEngine: postgresSnapshotEngine({ settings: connection.settings, serverVersionNum: connection.server.versionNum, applicationName, logger }),
      applicationName,
      logger,
      signal: context.signal,
      snapshotProgress: terminal.fancyOutput ? barProgress(process.stderr) : logProgress(progressLine),
      beforeChunk: options.beforeChunk,
      metricsIntervalMs: options.metricsIntervalMs,
      onReadiness: (report) => {
        logger.info(renderReadinessReport(report));
        if (report.findings.some((f) => f.severity === 'warning')) terminal.note(renderReadinessReport(report));
      },
      onSnapshotDone: (summary) => {
        terminal.print(`export data from source: snapshot complete (${summary.tables} tables, ${summary.chunks} chunks, ${summary.rows} rows).`);
        terminal.print(renderExportStatusTable(readExportStatus(store)));
      },
      onStreaming: (live, resumed) => {
        terminal.print(
          `export data from source: ${resumed ? 'resuming' : 'streaming'} changes from replication slot ${live.slotName} ` +
            `(publication ${live.publicationName}, consistent point ${live.consistentPoint ?? '?'}) into data/queue; stop with Ctrl-C.`,
        );
      },
      onMetrics: (metrics) => terminal.print(renderExportMetricsTable(metrics)),
    });
    if (result.cutover !== undefined) {
      const { cutoverExportDoneMessage } = await import('../../cutover/cutover-messages.js');
      store.setPhaseStatus('export-data-from-source', 'done', 'snapshot-and-changes: cutover to target, source released');
      terminal.print(cutoverExportDoneMessage(result.cutover, result.metrics.totalEvents));
      cutover = result.cutover;
    } else {
      store.setPhaseStatus('export-data-from-source', 'running', 'snapshot-and-changes: stopped, resumable');
      terminal.print(
        `export data from source: stopped; the queue holds ${result.metrics.totalEvents} events (${result.metrics.eventsThisRun} in this run). ` +
          'Run the same command to resume streaming.',
      );
    }
  } catch (error) {
    store.recordPhaseFailure('export-data-from-source', error);
    throw error;
  }
  if (cutover !== undefined) {
    const { handOverToFallBack } = await import('./fall-back-hand-over.js');
    await handOverToFallBack(context, 'export data from source', cutover);
  }
}

/**
 * The replication session of a restart, opening beside the command's first connection: only when the
 * export streamed before (no snapshot to take) and the password is known (a prompt asks once, on that
 * connection, and a login without a password would leave a failed attempt in the server's log).
 */
function earlyReplication(context: CommandContext, applicationName: string): Promise<ReplicationConnection> | undefined {
  const source = context.settings.source;
  if (context.store === undefined || source?.password === undefined || context.settings.options.bool('start-clean')) return undefined;
  if (getLiveExport(context.store, 'source-to-target')?.state !== 'streaming') return undefined;
  const opening = ReplicationConnection.open(source, { applicationName, logger: context.logger });
  opening.catch(() => undefined); // a failure to open surfaces where the export uses it
  return opening;
}

/** --start-clean: run-command removed the files and the store rows; what the export created on the source goes here. */
async function startClean(context: CommandContext, proven: DatabaseSettings, applicationName: string): Promise<void> {
  const { store, terminal, logger } = context;
  if (store === undefined) throw new Error('export data from source runs in an export directory');
  const connect = () => context.connect('source');
  const dropped = await dropLiveExportObjects({ settings: proven, connect, applicationName, logger }, store.getMigrationId());
  const names = liveExportNames(store.getMigrationId());
  if (dropped.slotDropped || dropped.publicationDropped) {
    terminal.note(`--start-clean: dropped${dropped.slotDropped ? ` replication slot ${names.slotName}` : ''}${dropped.slotDropped && dropped.publicationDropped ? ' and' : ''}${dropped.publicationDropped ? ` publication ${names.publicationName}` : ''} on the source.`);
  }
}

/** The export metrics table: total exported events, exported in this run, rates over 3 and 10 minutes. */
export function renderExportMetricsTable(metrics: LiveExportMetrics): string {
  const table = new Table({
    head: ['time', 'total exported events', 'exported in this run', 'rate last 3 min (events/s)', 'rate last 10 min (events/s)'],
    style: { head: [], border: [] },
    colAligns: ['left', 'right', 'right', 'right', 'right'],
  });
  table.push([
    new Date(metrics.at).toISOString().slice(11, 19),
    metrics.totalEvents.toLocaleString('en-US'),
    metrics.eventsThisRun.toLocaleString('en-US'),
    metrics.rateLast3Min.toFixed(1),
    metrics.rateLast10Min.toFixed(1),
  ]);
  return table.toString();
}
