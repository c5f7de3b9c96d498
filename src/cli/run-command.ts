// The effects around every command, in order: resolve settings, hide passwords from `ps`, open the
// export directory and store, take the command's lock, open its log, honour --start-clean, run.

import { loadConfigFile } from '../config/config-file.js';
import { resolveSettings, type ResolvedSettings } from '../config/resolve-settings.js';
import { LockError, NotAvailableError, UsageError, describeError, type DatabaseRole } from '../core/errors.js';
import type { DatabaseSettings } from '../core/database-settings.js';
import { createFileLogger } from '../core/file-logger.js';
import { processRedactor } from '../core/redact.js';
import type { DatabaseConnection } from '../engines/postgres/connect.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { openExportDir, type ExportDir } from '../state/export-dir.js';
import { acquireCommandLock, type CommandLock } from '../state/lock.js';
import { openStore, type MigrationStore } from '../state/store.js';
import { applyStartClean, planStartClean, supportsStartClean } from '../state/start-clean.js';
import type { CommandContext } from './command-context.js';
import { commandName, commandSlug, type CommandSpec } from './command-spec.js';
import { configFileSchema, settingsSpecOf } from './config-schema.js';
import { hidePasswordsFromProcessList } from './process-title.js';
import { COMMANDS } from './registry.js';
import type { Terminal } from './terminal.js';

/** What run-command needs from the process around it. */
export interface RunDependencies {
  terminal: Terminal;
  env: Readonly<Record<string, string | undefined>>;
  argv: readonly string[];
}

/** Runs one command with the flags the user typed; throws typed errors for run-cli to report. */
export async function runCommand(spec: CommandSpec, flags: Map<string, unknown>, deps: RunDependencies): Promise<void> {
  const name = commandName(spec);
  const configPath = flags.get('config-file');
  const file = typeof configPath === 'string' ? loadConfigFile(configPath, configFileSchema(COMMANDS)) : undefined;
  const settings = resolveSettings(settingsSpecOf(spec), { flags, env: deps.env, file });
  hidePasswordsFromProcessList(deps.argv);
  if (spec.run === undefined) throw new NotAvailableError(name);

  const secrets = [settings.source?.password, settings.target?.password].filter((p): p is string => p !== undefined);
  for (const secret of secrets) processRedactor.addSecret(secret);
  let exportDir: ExportDir | undefined;
  let store: MigrationStore | undefined;
  let lock: CommandLock | undefined;
  let logger: Logger = silentLogger;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.warn(`received ${signal}; stopping at the next safe point`);
    abort.abort(new UsageError(`interrupted by ${signal}.`));
  };
  try {
    if (spec.needsExportDir && settings.exportDir !== undefined) {
      exportDir = openExportDir(settings.exportDir, { create: spec.existingExportDir !== true });
      logger = createFileLogger({ file: exportDir.logFile(commandSlug(spec)), level: settings.logLevel, secrets });
      logger.info(`godwit ${name} started`, { pid: process.pid, settings: describeSettings(settings) });
      if (spec.exclusive) lock = acquireCommandLock(exportDir, commandSlug(spec), { logger });
      store = openStore(exportDir.storeFile);
      // Commands whose state lives in the export directory are cleaned here; others (import schema
      // drops what it created on the target) handle --start-clean in their own run.
      if (settings.options.bool('start-clean') && supportsStartClean(commandSlug(spec))) {
        await startClean(spec, exportDir, store, settings.yes, deps.terminal, logger);
      }
    }
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const proven = new Map<DatabaseRole, DatabaseSettings>();
    const contextOf = (current: CommandSpec, currentSettings: ResolvedSettings, currentLogger: Logger): CommandContext => ({
      name: commandName(current),
      settings: currentSettings,
      terminal: deps.terminal,
      logger: currentLogger,
      exportDir,
      store,
      signal: abort.signal,
      connect: async (role: DatabaseRole): Promise<DatabaseConnection> => {
        const database = proven.get(role) ?? currentSettings[role];
        if (database === undefined) throw new Error(`${commandName(current)} does not declare the ${role} database in its spec`);
        // The PostgreSQL driver loads only for commands that connect (not for status and report commands).
        const { connect } = await import('../engines/postgres/connect.js');
        const connection = await connect(database, {
          applicationName: `godwit ${commandName(current)}`,
          logger: currentLogger,
          promptPassword: deps.terminal.interactive
            ? async (request) => {
                const password = await deps.terminal.promptSecret(request.prompt);
                processRedactor.addSecret(password);
                return password;
              }
            : undefined,
        });
        proven.set(role, connection.settings);
        return connection;
      },
      handOver: async (words) => {
        const next = COMMANDS.find((c) => commandName(c) === words.join(' '));
        if (next?.run === undefined || exportDir === undefined) throw new Error(`cannot hand over to \`${words.join(' ')}\``);
        const handed = handOverSettings(next, flags, deps.env, file);
        const nextLogger = createFileLogger({ file: exportDir.logFile(commandSlug(next)), level: handed.logLevel, secrets });
        nextLogger.info(`godwit ${commandName(next)} started in the process of \`${name}\` (hand-over)`, { pid: process.pid, settings: describeSettings(handed) });
        let nextLock: CommandLock;
        try {
          nextLock = acquireCommandLock(exportDir, commandSlug(next), { logger: nextLogger });
        } catch (error) {
          if (error instanceof LockError) return 'running-elsewhere';
          throw error;
        }
        try {
          await next.run(contextOf(next, handed, nextLogger));
          nextLogger.info(`godwit ${commandName(next)} finished`);
        } catch (error) {
          nextLogger.error(`godwit ${commandName(next)} failed: ${describeError(error)}`);
          throw error;
        } finally {
          nextLock.release();
        }
        return 'ran';
      },
    });
    const context = contextOf(spec, settings, logger);
    await spec.run(context);
    logger.info(`godwit ${name} finished`);
  } catch (error) {
    logger.error(`godwit ${name} failed: ${describeError(error)}`, { stack: error instanceof Error ? error.stack : undefined });
    throw error;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    store?.close();
    lock?.release();
  }
}

async function startClean(
  spec: CommandSpec,
  exportDir: ExportDir,
  store: MigrationStore,
  yes: boolean,
  terminal: Terminal,
  logger: Logger,
): Promise<void> {
  const plan = planStartClean(exportDir, commandSlug(spec));
  if (plan.paths.length === 0 && plan.phases.length === 0) return;
  const question = `--start-clean discards what earlier runs of \`${commandName(spec)}\` left: ${plan.paths.join(', ')}. Continue?`;
  if (!(await terminal.confirm(question, yes))) throw new UsageError('start-clean was not confirmed; nothing was removed.');
  applyStartClean(exportDir, store, plan, { logger });
}

/**
 * The settings of a command another one hands over to: the same flags, environment and config file,
 * without the answers the user gave the first command (--yes, --start-clean), which must not confirm
 * anything the new command asks.
 */
function handOverSettings(spec: CommandSpec, flags: ReadonlyMap<string, unknown>, env: RunDependencies['env'], file: ReturnType<typeof loadConfigFile> | undefined): ResolvedSettings {
  const kept = new Map([...flags].filter(([flag]) => flag !== 'yes' && flag !== 'start-clean'));
  return resolveSettings(settingsSpecOf(spec), { flags: kept, env, file });
}

/** The effective settings for the log, without passwords (the file logger also redacts them). */
function describeSettings(settings: ReturnType<typeof resolveSettings>): Record<string, unknown> {
  const database = (db: typeof settings.source) =>
    db === undefined ? undefined : { ...db, password: db.password === undefined ? undefined : '********' };
  return {
    exportDir: settings.exportDir,
    configFile: settings.configFile,
    logLevel: settings.logLevel,
    source: database(settings.source),
    target: database(settings.target),
    options: Object.fromEntries(settings.options.entries()),
  };
}
