// The capturing process's part of a cutover (`export data from source` for cutover to target, `export
// data from target` for cutover to source):
// notice the request, write the end marker, stream until the marker is durable in the queue, read the
// capturing side's sequence values, release the slot and publication. Every step is recorded in the
// cutover state machine once durable (cutover-store.ts) and is safe to repeat, so the same command
// resumes after a SIGKILL anywhere:
//
//   INITIATED         write the marker row (idempotent: its id was fixed at the request) -> MARKER_WRITTEN
//   MARKER_WRITTEN    stream; capture ends right after the marker's transaction is committed to the queue
//                     and acknowledged (invariant 2); read the sequence values -> MARKER_QUEUED
//   MARKER_QUEUED     drop the slot and the publication -> CAPTURE_RELEASED
//
// A restart in INITIATED or MARKER_WRITTEN first looks at the queue's last event: when it is the marker,
// the stream will not send it again (it was acknowledged), so the run goes on from MARKER_QUEUED's step.
//
// The sequence values are read here, by the process that holds a connection to the capturing database,
// and handed to the importer through the store (cutover_sequences): `import data to target` then needs
// no source credentials, and the values are read at the one moment known to be after the application's
// last write (the marker is behind it in the stream).

import type { QueueStream } from '../core/change-event.js';
import { StateError, describeError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { SourceSequence } from '../engines/source-catalog.js';
import type { SqlSession } from '../engines/sql-session.js';
import { openQueueReader } from '../capture/queue/segment-reader.js';
import { readSequenceValues } from '../snapshot/export/sequence-values.js';
import { getQueueStreamHead } from '../state/queue-store.js';
import type { MigrationStore } from '../state/store.js';
import { reached, type CutoverDirection, type CutoverEvent } from './cutover-states.js';
import { advanceCutover, readCutover, type CutoverRecord, type CutoverStepData } from './cutover-store.js';
import { ensureMarkerPublished, isEndMarkerRow, MARKER_TABLE, writeEndMarker } from './end-marker.js';
import { cutoverKillPoint } from './kill-points.js';

/** A session on the capturing database and how to end it. */
export interface OpenedSession {
  session: SqlSession;
  close(): Promise<void>;
}

export interface ExportCutoverOptions {
  store: MigrationStore;
  queueDir: string;
  direction: CutoverDirection;
  stream: QueueStream;
  migrationId: string;
  /** The capturing export's publication (the marker table is added to it when missing). */
  publicationName: string;
  /** Every sequence of the migrated schemas on the capturing side (source catalog). */
  sequences: readonly SourceSequence[];
  openSession(): Promise<OpenedSession>;
  /** Drops the capturing export's replication slot and publication (idempotent). */
  releaseCapture(): Promise<void>;
  logger: Logger;
  /** How often a streaming export looks for a request (default 250 ms). */
  pollIntervalMs?: number;
}

/** What the export does next: stream (no cutover, or the marker still to come), or stop (its part is done). */
export type ExportCutoverStart = 'stream' | 'released';

/** The vsn of the queue's last event when it is a marker; undefined otherwise. */
export async function queueEndMarkerVsn(store: MigrationStore, queueDir: string, stream: QueueStream): Promise<number | undefined> {
  const head = getQueueStreamHead(store, stream).lastVsn;
  if (head === 0) return undefined;
  const reader = openQueueReader({ store, queueDir, stream, fromVsn: head });
  try {
    const [last] = await reader.read(1);
    return last?.op === 'marker' ? last.vsn : undefined;
  } finally {
    reader.close();
  }
}

/** The export's side of the cutover; see the file comment. One per export run. */
export class ExportCutover {
  private markerId = '';
  private writing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(private readonly options: ExportCutoverOptions) {}

  /** For runCapture's endMarker option: the marker table, and which of its rows is this cutover's end. */
  readonly endMarker = {
    table: MARKER_TABLE,
    isEnd: (change: Parameters<typeof isEndMarkerRow>[0]): boolean => {
      if (this.markerId === '') this.markerId = this.record().markerId;
      return isEndMarkerRow(change, this.options.migrationId, this.markerId);
    },
  };

  /** The recorded state of this direction. */
  record(): CutoverRecord {
    return readCutover(this.options.store, this.options.direction);
  }

  /** Before streaming: finishes a cutover a killed run left past its marker; says whether to stream. */
  async beforeStreaming(): Promise<ExportCutoverStart> {
    const record = this.record();
    if (record.state === 'NOT_INITIATED') return 'stream';
    if (reached(record.state, 'CAPTURE_RELEASED')) return 'released';
    if (record.state === 'MARKER_QUEUED' || (await queueEndMarkerVsn(this.options.store, this.options.queueDir, this.options.stream)) !== undefined) {
      await this.afterMarker();
      return 'released';
    }
    return 'stream';
  }

  /** While streaming: looks for a request every pollIntervalMs and writes the end marker when there is one. */
  watch(): void {
    this.timer = setInterval(() => {
      if (this.writing !== undefined) return;
      let state;
      try {
        state = this.record().state;
      } catch (error) {
        this.warnOnce(`could not read the cutover state: ${describeError(error)}`);
        return;
      }
      if (state !== 'INITIATED') return;
      this.writing = this.writeMarker()
        .catch((error: unknown) => this.warnOnce(`writing the cutover end marker failed (retrying): ${describeError(error)}`))
        .finally(() => (this.writing = undefined));
    }, this.options.pollIntervalMs ?? 250);
    this.timer.unref();
  }

  /** Stops watching (the stream ended); waits for a marker write in progress. */
  async stopWatching(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.writing;
  }

  /**
   * After the capture ended at the marker (or a restart found it at the queue's end): records
   * MARKER_QUEUED with the marker's vsn and the sequence values, releases the slot and publication,
   * records CAPTURE_RELEASED. Returns the final record.
   */
  async afterMarker(): Promise<CutoverRecord> {
    await this.stopWatching();
    const { store, queueDir, stream, logger } = this.options;
    if (this.record().state === 'INITIATED') this.step('marker-written', { detail: 'the marker row was written before a restart' });
    if (this.record().state === 'MARKER_WRITTEN') {
      const vsn = await queueEndMarkerVsn(store, queueDir, stream);
      if (vsn === undefined) throw new StateError('The change stream ended at the cutover end marker, but the queue does not end with it.');
      // The application stopped writing before the cutover was requested: these are the last values it used.
      const opened = await this.options.openSession();
      let sequences;
      try {
        sequences = await readSequenceValues(opened.session, this.options.sequences, () => new Date(), this.options.direction === 'to-target' ? 'source' : 'target');
      } finally {
        await opened.close();
      }
      this.step('marker-queued', { markerVsn: vsn, sequences, detail: `end marker at vsn ${vsn}; ${sequences.length} sequence value(s) read` });
      logger.info(`cutover: end marker durable in the queue at vsn ${vsn}; ${sequences.length} sequence values recorded`);
    }
    if (this.record().state === 'MARKER_QUEUED') {
      await this.options.releaseCapture();
      cutoverKillPoint('capture-dropped');
      this.step('capture-released', { detail: 'replication slot and publication dropped' });
    }
    return this.record();
  }

  private async writeMarker(): Promise<void> {
    const opened = await this.options.openSession();
    try {
      await ensureMarkerPublished(opened.session, this.options.publicationName);
      cutoverKillPoint('before-marker');
      const record = this.record();
      this.markerId = record.markerId;
      await writeEndMarker(opened.session, this.options.migrationId, record.markerId, this.options.direction);
      cutoverKillPoint('marker-inserted');
    } finally {
      await opened.close();
    }
    if (this.record().state === 'INITIATED') this.step('marker-written', { detail: 'end marker row written' });
    this.options.logger.info('cutover: end marker written; the stream delivers it next');
  }

  private step(event: CutoverEvent, data: CutoverStepData): void {
    const record = advanceCutover(this.options.store, this.options.direction, event, data);
    cutoverKillPoint(record.state);
  }

  private warnOnce(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.options.logger.warn(message);
  }
}
