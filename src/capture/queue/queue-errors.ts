// Typed errors of the change queue. A damaged segment is its own class so that callers (the importer,
// `archive changes`, the fault tests of issue 7) can tell it from other store problems and name the
// file and offset to the user.

import { StateError } from '../../core/errors.js';

/** What a reader or writer found wrong in a segment file. */
export type QueueDamage =
  | 'checksum-mismatch'
  | 'bad-length'
  | 'bad-header'
  | 'unexpected-vsn'
  | 'bad-payload'
  | 'file-too-short'
  | 'file-missing';

/**
 * A committed part of a segment file cannot be trusted: a record whose checksum or length is wrong, a
 * file shorter than its recorded committed size, or a missing file. Its events were already
 * acknowledged to the origin server, so they cannot be streamed again.
 */
export class QueueDamagedError extends StateError {
  /** The segment file's path. */
  readonly file: string;
  /** The byte offset in the file of the record (or header) found damaged. */
  readonly offset: number;
  readonly damage: QueueDamage;

  constructor(file: string, offset: number, damage: QueueDamage, detail: string, options: { cause?: unknown } = {}) {
    super(`The change queue segment ${file} is damaged at byte offset ${offset}: ${detail}.`, {
      ...options,
      hint:
        'The events in it were already acknowledged to the origin database and cannot be streamed again. ' +
        'Restore the export directory (data/queue and metainfo together) from a backup taken while godwit was stopped, ' +
        'or start the data migration again.',
    });
    this.file = file;
    this.offset = offset;
    this.damage = damage;
  }
}

/**
 * A reader needs events that `archive changes` has already moved away or deleted (an importer that
 * was not registered when the segment was archived, or an importer reset by hand).
 */
export class QueueEventsArchivedError extends StateError {
  constructor(stream: string, vsn: number, file: string, state: string) {
    super(`The ${stream} change queue needs the event with vsn ${vsn}, but its segment ${file} was ${state} by \`archive changes\`.`, {
      hint: 'Register every importer before archiving changes, or restore the segment file into data/queue from the archive directory.',
    });
  }
}
