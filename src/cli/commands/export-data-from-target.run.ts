// What `godwit export data from target` does (loaded only when it runs): after a cutover to target with
// fall-back is COMPLETED, stream every application write on the target into the fall-back queue
// (src/capture/reverse-export.ts) until stopped (exit 0, the same command resumes) or until the cutover
// to source ends the stream and releases the target's slot and publication.
import { reverseStreamObjects, runReverseExport } from '../../capture/reverse-export.js';
import { cutoverExportDoneMessage } from '../../cutover/cutover-messages.js';
import { readSourceCatalog } from '../../state/catalog-store.js';
import type { CommandContext } from '../command-context.js';
import { renderExportMetricsTable } from './export-data-from-source.live.js';

const PHASE = 'export-data-from-target';
/** How often the export prints its metrics table (milliseconds; default 10 s), as for the forward export. */
const METRICS_INTERVAL_ENV = 'GODWIT_EXPORT_METRICS_INTERVAL_MS';

/** The action of `godwit export data from target` (the spec is in export-data-from-target.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('export data from target runs in an export directory');
  // Refuse before connecting anywhere when there is no fall-back stream.
  reverseStreamObjects(store, context.name);
  const connection = await context.connect('target');
  await connection.client.end();
  store.setPhaseStatus(PHASE, 'running', 'fall-back stream');
  try {
    const result = await runReverseExport({
      store,
      queueDir: exportDir.queueDir,
      sequences: readSourceCatalog(store).sequences,
      settings: connection.settings,
      connect: () => context.connect('target'),
      applicationName: `godwit ${context.name}`,
      logger,
      signal: context.signal,
      metricsIntervalMs: Number(process.env[METRICS_INTERVAL_ENV] ?? '') || 10_000,
      onStreaming: (objects, resumed) => {
        terminal.print(
          `export data from target: ${resumed ? 'resuming' : 'streaming'} the target's changes from replication slot ${objects.slotName} ` +
            `(publication ${objects.publicationName}, created at cutover at ${objects.startsAt || '?'}) into data/queue for the source; stop with Ctrl-C.`,
        );
      },
      onMetrics: (metrics) => terminal.print(renderExportMetricsTable(metrics)),
    });
    if (result.cutover !== undefined) {
      store.setPhaseStatus(PHASE, 'done', 'cutover to source, target released');
      terminal.print(cutoverExportDoneMessage(result.cutover, result.metrics.totalEvents));
      return;
    }
    store.setPhaseStatus(PHASE, 'running', 'stopped, resumable');
    terminal.print(
      `export data from target: stopped; the fall-back queue holds ${result.metrics.totalEvents} events (${result.metrics.eventsThisRun} in this run). ` +
        'Run the same command to resume streaming.',
    );
  } catch (error) {
    store.setPhaseStatus(PHASE, 'failed', String(error));
    throw error;
  }
}
