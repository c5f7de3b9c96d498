// Checks of --archive-dir before anything is moved: it must exist and be a directory, and it must not
// be inside the export directory (archiving there frees nothing and mixes copies with live files).

import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { UsageError } from '../../core/errors.js';

/** The archive directory's real path; throws a UsageError naming what is wrong. */
export function checkArchiveDir(exportRoot: string, archiveDir: string): string {
  const given = resolve(archiveDir);
  let stats;
  try {
    stats = statSync(given);
  } catch {
    throw new UsageError(`--archive-dir ${given} does not exist.`, {
      hint: 'Create it first (on another file system than the export directory, or archiving frees no space).',
    });
  }
  if (!stats.isDirectory()) throw new UsageError(`--archive-dir ${given} is not a directory.`);
  const real = realpathSync(given);
  const root = realpathSync(exportRoot);
  const inside = relative(root, real);
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new UsageError(`--archive-dir ${given} is inside the export directory ${root}.`, {
      hint: 'Choose a directory outside the export directory, preferably on another file system: archived segments must free space there.',
    });
  }
  return real;
}

/** Whether two existing paths are on the same file system (then archiving frees no space there). */
export function sameFileSystem(a: string, b: string): boolean {
  return statSync(a).dev === statSync(b).dev;
}
