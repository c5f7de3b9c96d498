// --start-clean: a command starts over by discarding what its earlier runs left in the export
// directory and resetting its phases in the store. Split into a plan (read-only: what would go, so the
// CLI can show it and ask) and an effect (remove it), which refuses to run while another process holds
// the command's lock.

import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { UsageError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { LAYOUT_DIRECTORIES, ensureLayout, type ExportDir } from './export-dir.js';
import { acquireCommandLock, heldByThisProcess, type CommandLock } from './lock.js';
import type { MigrationStore } from './store.js';

/** Something a command owns in the export directory. */
export type OwnedPath =
  /** Everything inside a directory; layout directories inside it are kept (emptied, not removed). */
  | { kind: 'contents'; dir: string }
  /** One file or directory. */
  | { kind: 'path'; path: string }
  /** The entries of `dir` whose names start with `prefix`. */
  | { kind: 'prefixed'; dir: string; prefix: string };

/** What one command owns: export-dir paths, store phases, and (added by later issues) store rows. */
export interface CleanScope {
  owned(dir: ExportDir): OwnedPath[];
  phases: readonly string[];
  /** Clears the command's own store rows (per-table progress, segments, ...) inside the reset transaction. */
  resetStore?(store: MigrationStore): void;
}

/** Which commands support --start-clean and what each owns; later issues add their commands here. */
export const START_CLEAN_SCOPES: Readonly<Record<string, CleanScope>> = {
  'assess-migration': {
    owned: (dir) => [{ kind: 'contents', dir: dir.assessmentDir }],
    phases: ['assess-migration'],
  },
  'export-schema': {
    owned: (dir) => [
      { kind: 'contents', dir: dir.schemaDir },
      { kind: 'path', path: dir.schemaDumpFile },
    ],
    phases: ['export-schema'],
  },
  'analyze-schema': {
    owned: (dir) => [{ kind: 'prefixed', dir: dir.reportsDir, prefix: 'schema_analysis_report.' }],
    phases: ['analyze-schema'],
  },
  'export-data-from-source': {
    // Snapshot files and the change queue (data/queue is emptied, not removed).
    owned: (dir) => [{ kind: 'contents', dir: dir.dataDir }],
    phases: ['export-data-from-source'],
    // The snapshot plan, runs, chunks and sequence values go with the files; the import's copies of
    // batches refer to the old chunks (foreign keys), so they go too: the import must start clean as well.
    resetStore(store) {
      store.db.exec(`
        DELETE FROM snapshot_import_batches;
        DELETE FROM snapshot_import_settings;
        DELETE FROM snapshot_chunks;
        DELETE FROM snapshot_tables;
        DELETE FROM snapshot_runs;
        DELETE FROM snapshot_sequences;
      `);
      // The change queue's files go with data/queue, so its bookkeeping goes too, and with it the
      // record of the live export (the command itself drops the slot and publication on the source).
      store.db.exec(`
        DELETE FROM queue_importers WHERE stream = 'source-to-target';
        DELETE FROM queue_segments WHERE stream = 'source-to-target';
        UPDATE queue_streams SET last_vsn = 0, last_end_lsn = NULL WHERE stream = 'source-to-target';
        DELETE FROM live_exports WHERE stream = 'source-to-target';
        DELETE FROM exported_change_counts WHERE stream = 'source-to-target';
      `);
      // A cutover to target not yet completed belonged to the discarded stream (its end marker and
      // sequence values refer to it): it must be requested again (src/cutover). A completed one stays.
      store.db.exec(`
        DELETE FROM cutover_sequences WHERE direction = 'to-target'
          AND NOT EXISTS (SELECT 1 FROM cutover_state WHERE direction = 'to-target' AND state = 'COMPLETED');
        DELETE FROM cutover_history WHERE direction = 'to-target'
          AND NOT EXISTS (SELECT 1 FROM cutover_state WHERE direction = 'to-target' AND state = 'COMPLETED');
        DELETE FROM cutover_state WHERE direction = 'to-target' AND state <> 'COMPLETED';
      `);
    },
  },
};

/** What --start-clean would remove and reset; produced by planStartClean, consumed by applyStartClean. */
export interface StartCleanPlan {
  command: string;
  /** The export directory the plan was made for. */
  root: string;
  /** Existing files and directories that would be removed, sorted. */
  paths: string[];
  /** Store phases that go back to not-started. */
  phases: string[];
}

/** True when `command` supports --start-clean. */
export function supportsStartClean(command: string): boolean {
  return Object.hasOwn(START_CLEAN_SCOPES, command);
}

/** Lists what --start-clean of `command` would remove, without changing anything (for the prompt). */
export function planStartClean(dir: ExportDir, command: string): StartCleanPlan {
  const scope = scopeOf(command);
  const layout = new Set(LAYOUT_DIRECTORIES.map((path) => join(dir.root, path)));
  const paths = new Set<string>();
  for (const owned of scope.owned(dir)) {
    for (const path of expand(owned, layout)) paths.add(path);
  }
  return { command, root: dir.root, paths: [...paths].sort(), phases: [...scope.phases] };
}

export interface ApplyStartCleanOptions {
  logger?: Logger;
  /** The command's lock when the caller holds it; otherwise it is taken for the duration of the clean. */
  lock?: CommandLock;
}

/** Removes what the plan lists and resets its phases; refuses (LockError) while another process runs the command. */
export function applyStartClean(
  dir: ExportDir,
  store: MigrationStore,
  plan: StartCleanPlan,
  options: ApplyStartCleanOptions = {},
): void {
  if (plan.root !== dir.root) throw new Error(`start-clean plan for ${plan.root} applied to ${dir.root}`);
  const scope = scopeOf(plan.command);
  const logger = options.logger ?? silentLogger;
  const ours = options.lock?.held === true && options.lock.command === plan.command ? options.lock : heldByThisProcess(dir, plan.command);
  const temporary = ours === undefined ? acquireCommandLock(dir, plan.command, { logger }) : undefined;
  try {
    for (const path of plan.paths) {
      assertInside(dir, path);
      rmSync(path, { recursive: true, force: true });
    }
    ensureLayout(dir);
    store.transaction(() => {
      for (const phase of plan.phases) store.setPhaseStatus(phase, 'not-started', 'reset by --start-clean');
      scope.resetStore?.(store);
    });
    logger.info(`--start-clean removed ${plan.paths.length} path(s) and reset ${plan.phases.length} phase(s)`, {
      command: plan.command,
      paths: plan.paths.map((path) => relative(dir.root, path)),
      phases: plan.phases,
    });
  } finally {
    temporary?.release();
  }
}

function scopeOf(command: string): CleanScope {
  const scope = Object.hasOwn(START_CLEAN_SCOPES, command) ? START_CLEAN_SCOPES[command] : undefined;
  if (scope === undefined) {
    throw new UsageError(`--start-clean is not supported by ${command}.`, {
      hint: `Commands that support it: ${Object.keys(START_CLEAN_SCOPES).join(', ')}.`,
    });
  }
  return scope;
}

function expand(owned: OwnedPath, layout: ReadonlySet<string>): string[] {
  switch (owned.kind) {
    case 'path':
      return exists(owned.path) ? [owned.path] : [];
    case 'prefixed':
      return entries(owned.dir)
        .filter((name) => name.startsWith(owned.prefix))
        .map((name) => join(owned.dir, name));
    case 'contents':
      return entries(owned.dir).flatMap((name) => {
        const path = join(owned.dir, name);
        return layout.has(path) ? expand({ kind: 'contents', dir: path }, layout) : [path];
      });
  }
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function assertInside(dir: ExportDir, path: string): void {
  const rel = relative(dir.root, path);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) {
    throw new Error(`start-clean refuses to remove ${path}: it is not inside ${dir.root}`);
  }
}
