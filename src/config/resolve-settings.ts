// Merges the four layers of configuration for one command into one validated settings object.
// Precedence: flag > environment > config file > default.

import { dirname, isAbsolute, resolve } from 'node:path';
import type { DatabaseSettings, SslMode } from '../core/database-settings.js';
import { ConfigError, type DatabaseRole } from '../core/errors.js';
import type { LogLevel } from '../core/logger.js';
import { CommandOptions } from './command-options.js';
import {
  CONNECTION_KEYS,
  GLOBAL_FILE_OPTIONS,
  REQUIRED_CONNECTION_KEYS,
  connectionFlagName,
  passwordEnvVar,
} from './common-options.js';
import { fileLocation, type ConfigFile, type FileValue } from './config-file.js';
import { parseOptionValue, showRawValue, type OptionSpec, type OptionValue } from './option-spec.js';

/** What resolution needs to know about a command. */
export interface CommandSettingsSpec {
  /** Config-file section name (`export-data-from-source`). */
  section: string;
  /** The command words (`export data from source`). */
  displayName: string;
  options: OptionSpec[];
  databases: DatabaseRole[];
  needsExportDir: boolean;
}

/** Where a setting's value came from, for messages and `--log-level debug` output. */
export type Origin =
  | { kind: 'flag' }
  | { kind: 'env'; variable: string }
  | { kind: 'file'; path: string; line: number }
  | { kind: 'default' };

/** The raw layers: flags given on the command line, the environment, the loaded file. */
export interface SettingsLayers {
  flags: ReadonlyMap<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  file: ConfigFile | undefined;
}

/** Everything a command runs with, validated. */
export interface ResolvedSettings {
  exportDir: string | undefined;
  logLevel: LogLevel;
  yes: boolean;
  configFile: string | undefined;
  source: DatabaseSettings | undefined;
  target: DatabaseSettings | undefined;
  options: CommandOptions;
  /** Origin of every setting that has a value, by flag name. */
  origins: Map<string, Origin>;
}

interface Found {
  value: OptionValue;
  origin: Origin;
}

/** Resolves a command's settings; throws ConfigError naming the setting and where it was set. */
export function resolveSettings(command: CommandSettingsSpec, layers: SettingsLayers): ResolvedSettings {
  const origins = new Map<string, Origin>();
  const pick = (flagName: string, spec: OptionSpec, fileValue: FileValue | undefined, envVar?: string): OptionValue | undefined => {
    const found = findValue(flagName, spec, layers, fileValue, envVar);
    if (found !== undefined) origins.set(flagName, found.origin);
    return found?.value;
  };

  const globalFile = (name: string): FileValue | undefined => layers.file?.topLevel.get(name);
  const [exportDirSpec, logLevelSpec] = GLOBAL_FILE_OPTIONS as [OptionSpec, OptionSpec];
  const exportDir = pick('export-dir', exportDirSpec, globalFile('export-dir')) as string | undefined;
  if (command.needsExportDir && exportDir === undefined) {
    throw missing('export-dir', '--export-dir DIR', 'export-dir: at the top of the config file', 'the export directory');
  }
  const logLevel = pick('log-level', logLevelSpec, globalFile('log-level')) as LogLevel;
  const yesFlag = layers.flags.get('yes');
  const yes = yesFlag === undefined ? false : parseFlag('yes', { name: 'yes', kind: { type: 'bool' }, description: '' }, yesFlag) === true;
  const configFile = layers.file?.path;

  const databases = new Map<DatabaseRole, DatabaseSettings>();
  for (const role of command.databases) {
    databases.set(role, resolveDatabase(role, layers, pick));
  }

  const sectionValues = layers.file?.sections.get(command.section);
  const values = new Map<string, OptionValue>();
  for (const spec of command.options) {
    const value = pick(spec.name, spec, sectionValues?.get(spec.name));
    if (value !== undefined) values.set(spec.name, value);
    else if (spec.required === true) {
      throw missing(spec.name, `--${spec.name} ${spec.valueName ?? 'VALUE'}`, `${spec.name} in the ${command.section}: section of the config file`, `needed by ${command.displayName}`);
    }
  }
  return {
    exportDir,
    logLevel,
    yes,
    configFile,
    source: databases.get('source'),
    target: databases.get('target'),
    options: new CommandOptions(command.displayName, values),
    origins,
  };
}

function resolveDatabase(
  role: DatabaseRole,
  layers: SettingsLayers,
  pick: (flagName: string, spec: OptionSpec, fileValue: FileValue | undefined, envVar?: string) => OptionValue | undefined,
): DatabaseSettings {
  const section = layers.file?.sections.get(role);
  const values = new Map<string, OptionValue>();
  for (const spec of CONNECTION_KEYS) {
    const flagName = connectionFlagName(role, spec.name);
    const envVar = spec.name === 'db-password' ? passwordEnvVar(role) : undefined;
    const value = pick(flagName, spec, section?.get(spec.name), envVar);
    if (value !== undefined) values.set(spec.name, value);
  }
  for (const key of REQUIRED_CONNECTION_KEYS) {
    if (!values.has(key)) {
      throw missing(
        connectionFlagName(role, key),
        `--${connectionFlagName(role, key)} ${CONNECTION_KEYS.find((s) => s.name === key)?.valueName ?? 'VALUE'}`,
        `${key} in the ${role}: section of the config file`,
        `the ${role} database`,
      );
    }
  }
  const text = (key: string): string | undefined => values.get(key) as string | undefined;
  return {
    role,
    host: text('db-host') as string,
    port: values.get('db-port') as number,
    user: text('db-user') as string,
    password: text('db-password'),
    database: text('db-name') as string,
    schemas: values.get('db-schema') as string[],
    sslMode: text('ssl-mode') as SslMode,
    sslRootCert: text('ssl-root-cert'),
    sslCert: text('ssl-cert'),
    sslKey: text('ssl-key'),
  };
}

function findValue(flagName: string, spec: OptionSpec, layers: SettingsLayers, fileValue: FileValue | undefined, envVar: string | undefined): Found | undefined {
  const flag = layers.flags.get(flagName);
  if (flag !== undefined) return { value: parseFlag(flagName, spec, flag), origin: { kind: 'flag' } };
  if (envVar !== undefined) {
    const env = layers.env[envVar];
    if (env !== undefined && env !== '') return { value: env, origin: { kind: 'env', variable: envVar } };
  }
  if (fileValue !== undefined && layers.file !== undefined) {
    const value = spec.kind.type === 'path' ? resolvePathFromFile(layers.file, fileValue.value as string) : fileValue.value;
    return { value, origin: { kind: 'file', path: layers.file.path, line: fileValue.line } };
  }
  if (spec.default !== undefined) return { value: spec.default, origin: { kind: 'default' } };
  return undefined;
}

function parseFlag(flagName: string, spec: OptionSpec, raw: unknown): OptionValue {
  const parsed = parseOptionValue(spec.kind, raw === true && spec.kind.type === 'bool' ? true : raw);
  if (parsed.ok) return parsed.value;
  throw new ConfigError(`--${flagName} must be ${parsed.expected}, got ${showRawValue(spec.kind, raw)}.`);
}

/** Relative paths in the config file are relative to the file, not to the current directory. */
function resolvePathFromFile(file: ConfigFile, value: string): string {
  return isAbsolute(value) ? value : resolve(dirname(file.path), value);
}

function missing(name: string, flag: string, fileKey: string, what: string): ConfigError {
  return new ConfigError(`missing required setting "${name}" (${what}).`, { hint: `Give ${flag}, or put ${fileKey}.` });
}

/** Describes an origin for messages ("--x", "SOURCE_DB_PASSWORD", "config file f, line 3"). */
export function describeOrigin(origin: Origin, flagName: string): string {
  switch (origin.kind) {
    case 'flag':
      return `--${flagName}`;
    case 'env':
      return `environment variable ${origin.variable}`;
    case 'file':
      return fileLocation(origin.path, origin.line);
    case 'default':
      return 'default';
  }
}
