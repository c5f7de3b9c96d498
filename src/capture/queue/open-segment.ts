// A segment file the writer holds open, and the steps of its life that touch the file system beyond
// appending: creating it, continuing the newest recorded one after a restart (checking it and cutting
// off what was never committed), and deleting files a crash left before the store recorded them.

import { closeSync, fstatSync, ftruncateSync, openSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { QueueStream } from '../../core/change-event.js';
import type { QueueSegment } from '../../state/queue-store.js';
import { QueueDamagedError } from './queue-errors.js';
import { checkSegmentFile, queueIoError, syncDirectorySync } from './segment-files.js';
import { SEGMENT_FORMAT_VERSION, SEGMENT_HEADER_SIZE, parseSegmentFileName, segmentFileName } from './segment-format.js';

/** The state of a segment at one transaction end: what a commit records. */
export interface Boundary {
  size: number;
  events: number;
  firstVsn: number | null;
  lastVsn: number | null;
  endLsn: string | null;
}

/** A segment file open for appending, with its written, appended and committed state. */
export interface OpenSegment {
  segmentNo: number;
  fileName: string;
  path: string;
  fd: number;
  /** Bytes in the file. */
  written: number;
  /** Bytes in the file plus those of this segment still in the writer's buffer. */
  size: number;
  events: number;
  firstVsn: number | null;
  lastVsn: number | null;
  /** The last transaction end in this segment. */
  boundary: Boundary;
  /** The boundary the store holds. */
  recordedBoundary: Boundary;
  /** The writer moved on: the boundary is final and must be recorded as closed. */
  rotated: boolean;
  /** Created by this writer: its directory entry must be fsynced before it is first recorded. */
  needsDirSync: boolean;
  /** The segment's format version (segment-format.ts); the writer appends only to the current one. */
  version: number;
}

/** Creates the (empty) file of a new segment; the writer puts the header in front of its first bytes. */
export function createSegmentFile(queueDir: string, stream: QueueStream, segmentNo: number): OpenSegment {
  const fileName = segmentFileName(stream, segmentNo);
  const path = join(queueDir, fileName);
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (error) {
    throw queueIoError('create', path, error);
  }
  const empty: Boundary = { size: SEGMENT_HEADER_SIZE, events: 0, firstVsn: null, lastVsn: null, endLsn: null };
  return {
    segmentNo,
    fileName,
    path,
    fd,
    written: 0,
    size: SEGMENT_HEADER_SIZE,
    events: 0,
    firstVsn: null,
    lastVsn: null,
    boundary: empty,
    recordedBoundary: empty,
    rotated: false,
    needsDirSync: true,
    version: SEGMENT_FORMAT_VERSION,
  };
}

/**
 * Opens the newest recorded segment to continue it: checks its header and that it holds its committed
 * bytes, and cuts off the bytes past them (an append that was never committed). The cut becomes
 * durable with the next commit's fdatasync; a crash before it only leaves bytes to cut again.
 */
export function reopenSegmentFile(queueDir: string, recorded: QueueSegment): OpenSegment {
  const path = join(queueDir, recorded.fileName);
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new QueueDamagedError(path, 0, 'file-missing', `the file is missing, but the store records ${recorded.committedSize} committed bytes in it`);
    }
    throw queueIoError('open', path, error);
  }
  let version: number;
  try {
    const fileSize = fstatSync(fd).size;
    version = checkSegmentFile(fd, path, recorded.segmentNo, fileSize, recorded.committedSize);
    if (fileSize > recorded.committedSize) ftruncateSync(fd, recorded.committedSize);
  } catch (error) {
    closeSync(fd);
    throw queueIoError('repair', path, error);
  }
  const boundary: Boundary = {
    size: recorded.committedSize,
    events: recorded.eventCount,
    firstVsn: recorded.firstVsn,
    lastVsn: recorded.lastVsn,
    endLsn: recorded.lastEndLsn,
  };
  return {
    segmentNo: recorded.segmentNo,
    fileName: recorded.fileName,
    path,
    fd,
    written: recorded.committedSize,
    size: recorded.committedSize,
    events: recorded.eventCount,
    firstVsn: recorded.firstVsn,
    lastVsn: recorded.lastVsn,
    boundary,
    recordedBoundary: boundary,
    rotated: false,
    needsDirSync: false,
    version,
  };
}

/** Deletes the files of `stream` numbered past the newest recorded segment: created, never committed. */
export function removeUnrecordedSegmentFiles(queueDir: string, stream: QueueStream, lastRecordedNo: number): void {
  let removed = false;
  for (const name of readdirSync(queueDir)) {
    const segmentNo = parseSegmentFileName(stream, name);
    if (segmentNo !== undefined && segmentNo > lastRecordedNo) {
      rmSync(join(queueDir, name), { force: true });
      removed = true;
    }
  }
  if (removed) syncDirectorySync(queueDir);
}
