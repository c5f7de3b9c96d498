// The row index of a chunk file: `<file>.index.json`, written by the export next to the data and
// made durable before the chunk is recorded. It cuts the file into segments of whole rows (at most
// SEGMENT_ROWS rows or SEGMENT_BYTES bytes each) with the CRC-32 of each, so the import can form its
// batches from whole segments without reading the data first, and verify every batch's bytes while
// they stream to the target, before its COMMIT. The store records the SHA-256 of the index, so the
// index itself is checked before it is trusted.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StateError } from '../core/errors.js';
import type { RowSegment, SegmentLimits, SnapshotFileFormat } from '../engines/snapshot-engine.js';

/** Default segment size: small enough for fine batches, large enough that the index stays a few kB per chunk. */
export const DEFAULT_SEGMENT_LIMITS: SegmentLimits = { rows: 1000, bytes: 1 << 20 };

/** Suffix of a chunk's index file. */
export const INDEX_SUFFIX = '.index.json';

/** What the index file holds. */
export interface ChunkIndex {
  version: 1;
  format: SnapshotFileFormat;
  rows: number;
  bytes: number;
  /** [rows, bytes, crc32] per segment, in file order. */
  segments: [number, number, number][];
}

/** The index of a chunk made of `segments`, and the exact bytes to write (their SHA-256 goes to the store). */
export function encodeChunkIndex(format: SnapshotFileFormat, segments: readonly RowSegment[]): { index: ChunkIndex; bytes: Buffer; sha256: string } {
  const index: ChunkIndex = {
    version: 1,
    format,
    rows: segments.reduce((n, s) => n + s.rows, 0),
    bytes: segments.reduce((n, s) => n + s.bytes, 0),
    segments: segments.map((s) => [s.rows, s.bytes, s.crc32]),
  };
  const bytes = Buffer.from(`${JSON.stringify(index)}\n`);
  return { index, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** What the store recorded about a chunk, to check its index and data file against. */
export interface RecordedChunkFile {
  /** The data file's path, and how users see it (`data/...`). */
  path: string;
  displayName: string;
  rowCount: number | null;
  byteCount: number | null;
  /** SHA-256 of the index file. */
  sha256: string | null;
}

/** Reads and checks a chunk's index: its SHA-256, and its totals against the store's record. */
export async function readChunkIndex(file: RecordedChunkFile): Promise<ChunkIndex> {
  const indexPath = `${file.path}${INDEX_SUFFIX}`;
  const bytes = await readFile(indexPath).catch((error: unknown) => {
    throw new StateError(`The row index of the snapshot file ${file.displayName} cannot be read: ${String(error)}`, {
      hint: 'The export directory was changed by hand. Run `godwit export data from source --start-clean` to export the snapshot again.',
    });
  });
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (file.sha256 !== null && digest !== file.sha256) throw damagedChunk(file, `its row index has SHA-256 ${digest}, the export recorded ${file.sha256}`);
  let index: ChunkIndex;
  try {
    index = JSON.parse(bytes.toString('utf8')) as ChunkIndex;
  } catch (error) {
    throw damagedChunk(file, `its row index is not JSON (${String(error)})`);
  }
  if (index.version !== 1 || !Array.isArray(index.segments)) throw damagedChunk(file, 'its row index has an unknown layout');
  if (file.rowCount !== null && index.rows !== file.rowCount) throw damagedChunk(file, `its row index counts ${index.rows} rows, the export recorded ${file.rowCount}`);
  if (file.byteCount !== null && index.bytes !== file.byteCount) throw damagedChunk(file, `its row index counts ${index.bytes} bytes, the export recorded ${file.byteCount}`);
  return index;
}

/** The error for a chunk file (or its index) that does not match what the export recorded. */
export function damagedChunk(file: { displayName: string }, why: string): StateError {
  return new StateError(`The snapshot file ${file.displayName} does not match what the export recorded: ${why}.`, {
    hint: 'The file was changed or damaged after the export. Run `godwit export data from source --start-clean` to export the snapshot again.',
  });
}
