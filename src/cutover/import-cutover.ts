// The applying process's part of a cutover (`import data to target` for cutover to target, `import data
// to source` for cutover to source). The
// end marker is a barrier across all channels (src/apply/apply-engine.ts): once it is applied, every
// event before it is applied and committed. Then, each step recorded once durable and safe to repeat
// (so the same command resumes after a SIGKILL anywhere):
//
//   CAPTURE_RELEASED  (the exporter's part is done) check the channels are at the marker -> DRAINED
//   DRAINED           move every sequence past the capturing side's values -> SEQUENCES_SET
//   SEQUENCES_SET     with fall-back: publication + slot for the reverse stream -> REVERSE_PREPARED
//   then              -> COMPLETED
//
// ImportCutoverWatch ends the continuous apply when the marker is applied: at once when the engine
// reports the marker (onMarker), or, after a restart that applied it before the kill, when the store
// says how far the importer applied and where the marker is.

import type { ChangeEvent, QueueStream } from '../core/change-event.js';
import type { DatabaseSettings } from '../core/database-settings.js';
import { StateError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { readChannelRows } from '../apply/channel-bookkeeping.js';
import { withSession, type LoaderSessions } from '../engines/loader-sessions.js';
import { listQueueImporters } from '../state/queue-store.js';
import { listSnapshotTables } from '../state/snapshot-store.js';
import type { MigrationStore } from '../state/store.js';
import { reached, type CutoverDirection, type CutoverEvent } from './cutover-states.js';
import { advanceCutover, listCutoverSequences, readCutover, type CutoverRecord, type CutoverStepData } from './cutover-store.js';
import { cutoverKillPoint } from './kill-points.js';
import { prepareReverseStream } from './reverse-stream.js';
import { moveSequencesForward, type SequenceSyncSummary } from './sequence-sync.js';

/** True when the apply part of the cutover is over (DRAINED or later): no change is left to apply. */
export function cutoverDrained(store: MigrationStore, direction: CutoverDirection): boolean {
  return reached(readCutover(store, direction).state, 'DRAINED');
}

/** Ends a continuous apply once the cutover's end marker is applied; see the file comment. */
export class ImportCutoverWatch {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: MigrationStore,
    private readonly direction: CutoverDirection,
    private readonly stream: QueueStream,
    private readonly importer: string,
    pollIntervalMs = 250,
  ) {
    this.timer = setInterval(() => this.check(), pollIntervalMs);
    this.timer.unref();
  }

  /** Aborted when the marker is applied: pass it to the apply with the user's signal. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the apply ended because the cutover's marker is applied. */
  get reached(): boolean {
    return this.controller.signal.aborted;
  }

  /** For the apply's onMarker: the marker barrier is committed, so everything before it is applied. */
  readonly onMarker = (event: ChangeEvent): void => {
    if (event.stream !== this.stream) return;
    cutoverKillPoint('marker-applied');
    this.controller.abort(new Error(`the cutover end marker (vsn ${event.vsn}) is applied`));
  };

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private check(): void {
    const record = readCutover(this.store, this.direction);
    if (record.markerVsn === null) return;
    const applied = listQueueImporters(this.store, this.stream).find((i) => i.importer === this.importer)?.appliedVsn ?? 0;
    if (applied >= record.markerVsn) this.controller.abort(new Error(`every event up to the cutover end marker (vsn ${record.markerVsn}) is applied`));
  }
}

export interface ImportCutoverOptions {
  store: MigrationStore;
  direction: CutoverDirection;
  stream: QueueStream;
  migrationId: string;
  /** Sessions on the database taking over (session_replication_role does not matter here). */
  sessions: LoaderSessions;
  /** Proven settings of that database, for the reverse stream's replication slot. */
  settings: DatabaseSettings;
  applicationName: string;
  logger: Logger;
  /** The user's stop (SIGINT/SIGTERM): waiting for the exporter ends, nothing is half done. */
  signal: AbortSignal;
  print(text: string): void;
  pollIntervalMs?: number;
}

export interface ImportCutoverResult {
  /** Undefined when the user stopped the command while it waited for the exporter. */
  record: CutoverRecord | undefined;
  /** Sequences moved in this run (zero when an earlier run did it). */
  sequences: SequenceSyncSummary;
}

/** Runs the importer's steps from wherever the state machine stands to COMPLETED. */
export async function finishImportCutover(options: ImportCutoverOptions): Promise<ImportCutoverResult> {
  const { store, direction, logger } = options;
  const sequences: SequenceSyncSummary = { set: 0, alreadyAhead: 0 };
  const record = (): CutoverRecord => readCutover(store, direction);
  const step = (event: CutoverEvent, data: CutoverStepData = {}): void => {
    cutoverKillPoint(advanceCutover(store, direction, event, data).state);
  };

  if (!(await waitForCapture(options))) return { record: undefined, sequences };
  if (record().state === 'CAPTURE_RELEASED') {
    const markerVsn = record().markerVsn ?? 0;
    const applied = await withSession(options.sessions, async (session) => {
      const rows = await readChannelRows(session, { migrationId: options.migrationId, stream: options.stream });
      return rows.length === 0 ? 0 : Math.min(...rows.map((row) => row.lastAppliedVsn));
    });
    if (applied < markerVsn) {
      throw new StateError(`Cutover: the apply channels are at vsn ${applied}, before the end marker at vsn ${markerVsn}.`, {
        hint: 'Run the same command again: it applies the rest of the change stream first.',
      });
    }
    step('drained', { detail: `every event up to vsn ${markerVsn} applied` });
  }
  if (record().state === 'DRAINED') {
    const values = listCutoverSequences(store, direction);
    const moved = await withSession(options.sessions, (session) => moveSequencesForward(session, values));
    Object.assign(sequences, moved);
    step('sequences-set', { detail: `${moved.set} sequence(s) set, ${moved.alreadyAhead} already ahead` });
    logger.info(`cutover: ${moved.set} sequences set, ${moved.alreadyAhead} already ahead`);
  }
  if (record().state === 'SEQUENCES_SET' && record().prepareForFallBack) {
    const reverse = await withSession(options.sessions, (session) =>
      prepareReverseStream({
        migrationId: options.migrationId,
        tables: listSnapshotTables(store),
        session,
        settings: options.settings,
        applicationName: options.applicationName,
        logger,
      }),
    );
    step('reverse-prepared', {
      reverse: { slot: reverse.slotName, publication: reverse.publicationName, consistentPoint: reverse.consistentPoint, columns: reverse.columns },
      detail: `publication ${reverse.publicationName} and slot ${reverse.slotName} (from ${reverse.consistentPoint}) on the target`,
    });
  }
  if (record().state === 'SEQUENCES_SET' || record().state === 'REVERSE_PREPARED') step('completed');
  return { record: record(), sequences };
}

/** Waits until the exporter released its side (its part is done); false when the user stopped first. */
async function waitForCapture(options: ImportCutoverOptions): Promise<boolean> {
  let said = false;
  for (;;) {
    if (reached(readCutover(options.store, options.direction).state, 'CAPTURE_RELEASED')) return true;
    if (options.signal.aborted) return false;
    if (!said) {
      said = true;
      const [importer, exporter, side] = options.direction === 'to-target' ? ['import data to target', 'export data from source', 'source'] : ['import data to source', 'export data from target', 'target'];
      options.print(`${importer}: every change up to the end marker is applied; waiting for \`${exporter}\` to release the ${side}.`);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, options.pollIntervalMs ?? 250);
      function done(): void {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', done);
        resolve();
      }
      options.signal.addEventListener('abort', done);
    });
  }
}
