// The continuous part of both importers at the terminal: `import data to target` after its snapshot, and
// `import data to source` (fall-back). Applies the direction's change stream (src/apply/live-import.ts)
// until the user stops the command (exit 0, the same command resumes) or the cutover's end marker is
// applied, then runs the importer's cutover steps (src/cutover/import-cutover.ts) and prints the outcome.
import type { QueueStream } from '../../core/change-event.js';
import type { DatabaseSettings } from '../../core/database-settings.js';
import type { CutoverDirection } from '../../cutover/cutover-states.js';
import type { CutoverRecord } from '../../cutover/cutover-store.js';
import type { LoaderSessions } from '../../engines/loader-sessions.js';
import type { CommandContext } from '../command-context.js';

/** Which importer runs: its stream, its importer name, the cutover that ends it, its phase in the store. */
export interface LiveApplyDirection {
  command: string;
  stream: QueueStream;
  importer: string;
  cutover: CutoverDirection;
  phase: string;
  /** The command that releases the capturing side (named when the importer stops while waiting for it). */
  exporter: string;
}

/**
 * Applies until stopped or until the cutover completes; `sessions` are on the applying database
 * (`settings`), `channels` + 1 of them. Shared by the two importers so both directions behave alike.
 * Returns the cutover's record once this run saw it COMPLETED (undefined when the user stopped it).
 */
export async function runLiveApply(
  context: CommandContext,
  direction: LiveApplyDirection,
  sessions: LoaderSessions,
  settings: DatabaseSettings,
  channels: number,
): Promise<CutoverRecord | undefined> {
  const { exportDir, store, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error(`${direction.command} runs in an export directory`);
  const { runLiveImport } = await import('../../apply/live-import.js');
  const { cutoverDrained, ImportCutoverWatch } = await import('../../cutover/import-cutover.js');
  // The cutover (src/cutover): the apply ends at the end marker, then the importer's steps run.
  const cutover = new ImportCutoverWatch(store, direction.cutover, direction.stream, direction.importer);
  try {
    if (cutoverDrained(store, direction.cutover)) return await completeCutover(context, direction, sessions, settings);
    const live = await runLiveImport({
      store,
      queueDir: exportDir.queueDir,
      sessions,
      migrationId: store.getMigrationId(),
      channels,
      signal: context.signal,
      logger,
      print: (text) => terminal.print(text),
      until: cutover.signal,
      onMarker: cutover.onMarker,
      direction: { stream: direction.stream, importer: direction.importer, command: direction.command },
    });
    if (cutover.reached && !context.signal.aborted) {
      cutover.stop();
      return await completeCutover(context, direction, sessions, settings);
    }
    const why = (context.signal.reason instanceof Error ? context.signal.reason.message : 'stopped.').replace(/\.$/, '');
    const detail = `change apply stopped (${why}): every event up to vsn ${live.appliedThroughVsn} of ${live.headVsn} applied; run the same command to resume`;
    store.setPhaseStatus(direction.phase, 'running', detail);
    terminal.print(
      `${direction.command}: stopped (${why}) after applying ${live.eventsApplied} events in this run; every event up to vsn ${live.appliedThroughVsn} ` +
        `of ${live.headVsn} is applied. It can be resumed by running the same command.`,
    );
    return undefined;
  } catch (error) {
    store.setPhaseStatus(direction.phase, 'failed', error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    cutover.stop();
  }
}

/** The importer's part of the cutover once the apply reached the end marker; prints the outcome. */
async function completeCutover(
  context: CommandContext,
  direction: LiveApplyDirection,
  sessions: LoaderSessions,
  settings: DatabaseSettings,
): Promise<CutoverRecord | undefined> {
  const { store, terminal, logger } = context;
  if (store === undefined) throw new Error(`${direction.command} runs in an export directory`);
  const { finishImportCutover } = await import('../../cutover/import-cutover.js');
  const { cutoverImportDoneMessage } = await import('../../cutover/cutover-messages.js');
  const result = await finishImportCutover({
    store,
    direction: direction.cutover,
    stream: direction.stream,
    migrationId: store.getMigrationId(),
    sessions,
    settings,
    applicationName: `godwit ${context.name}`,
    logger,
    signal: context.signal,
    print: (text) => terminal.print(text),
  });
  if (result.record === undefined) {
    store.setPhaseStatus(direction.phase, 'running', `cutover: every change applied; stopped while waiting for the exporter`);
    terminal.print(`${direction.command}: stopped while waiting for \`${direction.exporter}\` to release its side; run the same command to complete the cutover.`);
    return undefined;
  }
  store.setPhaseStatus(direction.phase, 'done', `cutover ${direction.cutover === 'to-target' ? 'to target' : 'to source'} completed`);
  terminal.print(cutoverImportDoneMessage(result.record, result.sequences));
  return result.record;
}
