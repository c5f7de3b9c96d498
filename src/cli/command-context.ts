// What a command's action receives: its validated settings, the export directory and store, a
// logger writing logs/<command>.log, the terminal, and a way to connect to either database.

import type { ResolvedSettings } from '../config/resolve-settings.js';
import type { DatabaseRole } from '../core/errors.js';
import type { DatabaseConnection } from '../engines/postgres/connect.js';
import type { Logger } from '../core/logger.js';
import type { ExportDir } from '../state/export-dir.js';
import type { MigrationStore } from '../state/store.js';
import type { Terminal } from './terminal.js';

/** Everything a command needs; built by run-command.ts. */
export interface CommandContext {
  /** The command words (`export data from source`). */
  name: string;
  settings: ResolvedSettings;
  terminal: Terminal;
  logger: Logger;
  /** Present when the command works in an export directory. */
  exportDir: ExportDir | undefined;
  store: MigrationStore | undefined;
  /** Aborted on SIGINT/SIGTERM so long-running work can stop at a safe point. */
  signal: AbortSignal;
  /**
   * Opens a connection to the source or target with the command's settings, asking for a missing
   * password on a terminal (once per run); the caller ends the client.
   */
  connect(role: DatabaseRole): Promise<DatabaseConnection>;
  /**
   * Runs another command in this process, as if the user had started it with the same flags (but no
   * --yes or --start-clean), under its own lock and log: the hand-over after a cutover with fall-back
   * (the exporter becomes `import data to source`, the importer `export data from target`).
   * 'running-elsewhere' when another process holds that command's lock.
   */
  handOver(words: readonly string[]): Promise<'ran' | 'running-elsewhere'>;
}
