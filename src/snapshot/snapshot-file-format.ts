// The format of a snapshot file is part of its name, so the plan recorded in the store, a resumed
// export and the import all agree on it without another column, and a DBA looking at data/ sees it:
// `.copy` is COPY text format, `.copybin` bare COPY binary tuples (see SnapshotFileFormat).

import type { SnapshotFileFormat } from '../engines/snapshot-engine.js';

const SUFFIXES: Record<SnapshotFileFormat, string> = { text: '.copy', binary: '.copybin' };

/** The file name of a chunk: `base` plus the suffix of its format. */
export function snapshotFileName(base: string, format: SnapshotFileFormat): string {
  return `${base}${SUFFIXES[format]}`;
}

/** The format of a chunk file, from its name. */
export function snapshotFileFormat(file: string): SnapshotFileFormat {
  return file.endsWith(SUFFIXES.binary) ? 'binary' : 'text';
}
