// Writes one chunk file durably: COPY bytes stream into `<file>.partial` (sha256 and byte count
// computed on the way, memory bounded by stream backpressure), the file is fsynced, renamed into place
// and its directory fsynced. Only then may the chunk be recorded as exported, so a recorded chunk is
// always a complete file, and a crash leaves at most a .partial file that the next run deletes.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CopyOut, SnapshotFileFormat } from '../../engines/snapshot-engine.js';

/** Suffix of a chunk file being written. */
export const PARTIAL_SUFFIX = '.partial';

/** What was written. */
export interface WrittenChunk {
  rowCount: number;
  byteCount: number;
  sha256: string;
}

/**
 * Counts bytes and rows and hashes as data passes. In text format a row ends with a newline, counted
 * here independently of the protocol; binary tuples are counted by the protocol (`framedRows`).
 */
class Tally extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  rows = 0;

  constructor(
    private readonly onData: (bytes: number, rows: number) => void,
    private readonly framedRows: (() => number) | undefined,
  ) {
    super({ highWaterMark: 1 << 20 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    let rows = 0;
    if (this.framedRows === undefined) {
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++;
    } else {
      rows = Math.max(this.framedRows() - this.rows, 0);
    }
    this.bytes += chunk.length;
    this.rows += rows;
    this.onData(chunk.length, rows);
    callback(null, chunk);
  }
}

/**
 * Starts the COPY and streams it into `dataDir/file` durably and returns the COPY command tag's row count with the
 * byte count and sha256. `onData` reports progress as bytes arrive.
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
  await mkdir(dirname(path), { recursive: true });
  // Started only now, right before the pipeline listens: an error it reports at once must not go unheard.
  const copy = startCopy();
  const tally = new Tally(onData, format === 'binary' ? copy.framedRows : undefined);
  try {
    await pipeline(copy.stream, tally, createWriteStream(partial, { highWaterMark: 1 << 20 }));
  } catch (error) {
    copy.stream.destroy();
    throw error;
  }
  const rowCount = await copy.rowCount;
  if (rowCount !== copy.framedRows() || (format === 'text' && rowCount !== tally.rows)) {
    throw new Error(`chunk ${file}: the COPY command reported ${rowCount} rows but ${copy.framedRows()} rows arrived (${tally.rows} counted in the file)`);
  }
  await fsyncPath(partial, 'r+');
  await rename(partial, path);
  await fsyncPath(dirname(path), 'r');
  return { rowCount, byteCount: tally.bytes, sha256: tally.hash.digest('hex') };
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

/** Deletes a chunk file that exists without being recorded (the run died between rename and record). */
export async function removeChunkFile(dataDir: string, file: string): Promise<void> {
  await rm(join(dataDir, file), { force: true });
}
