// The shape of one command in the registry: its words, help, settings and (once built) its action.
// The registry is data; src/cli/build-program.ts turns it into the commander tree. A command's
// action lives in commands/<name>.run.ts and is loaded only when that command runs (lazyRun), so
// `--help`, `--version` and every other command do not pay for its pipeline's modules.

import type { OptionSpec } from '../config/option-spec.js';
import type { DatabaseRole } from '../core/errors.js';
import type { CommandContext } from './command-context.js';

/** One godwit command. A command without `run` is in the grammar but not built yet. */
export interface CommandSpec {
  /** The words a user types after `godwit` (`['export', 'data', 'from', 'source']`). */
  words: string[];
  /** One line for the command list. */
  summary: string;
  /** What it does, for `godwit <command> --help`. */
  description: string;
  /** The command's own flags (also the keys of its config-file section). */
  options: OptionSpec[];
  /** Which databases it connects to: their connection settings become flags and are required. */
  databases: DatabaseRole[];
  /** Whether it works inside an export directory. */
  needsExportDir: boolean;
  /** Whether the command only makes sense in an export directory an earlier command made (it refuses a new or empty one). */
  existingExportDir?: boolean;
  /** Whether only one copy may run per export directory (long-running or state-owning commands). */
  exclusive: boolean;
  /** Whether it owns state that `--start-clean` can reset. */
  ownsState: boolean;
  run?: CommandRun;
}

/** What a command does once its settings are resolved. */
export type CommandRun = (context: CommandContext) => Promise<void>;

/** A `run` that imports the command's implementation (and its dependencies) only when the command runs. */
export function lazyRun(load: () => Promise<{ run: CommandRun }>): CommandRun {
  return async (context) => (await load()).run(context);
}

/** The command words joined by spaces (`export data from source`). */
export function commandName(spec: Pick<CommandSpec, 'words'>): string {
  return spec.words.join(' ');
}

/** The config-file section and log-file name of a command (`export-data-from-source`). */
export function commandSlug(spec: Pick<CommandSpec, 'words'>): string {
  return spec.words.join('-');
}
