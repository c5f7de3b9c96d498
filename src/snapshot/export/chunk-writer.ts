// Writes one chunk file durably: COPY bytes stream into `<file>.partial` (memory bounded by stream
// backpressure) while the COPY reader cuts them into checksummed segments of whole rows; the row
// index (chunk-index.ts) is written and fsynced, then the data file is fsynced, both are renamed into
// place and their directory fsynced. Only then may the chunk be recorded as exported (with the
// index's SHA-256), so a recorded chunk always has a complete file and index, and a crash leaves at
// most .partial files (or unrecorded ones) that the next run deletes.

import { mkdir, open, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopyOut, SnapshotFileFormat } from '../../engines/snapshot-engine.js';
import { INDEX_SUFFIX, encodeChunkIndex } from '../chunk-index.js';
import { SyncFileWriter } from './sync-file-writer.js';

/** Suffix of a chunk file being written. */
export const PARTIAL_SUFFIX = '.partial';

/** What was written. */
export interface WrittenChunk {
  rowCount: number;
  byteCount: number;
  /** SHA-256 of the row index file. */
  sha256: string;
}

/** Counts bytes and reports progress (rows as the COPY reader delimited them) as data passes. */
class Tally extends Transform {
  bytes = 0;
  rows = 0;

  constructor(
    private readonly onData: (bytes: number, rows: number) => void,
    private readonly framedRows: () => number,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const rows = this.framedRows() - this.rows;
    this.bytes += chunk.length;
    this.rows += rows;
    this.onData(chunk.length, rows);
    callback(null, chunk);
  }
}

/**
 * Starts the COPY and streams it into `dataDir/file` durably, with its row index, and returns the COPY
 * command tag's row count with the byte count and the index's SHA-256. `onData` reports progress.
 */
export async function writeChunkFile(
  dataDir: string,
  file: string,
  format: SnapshotFileFormat,
  startCopy: () => CopyOut,
  onData: (bytes: number, rows: number) => void,
): Promise<WrittenChunk> {
  const path = join(dataDir, file);
  const partial = `${path}${PARTIAL_SUFFIX}`;
  const indexPath = `${path}${INDEX_SUFFIX}`;
  await mkdir(dirname(path), { recursive: true });
  const output = new SyncFileWriter(partial);
  // Started only now, right before the pipeline listens: an error it reports at once must not go unheard.
  let copy: CopyOut;
  try {
    copy = startCopy();
  } catch (error) {
    output.destroy();
    throw error;
  }
  const tally = new Tally(onData, copy.framedRows);
  try {
    await pipeline(copy.stream, tally, output);
  } catch (error) {
    copy.stream.destroy();
    throw error;
  }
  const rowCount = await copy.rowCount;
  const { index, bytes: indexBytes, sha256 } = encodeChunkIndex(format, copy.segments());
  if (rowCount !== copy.framedRows() || index.rows !== rowCount || index.bytes !== tally.bytes) {
    throw new Error(`chunk ${file}: the COPY command reported ${rowCount} rows; ${copy.framedRows()} rows and ${tally.bytes} bytes arrived, the index counts ${index.rows} and ${index.bytes}`);
  }
  await writeFile(`${indexPath}${PARTIAL_SUFFIX}`, indexBytes);
  await fsyncPath(`${indexPath}${PARTIAL_SUFFIX}`, 'r+');
  await fsyncPath(partial, 'r+');
  await rename(`${indexPath}${PARTIAL_SUFFIX}`, indexPath);
  await rename(partial, path);
  await fsyncPath(dirname(path), 'r');
  return { rowCount, byteCount: tally.bytes, sha256 };
}

async function fsyncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Deletes `.partial` files an interrupted run left under `dataDir` (the change queue is not touched); returns their paths. */
export async function removePartialFiles(dataDir: string, skip: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!skip.includes(path)) await walk(path);
      } else if (entry.name.endsWith(PARTIAL_SUFFIX)) {
        await rm(path, { force: true });
        removed.push(path);
      }
    }
  };
  await walk(dataDir);
  return removed;
}

/** Deletes a chunk file and its index that exist without being recorded (the run died between rename and record). */
export async function removeChunkFile(dataDir: string, file: string): Promise<void> {
  await rm(join(dataDir, file), { force: true });
  await rm(join(dataDir, `${file}${INDEX_SUFFIX}`), { force: true });
}
