// The export directory (DESIGN.md section 3): one folder that holds everything a migration knows, so
// any process can be killed and restarted with the same command. This module owns its layout: every
// other module gets paths from an ExportDir instead of joining layout names itself.

import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { StateError, describeError } from '../core/errors.js';
import { openStore, type OpenStoreOptions } from './store.js';

/** Command names become file names (logs, locks): keep them to a safe kebab-case alphabet. */
const COMMAND_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** The paths of one export directory. Directories end in `Dir`, files in `File`. */
export interface ExportDir {
  readonly root: string;
  readonly schemaDir: string;
  readonly reportsDir: string;
  readonly assessmentDir: string;
  readonly assessmentReportsDir: string;
  readonly assessmentMetadataDir: string;
  readonly logsDir: string;
  readonly dataDir: string;
  readonly queueDir: string;
  readonly metainfoDir: string;
  readonly locksDir: string;
  readonly tempDir: string;
  /** The SQLite migration store; its presence marks a directory as a godwit export directory. */
  readonly storeFile: string;
  /** The raw pg_dump output that `export schema` splits into schema/. */
  readonly schemaDumpFile: string;
  /** `logs/<command>.log`. */
  logFile(command: string): string;
  /** `metainfo/locks/<command>.lock`: who holds the command's lock (JSON, informational). */
  lockInfoFile(command: string): string;
  /** `metainfo/locks/<command>.lock.db`: the file whose OS-level lock is the command's lock. */
  lockDbFile(command: string): string;
}

/** Every directory of the layout, parents before children, as paths relative to the root. */
export const LAYOUT_DIRECTORIES: readonly string[] = [
  'metainfo',
  'metainfo/locks',
  'schema',
  'reports',
  'assessment',
  'assessment/reports',
  'assessment/metadata',
  'logs',
  'data',
  'data/queue',
  'temp',
];

/** Checks a command name before it becomes part of a file name. */
export function assertCommandName(command: string): void {
  if (!COMMAND_NAME.test(command)) {
    throw new StateError(`"${command}" is not a valid command name for a log or lock file (use lower-case words joined by "-").`);
  }
}

/** The layout under `root`, computed without touching the file system. */
export function exportDirLayout(root: string): ExportDir {
  const abs = resolve(root);
  const metainfoDir = join(abs, 'metainfo');
  const locksDir = join(metainfoDir, 'locks');
  const logsDir = join(abs, 'logs');
  const tempDir = join(abs, 'temp');
  return Object.freeze({
    root: abs,
    schemaDir: join(abs, 'schema'),
    reportsDir: join(abs, 'reports'),
    assessmentDir: join(abs, 'assessment'),
    assessmentReportsDir: join(abs, 'assessment', 'reports'),
    assessmentMetadataDir: join(abs, 'assessment', 'metadata'),
    logsDir,
    dataDir: join(abs, 'data'),
    queueDir: join(abs, 'data', 'queue'),
    metainfoDir,
    locksDir,
    tempDir,
    storeFile: join(metainfoDir, 'godwit.db'),
    schemaDumpFile: join(tempDir, 'schema.sql'),
    logFile(command: string): string {
      assertCommandName(command);
      return join(logsDir, `${command}.log`);
    },
    lockInfoFile(command: string): string {
      assertCommandName(command);
      return join(locksDir, `${command}.lock`);
    },
    lockDbFile(command: string): string {
      assertCommandName(command);
      return join(locksDir, `${command}.lock.db`);
    },
  });
}

export interface OpenExportDirOptions {
  /** False for commands that only read a migration (status, reports): a missing directory is an error. */
  create?: boolean;
  /** Passed to the store that is created or upgraded on open. */
  store?: OpenStoreOptions;
}

/**
 * Validates `path` as the export directory of a command, creates it and its layout when needed, and
 * creates or upgrades its migration store, so that every command starts from a usable directory.
 */
export function openExportDir(path: string, options: OpenExportDirOptions = {}): ExportDir {
  const dir = exportDirLayout(path);
  const stats = statOrUndefined(dir.root);
  if (stats === undefined) {
    if (options.create === false) {
      throw new StateError(`The export directory ${dir.root} does not exist.`, {
        hint: 'Check --export-dir: it must name the directory the earlier commands of this migration used.',
      });
    }
    createRoot(dir.root);
  } else if (!stats.isDirectory()) {
    throw new StateError(`The export directory ${dir.root} is a file, not a directory.`, {
      hint: 'Choose an empty directory (or a new path) for --export-dir.',
    });
  } else if (!isGodwitExportDir(dir)) {
    if (options.create === false) {
      throw new StateError(`${dir.root} is not a godwit export directory (it has no metainfo/godwit.db).`, {
        hint: 'Check --export-dir: it must name the directory the earlier commands of this migration used.',
      });
    }
    if (!isEmptyOrBareLayout(dir.root)) {
      throw new StateError(`The export directory ${dir.root} is not empty and is not a godwit export directory.`, {
        hint: 'Choose an empty directory (or a new path) for --export-dir; godwit does not write into a directory that holds other files.',
      });
    }
  }
  assertWritable(dir.root);
  for (const relative of LAYOUT_DIRECTORIES) mkdirSync(join(dir.root, relative), { recursive: true });
  openStore(dir.storeFile, options.store).close();
  return dir;
}

/** True when `dir` holds a migration store, i.e. some godwit command created it. */
export function isGodwitExportDir(dir: ExportDir): boolean {
  return statOrUndefined(dir.storeFile)?.isFile() === true;
}

/** Recreates any layout directory that is missing (after --start-clean or a manual cleanup). */
export function ensureLayout(dir: ExportDir): void {
  for (const relative of LAYOUT_DIRECTORIES) mkdirSync(join(dir.root, relative), { recursive: true });
}

function createRoot(root: string): void {
  const parent = dirname(root);
  const parentStats = statOrUndefined(parent);
  if (parentStats === undefined) {
    throw new StateError(`The parent directory of the export directory does not exist: ${parent}`, {
      hint: `Create ${parent} first, or choose another --export-dir.`,
    });
  }
  if (!parentStats.isDirectory()) {
    throw new StateError(`The parent of the export directory is not a directory: ${parent}`, {
      hint: 'Choose another --export-dir.',
    });
  }
  try {
    mkdirSync(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new StateError(`Cannot create the export directory ${root}: ${describeError(error)}`, {
      cause: error,
      hint: `Check that you can write in ${parent}, or choose another --export-dir.`,
    });
  }
}

/** Empty, or only the empty directories of our own layout (a creation that was interrupted). */
function isEmptyOrBareLayout(root: string): boolean {
  const layout = new Set(LAYOUT_DIRECTORIES);
  const check = (relative: string): boolean => {
    const entries = readdirSync(join(root, relative), { withFileTypes: true });
    return entries.every((entry) => {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      return entry.isDirectory() && layout.has(child) && check(child);
    });
  };
  return check('');
}

function assertWritable(root: string): void {
  const probe = join(root, `.godwit-write-probe-${process.pid}`);
  try {
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (error) {
    throw new StateError(`Cannot write in the export directory ${root}: ${describeError(error)}`, {
      cause: error,
      hint: 'Fix the directory permissions, or choose another --export-dir.',
    });
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new StateError(`Cannot inspect ${path}: ${describeError(error)}`, { cause: error });
  }
}
