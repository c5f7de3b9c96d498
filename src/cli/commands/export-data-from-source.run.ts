// What `godwit export data from source` does (loaded only when it runs): the consistent snapshot of
// every selected table into data/, with progress and the export status table at the end.
import { UsageError } from '../../core/errors.js';
import { displayIdent } from '../../core/identifiers.js';
import { CATALOG_RECORDED, readSourceCatalog } from '../../state/catalog-store.js';
import type { SnapshotChunk } from '../../state/snapshot-store.js';
import type { MigrationStore } from '../../state/store.js';
import { DEFAULT_CHUNK_PAGES } from '../../snapshot/export/chunk-plan.js';
import { exportSnapshot } from '../../snapshot/export/export-snapshot.js';
import { readExportStatus } from '../../snapshot/export/export-status.js';
import { postgresSnapshotEngine } from '../../engines/postgres/snapshot/snapshot-engine.js';
import { barProgress, logProgress } from '../../snapshot/export/progress-renderers.js';
import { waitWhileRunning } from '../../state/wait-for-command.js';
import type { CommandContext } from '../command-context.js';
import { renderExportStatusTable } from './export-data-status.run.js';
import { runLiveExportCommand } from './export-data-from-source.live.js';

/** Environment knobs for tests and tuning: chunk size in 8 kB pages, and a delay before each chunk (tests only). */
const CHUNK_PAGES_ENV = 'GODWIT_SNAPSHOT_CHUNK_PAGES';
const CHUNK_DELAY_ENV = 'GODWIT_TEST_CHUNK_DELAY_MS';
/** How often the live export prints its metrics table (milliseconds; default 10 s). */
const METRICS_INTERVAL_ENV = 'GODWIT_EXPORT_METRICS_INTERVAL_MS';

/** The action of `godwit export data from source` (the spec is in export-data-from-source.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, terminal, logger, settings } = context;
  if (exportDir === undefined || store === undefined) throw new Error('export data from source runs in an export directory');
  // Started side by side with export schema: the source catalog this run of it records must be there.
  await waitWhileRunning(
    exportDir,
    'export-schema',
    context.signal,
    (line) => {
      logger.info(line);
      terminal.note(`export data from source: ${line}`);
    },
    () => {
      const phase = store.getPhaseStatus('export-schema');
      return phase.state === 'running' && phase.detail === CATALOG_RECORDED;
    },
  );
  if (settings.options.string('export-type') === 'snapshot-and-changes') {
    await runLive(context, store);
    return;
  }
  const catalog = readSourceCatalog(store);
  assertSameSchemas(context, catalog.schemas);
  const chunkPages = positiveIntFromEnv(CHUNK_PAGES_ENV) ?? DEFAULT_CHUNK_PAGES;
  const delayMs = positiveIntFromEnv(CHUNK_DELAY_ENV);

  const connection = await context.connect('source');
  await connection.client.end();
  const engine = postgresSnapshotEngine({
    settings: connection.settings,
    serverVersionNum: connection.server.versionNum,
    applicationName: `godwit ${context.name}`,
    logger,
  });
  const progressLine = (line: string): void => {
    logger.info(line);
    terminal.note(line);
  };
  const progress = terminal.fancyOutput ? barProgress(process.stderr) : logProgress(progressLine);
  store.setPhaseStatus('export-data-from-source', 'running', 'snapshot-only');
  try {
    const summary = await exportSnapshot({
      store,
      dataDir: exportDir.dataDir,
      foreignDirs: [exportDir.queueDir],
      catalog,
      engine,
      include: settings.options.tables('table-list'),
      exclude: settings.options.tables('exclude-table-list'),
      parallelJobs: settings.options.int('parallel-jobs') ?? 4,
      textOnly: settings.options.string('snapshot-format') === 'text',
      chunkPages,
      logger,
      progress,
      signal: context.signal,
      beforeChunk: delayMs === undefined ? undefined : (chunk: SnapshotChunk) => delay(delayMs, chunk),
    });
    const mb = summary.bytesThisRun / 1_048_576;
    const detail = `${summary.tables} tables, ${summary.chunks} chunks, ${summary.rows} rows`;
    store.setPhaseStatus('export-data-from-source', 'done', detail);
    logger.info(`export finished: ${detail}; this run ${summary.chunksThisRun} chunks, ${mb.toFixed(1)} MB in ${summary.seconds.toFixed(1)} s`);
    terminal.print(
      summary.runId === null
        ? `export data from source: already complete (${detail}).`
        : `export data from source: ${detail} exported to data/ (this run: ${summary.chunksThisRun} chunks, ` +
            `${mb.toFixed(1)} MB in ${summary.seconds.toFixed(1)} s, ${(mb / Math.max(summary.seconds, 0.001)).toFixed(1)} MB/s).`,
    );
    if (summary.resumed && summary.runId !== null) {
      terminal.note('warning: this export resumed an interrupted one, so its chunks come from more than one snapshot; this is safe only because snapshot-only requires the application to be stopped.');
    }
    terminal.print(renderExportStatusTable(readExportStatus(store)));
  } catch (error) {
    store.recordPhaseFailure('export-data-from-source', error);
    throw error;
  }
}

/** `--export-type snapshot-and-changes`: the live export (src/capture/live-export.ts), rendered here. */
async function runLive(context: CommandContext, store: MigrationStore): Promise<void> {
  const catalog = readSourceCatalog(store);
  assertSameSchemas(context, catalog.schemas);
  const delayMs = positiveIntFromEnv(CHUNK_DELAY_ENV);
  await runLiveExportCommand(context, {
    catalog,
    chunkPages: positiveIntFromEnv(CHUNK_PAGES_ENV) ?? DEFAULT_CHUNK_PAGES,
    metricsIntervalMs: positiveIntFromEnv(METRICS_INTERVAL_ENV) ?? 10_000,
    beforeChunk: delayMs === undefined ? undefined : (chunk: SnapshotChunk) => delay(delayMs, chunk),
  });
}

/** The data export copies the tables of the catalog `export schema` recorded: other schemas given now are a mistake. */
function assertSameSchemas(context: CommandContext, recorded: readonly string[]): void {
  if (!context.settings.origins.has('source-db-schema') || context.settings.origins.get('source-db-schema')?.kind === 'default') return;
  const given = context.settings.source?.schemas ?? [];
  const same = given.length === recorded.length && given.every((s) => recorded.includes(s));
  if (!same) {
    throw new UsageError(
      `--source-db-schema ${given.map(displayIdent).join(',')} differs from the schemas \`export schema\` recorded (${recorded.map(displayIdent).join(',')}).`,
      { hint: 'The data export copies the tables of the recorded catalog: give the same schemas, or run `godwit export schema` again with the new ones.' },
    );
  }
}

function positiveIntFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new UsageError(`${name}=${text} is not a positive integer.`);
  return value;
}

function delay(ms: number, _chunk: SnapshotChunk): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
