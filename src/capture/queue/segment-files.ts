// File-system steps the queue writer and reader share: durable syncs, positional writes and reads that
// loop until done, and the first check of a segment file. Errors become typed errors naming the file.

import { closeSync, fdatasync, fsync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { StateError, describeError } from '../../core/errors.js';
import { QueueDamagedError } from './queue-errors.js';
import { SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_SIZE, checkSegmentHeader, segmentVersion } from './segment-format.js';

const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);

/** Makes a file's written bytes (and its size) durable without blocking the event loop. */
export async function syncFileData(fd: number, path: string): Promise<void> {
  try {
    await fdatasyncAsync(fd);
  } catch (error) {
    throw queueIoError('make durable', path, error);
  }
}

/** Makes a directory's entries (a new segment file's name) durable. */
export async function syncDirectory(path: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'r');
    await fsyncAsync(handle.fd);
  } catch (error) {
    throw queueIoError('make durable', path, error);
  } finally {
    await handle?.close();
  }
}

/** The blocking form of {@link syncDirectory}, for repairs at open time. */
export function syncDirectorySync(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    fsyncSync(fd);
  } catch (error) {
    throw queueIoError('make durable', path, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `length` bytes of `source` at `position` of `fd`, looping over short writes. */
export function writeFully(fd: number, path: string, source: Buffer, length: number, position: number): void {
  let done = 0;
  try {
    while (done < length) done += writeSync(fd, source, done, length - done, position + done);
  } catch (error) {
    throw queueIoError('write to', path, error);
  }
}

/** Reads up to `length` bytes at `position` into `target` at `targetOffset`; returns how many (fewer only at end of file). */
export function readFully(fd: number, path: string, target: Buffer, targetOffset: number, length: number, position: number): number {
  let done = 0;
  try {
    while (done < length) {
      const n = readSync(fd, target, targetOffset + done, length - done, position + done);
      if (n === 0) break;
      done += n;
    }
  } catch (error) {
    throw queueIoError('read', path, error);
  }
  return done;
}

/**
 * Checks that a segment file starts with the header of `segmentNo` and holds at least `committedSize`
 * bytes; returns the segment's format version (the current one for a file without committed bytes).
 */
export function checkSegmentFile(fd: number, path: string, segmentNo: number, fileSize: number, committedSize: number): number {
  if (fileSize < committedSize) {
    throw new QueueDamagedError(path, fileSize, 'file-too-short', `the file ends at byte ${fileSize}, but the store records ${committedSize} committed bytes`);
  }
  if (committedSize === 0) return SEGMENT_FORMAT_VERSION;
  const header = Buffer.alloc(SEGMENT_HEADER_SIZE);
  const read = readFully(fd, path, header, 0, SEGMENT_HEADER_SIZE, 0);
  const problem = read < SEGMENT_HEADER_SIZE ? 'the header is cut short' : checkSegmentHeader(header, segmentNo);
  if (problem !== undefined) throw new QueueDamagedError(path, 0, 'bad-header', problem);
  return segmentVersion(header);
}

/** An I/O failure on a queue file, with the file and the system's reason (ENOSPC and friends). */
export function queueIoError(action: string, path: string, error: unknown): StateError {
  if (error instanceof StateError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOSPC'
      ? 'The file system of the export directory is full: free space (for example with `godwit archive changes`) and run the same command again.'
      : 'Check the export directory\'s file system, then run the same command again: it resumes from the last durable commit.';
  return new StateError(`Cannot ${action} the change queue file ${path}: ${describeError(error)}`, { cause: error, hint });
}
