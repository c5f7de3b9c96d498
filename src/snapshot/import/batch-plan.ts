// Splits one exported chunk file into batches from its row index (chunk-index.ts): whole segments
// are grouped until a batch holds at least `batchSize` rows or `batchBytes` bytes, so a batch is at
// most one segment (1000 rows or 1 MB by default) larger than asked. The split depends only on the
// index and the two limits, so a restarted import numbers the batches the same way and can skip those
// the target's bookkeeping already holds. Nothing of the data is read here: each batch carries the
// CRC-32 of its segments, and the load checks them as the bytes stream to the target (batch-reader.ts).

import { stat } from 'node:fs/promises';
import { StateError } from '../../core/errors.js';
import { damagedChunk, readChunkIndex, type RecordedChunkFile } from '../chunk-index.js';

/** The two limits of a batch; fixed for a migration at the import's first start. */
export interface BatchLimits {
  batchSize: number;
  batchBytes: number;
}

/** One batch: a byte range [start, end) of a chunk file holding whole rows, and its segments' sizes and CRCs. */
export interface BatchRange {
  batchNo: number;
  start: number;
  end: number;
  rowCount: number;
  /** 1-based number of the batch's first row in the file, for error messages. */
  firstRow: number;
  /** [bytes, crc32] of each segment of the batch, in order. */
  segments: [number, number][];
}

/** Reads the chunk's index, checks it and the data file's size against the export's record, and returns the batches. */
export async function planBatches(file: RecordedChunkFile, limits: BatchLimits): Promise<BatchRange[]> {
  const index = await readChunkIndex(file);
  const size = (await stat(file.path).catch((error: unknown) => {
    throw new StateError(`The snapshot file ${file.displayName} recorded as exported cannot be read: ${String(error)}`, {
      hint: 'The export directory was changed by hand. Run `godwit export data from source --start-clean` to export the snapshot again.',
    });
  })).size;
  if (size !== index.bytes) throw damagedChunk(file, `it has ${size} bytes, its row index counts ${index.bytes}`);
  const batches: BatchRange[] = [];
  let current: BatchRange | undefined;
  let offset = 0;
  let rowsSeen = 0;
  for (const [rows, bytes, crc] of index.segments) {
    current ??= { batchNo: batches.length + 1, start: offset, end: offset, rowCount: 0, firstRow: rowsSeen + 1, segments: [] };
    current.end += bytes;
    current.rowCount += rows;
    current.segments.push([bytes, crc]);
    offset += bytes;
    rowsSeen += rows;
    if (current.rowCount >= limits.batchSize || current.end - current.start >= limits.batchBytes) {
      batches.push(current);
      current = undefined;
    }
  }
  if (current !== undefined) batches.push(current);
  return batches;
}

/** The id of a batch in godwit_metadata.imported_batches: stable for a chunk and batch number. */
export function batchId(chunkId: string, batchNo: number): string {
  return `${chunkId}#${batchNo}`;
}

/** Inverse of batchId, for refreshing the store's copy from the target; undefined for foreign ids. */
export function parseBatchId(id: string): { chunkId: string; batchNo: number } | undefined {
  const at = id.lastIndexOf('#');
  if (at <= 0) return undefined;
  const batchNo = Number(id.slice(at + 1));
  return Number.isInteger(batchNo) && batchNo > 0 ? { chunkId: id.slice(0, at), batchNo } : undefined;
}
