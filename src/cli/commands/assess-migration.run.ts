// What `godwit assess-migration` does (loaded only when it runs): read the source through the
// PostgreSQL readers, sample its rates with a progress bar (or a line now and then without a
// terminal), write the reports, and print the verdict.

import cliProgress from 'cli-progress';
import { assessMigration, type AssessmentSource } from '../../assess/assess-migration.js';
import { readQueryStatistics } from '../../assess/query-statistics.js';
import { liveExportNames } from '../../capture/live-export.js';
import { readActivityCounters, readSourceInventory } from '../../engines/postgres/assess/read-inventory.js';
import { postgresCaptureReadiness } from '../../engines/postgres/readiness/check-readiness.js';
import { formatBinaryBytes as formatBytes } from '../../core/format-bytes.js';
import { checkSchemasExist } from '../../schema/export/export-schema.js';
import { dumpSchema } from '../../schema/export/pg-dump.js';
import { getLiveExport } from '../../state/live-export-store.js';
import type { CommandContext } from '../command-context.js';
import type { Terminal } from '../terminal.js';

/** How often the sampling says where it is when standard output is not a terminal. */
const SAMPLING_LINE_EVERY_SECONDS = 30;

/** The sampling's progress: a bar on a terminal, a line every SAMPLING_LINE_EVERY_SECONDS otherwise. */
function samplingProgress(terminal: Terminal, stream: NodeJS.WritableStream): { tick: (elapsed: number, total: number) => void; stop: () => void } {
  if (terminal.fancyOutput) {
    const bar = new cliProgress.SingleBar({ stream, format: ' sampling rates |{bar}| {value}/{total} s', hideCursor: true, fps: 2, barsize: 30 }, cliProgress.Presets.shades_classic);
    let started = false;
    return {
      tick: (elapsed, total) => {
        if (!started) bar.start(total, 0);
        started = true;
        bar.update(Math.floor(elapsed));
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let said = 0;
  return {
    tick: (elapsed, total) => {
      if (elapsed - said < SAMPLING_LINE_EVERY_SECONDS || elapsed >= total) return;
      said = elapsed;
      terminal.print(`  sampling rates: ${Math.floor(elapsed)} of ${total} s`);
    },
    stop: () => undefined,
  };
}

/** The action of `godwit assess-migration` (the spec is in assess-migration.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, settings, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('assess-migration runs in an export directory');
  const seconds = settings.options.int('iops-capture-interval') ?? 120;
  const connection = await context.connect('source');
  const { client, server } = connection;
  const database = connection.settings;
  const progress = samplingProgress(terminal, process.stdout);
  try {
    store.setPhaseStatus('assess-migration', 'running');
    const reader: AssessmentSource = {
      checkSchemas: () => checkSchemasExist(client, database.schemas, database.database),
      readInventory: () => readSourceInventory(client, database.schemas, server.major),
      readCounters: () => readActivityCounters(client, database.schemas),
      checkReadiness: (input) => postgresCaptureReadiness(client, server, { role: 'source' }).checkCaptureReadiness(input),
      readQueryStatistics: () => readQueryStatistics(client, { database: database.database, serverVersion: server.versionString, serverMajor: server.major }),
      dumpSchema: async (outputFile) => {
        const dump = await dumpSchema({ settings: database, serverMajor: server.major, outputFile, applicationName: `godwit ${context.name}`, logger, signal: context.signal });
        return dump.pgDump.versionText;
      },
    };
    const { slotName, publicationName } = liveExportNames(store.getMigrationId());
    const { report, files } = await assessMigration({
      dir: exportDir,
      source: { host: database.host, port: database.port, database: database.database, user: database.user, schemas: database.schemas, serverVersion: server.versionString },
      reader,
      capture: { slotName, publicationName, started: getLiveExport(store) !== undefined },
      samplingSeconds: seconds,
      signal: context.signal,
      onStep: (line) => terminal.print(`assess-migration: ${line}`),
      onSamplingTick: progress.tick,
    });
    progress.stop();
    if (context.signal.aborted && report.activity.sampled) {
      terminal.note(`assess-migration: the sampling was cut short after ${report.activity.intervalSeconds.toFixed(0)} of ${seconds} s; the rates cover that time.`);
    }
    const s = report.summary;
    const z = report.sizing;
    const blockers = report.readiness.findings.filter((f) => f.severity === 'blocker').length;
    const issues = report.schemaIssues.issues.length;
    terminal.print(`migration complexity: ${report.complexity.level}`);
    terminal.print(
      `source: ${s.tables} tables (${s.partitions} partitions), ${s.indexes} indexes, ${s.sequences} sequences, ` +
        `${formatBytes(s.tableBytes)} of data and ${formatBytes(s.indexBytes)} of indexes, ~${s.estimatedRows.toLocaleString('en-US')} rows` +
        (s.tablesNotAnalysed === 0 ? '' : ` (${s.tablesNotAnalysed} table(s) never analysed have no estimate: run ANALYZE on the source for them)`),
    );
    terminal.print(
      report.activity.sampled
        ? `activity over ${report.activity.intervalSeconds.toFixed(0)} s: ${report.activity.transactionsPerSecond.toFixed(1)} transactions/s, ` +
            `${report.activity.readsPerSecond.toFixed(1)} row reads/s, ${report.activity.writesPerSecond.toFixed(1)} row writes/s`
        : 'activity: not sampled (--iops-capture-interval 0)',
    );
    terminal.print(`sizing for ${report.target}: ${z.nodes} nodes of ${z.vcpusPerNode} vCPUs and ${z.memoryGiBPerNode} GiB; tables and partitions: ${z.colocatedTables} colocated, ${z.shardedTables} sharded`);
    terminal.print(`schema issues: ${issues}; live migration readiness: ${report.readiness.ready ? 'ready' : `${blockers} blocker(s)`}`);
    const q = report.queryStatistics;
    terminal.print(
      q.available
        ? `query statistics: ${q.top.length} top statements captured; ${q.unsupportedConstructs.length} use SQL the target lacks`
        : `query statistics: not captured (${q.unavailableReason ?? ''})`,
    );
    terminal.print(`report: ${files.html}`);
    terminal.print(`report: ${files.json}`);
    terminal.print(`report: ${files.text}`);
    store.setPhaseStatus('assess-migration', 'done', `complexity ${report.complexity.level}, ${s.tables} tables, ${issues} schema issues`);
  } catch (error) {
    progress.stop();
    store.recordPhaseFailure('assess-migration', error);
    throw error;
  } finally {
    await client.end();
  }
}
