// Splits one exported chunk file into batches of at most `batchSize` rows and about `batchBytes`
// bytes. Text files hold one row per line (embedded newlines escaped as \n); binary files hold bare
// COPY binary tuples, whose field lengths say where each ends. The split depends only on the file and
// the two limits, so a restarted import numbers the batches the same way and can skip those the
// target's bookkeeping already holds. The file is read as a stream (values are never parsed) and its
// checksum is verified on the way.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { BinaryTupleScanner, MalformedTupleError } from '../../core/copy-binary-format.js';
import { StateError } from '../../core/errors.js';
import type { SnapshotFileFormat } from '../../engines/snapshot-engine.js';

/** The two limits of a batch; fixed for a migration at the import's first start. */
export interface BatchLimits {
  batchSize: number;
  batchBytes: number;
}

/** One batch: a byte range [start, end) of a chunk file holding whole rows. */
export interface BatchRange {
  batchNo: number;
  start: number;
  end: number;
  rowCount: number;
  /** 1-based number of the batch's first row in the file, for error messages. */
  firstRow: number;
}

/** What the exporter recorded about the file, checked against what is on disk. */
export interface ExpectedFile {
  path: string;
  /** The name users see (`data/...`). */
  displayName: string;
  format: SnapshotFileFormat;
  rowCount: number | null;
  byteCount: number | null;
  sha256: string | null;
}

const NEWLINE = 0x0a;

/** Finds row ends in a file read in pieces. */
interface RowScanner {
  scan(piece: Buffer, onRowEnd: (end: number) => void): void;
}

const textScanner: RowScanner = {
  scan(piece, onRowEnd) {
    for (let at = piece.indexOf(NEWLINE); at !== -1; at = piece.indexOf(NEWLINE, at + 1)) onRowEnd(at + 1);
  },
};

/** Reads the file once and returns its batches; throws StateError when it does not match the export's record. */
export async function planBatches(file: ExpectedFile, limits: BatchLimits, signal?: AbortSignal): Promise<BatchRange[]> {
  const size = (await stat(file.path).catch((error: unknown) => {
    throw new StateError(`The snapshot file ${file.displayName} recorded as exported cannot be read: ${String(error)}`, {
      hint: 'The export directory was changed by hand. Run `godwit export data from source --start-clean` to export the snapshot again.',
    });
  })).size;
  if (file.byteCount !== null && size !== file.byteCount) {
    throw damaged(file, `it has ${size} bytes, the export wrote ${file.byteCount}`);
  }
  const batches: BatchRange[] = [];
  const hash = createHash('sha256');
  let batchStart = 0;
  let batchRows = 0;
  let rowsSeen = 0;
  let offset = 0;
  let lastLineEnd = 0;
  const close = (end: number): void => {
    batches.push({ batchNo: batches.length + 1, start: batchStart, end, rowCount: batchRows, firstRow: rowsSeen - batchRows + 1 });
    batchStart = end;
    batchRows = 0;
  };
  const scanner: RowScanner = file.format === 'binary' ? new BinaryTupleScanner() : textScanner;
  const onRowEnd = (end: number): void => {
    const lineEnd = offset + end;
    lastLineEnd = lineEnd;
    batchRows++;
    rowsSeen++;
    if (batchRows >= limits.batchSize || lineEnd - batchStart >= limits.batchBytes) close(lineEnd);
  };
  const stream = createReadStream(file.path, { highWaterMark: 1 << 20 });
  for await (const piece of stream as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    hash.update(piece);
    try {
      scanner.scan(piece, onRowEnd);
    } catch (error) {
      if (error instanceof MalformedTupleError) throw damaged(file, error.message);
      throw error;
    }
    offset += piece.length;
  }
  if (offset !== lastLineEnd) {
    // Every row ends with a newline (text) or where its field lengths say (binary); a tail that does not is a torn file.
    throw damaged(file, `its last ${offset - lastLineEnd} bytes are not a complete row`);
  }
  if (batchRows > 0) close(offset);
  if (file.rowCount !== null && rowsSeen !== file.rowCount) throw damaged(file, `it has ${rowsSeen} rows, the export wrote ${file.rowCount}`);
  const digest = hash.digest('hex');
  if (file.sha256 !== null && digest !== file.sha256) throw damaged(file, `its SHA-256 is ${digest}, the export recorded ${file.sha256}`);
  return batches;
}

function damaged(file: ExpectedFile, why: string): StateError {
  return new StateError(`The snapshot file ${file.displayName} does not match what the export recorded: ${why}.`, {
    hint: 'The file was changed or damaged after the export. Run `godwit export data from source --start-clean` to export the snapshot again.',
  });
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
