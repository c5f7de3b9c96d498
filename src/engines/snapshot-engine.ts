// The engine-facing side of the snapshot export, as small interfaces: a snapshot source that takes a
// consistent snapshot and holds it while the chunks are read, and readers that join that snapshot and
// stream COPY output. The offline copy gets its snapshot from pg_export_snapshot(); the live migration
// will get it from CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT, behind the same interface.

import type { Readable } from 'node:stream';
import type { SourceColumn } from './source-catalog.js';
import type { SqlSession } from './sql-session.js';

/** Where the snapshot comes from, recorded with the run (snapshot_runs.kind). */
export type SnapshotKind = 'exported-snapshot' | 'replication-slot';

/** Holds one consistent snapshot open until closed; readers join it by id. */
export interface SnapshotSource {
  /** The id readers pass to `SET TRANSACTION SNAPSHOT`. */
  readonly snapshotId: string;
  readonly kind: SnapshotKind;
  /** A session inside the snapshot (relation sizes, sequence values); the holder itself stays open and idle otherwise. */
  readonly session: SqlSession;
  /** Ends the snapshot; call once every chunk is read (or the export failed). */
  close(): Promise<void>;
}

/**
 * How a snapshot file holds rows: `text` is COPY text format (one row per line), `binary` is COPY
 * binary format without its header and trailer (bare tuples: an int16 field count, then an int32
 * length and the bytes of each field). The engine picks per table; the file name says which.
 */
export type SnapshotFileFormat = 'text' | 'binary';

/** A run of whole rows in a COPY stream, with the CRC-32 (zlib) of its bytes: the unit batches are made of. */
export interface RowSegment {
  rows: number;
  bytes: number;
  crc32: number;
}

/** A segment closes after this many rows or once it holds this many bytes, whichever comes first. */
export interface SegmentLimits {
  rows: number;
  bytes: number;
}

/** One COPY TO STDOUT in progress: the bytes, and the row count from the command tag once it completes. */
export interface CopyOut {
  stream: Readable;
  /** Resolves after the server's CommandComplete; rejects with the stream's error. */
  rowCount: Promise<number>;
  /** Rows the protocol delimited in the stream so far (final once the stream ended): checked against rowCount. */
  framedRows(): number;
  /** The stream cut into segments of whole rows (complete once the stream ended). */
  segments(): readonly RowSegment[];
}

/** A connection whose transaction runs in the shared snapshot; reads chunks one after another. */
export interface SnapshotReader {
  /**
   * Starts `COPY (...) TO STDOUT` in `format` (the SQL says so too); the caller consumes the stream with
   * backpressure. `blankPadded` (per copied column, from the engine's blankPadded) says which fields may
   * lose their trailing spaces on the way.
   */
  copyOut(sql: string, format: SnapshotFileFormat, segments: SegmentLimits, blankPadded?: readonly boolean[]): CopyOut;
  /** Ends the transaction and the connection (a broken connection is closed quietly). */
  close(): Promise<void>;
  /** Drops the connection at once, abandoning a COPY in progress (another reader failed). */
  destroy(): void;
}

/** What the export needs from a source engine. */
export interface SnapshotEngine {
  /** `server_version_num`; ctid page ranges need a TID range scan (PostgreSQL 14+). */
  readonly serverVersionNum: number;
  /** Takes and holds a new snapshot. */
  openSource(): Promise<SnapshotSource>;
  /** The file format for a table copied with these columns (binary where every type allows it). */
  copyFormat(columns: readonly SourceColumn[]): SnapshotFileFormat;
  /**
   * Per column, whether its values may be written without trailing spaces because every value has
   * them only as padding that the target's column restores on input (character(n)).
   */
  blankPadded(columns: readonly SourceColumn[]): boolean[];
  /** Opens a reader that joins the snapshot `snapshotId`. */
  openReader(snapshotId: string): Promise<SnapshotReader>;
  /** Turns a failure of the source while reading into a typed error (ConnectionError when the source went away). */
  describeFailure(error: unknown, what: string): Error;
}
