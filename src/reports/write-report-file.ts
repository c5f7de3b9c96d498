// Every report file is written whole or not at all: through `<file>.partial` and a rename, so a
// reader (or a colleague opening the HTML) never sees half a report, and a crash leaves the earlier one.

import { renameSync, writeFileSync } from 'node:fs';

/** Writes `text` to `file` through `file.partial` and a rename, replacing an earlier file. */
export function writeReportFile(file: string, text: string): void {
  const partial = `${file}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, file);
}
