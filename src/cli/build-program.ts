// Turns the command registry into commander's command tree: one leaf per command, intermediate
// words (`export`, `data`, `from`) as groups, and every setting of a command as a flag.

import { Command, Option } from 'commander';
import {
  CONNECTION_KEYS,
  GLOBAL_FILE_OPTIONS,
  GLOBAL_FLAG_ONLY_OPTIONS,
  connectionFlagName,
  passwordEnvVar,
} from '../config/common-options.js';
import type { OptionSpec, OptionValue } from '../config/option-spec.js';
import { GODWIT_VERSION } from '../core/version.js';
import { commandName, type CommandSpec } from './command-spec.js';
import { START_CLEAN } from './shared-options.js';

/** Called when a leaf command is invoked, with the flags the user actually typed. */
export type LeafAction = (spec: CommandSpec, flags: Map<string, unknown>) => Promise<void>;

/** Where commander writes help and its own errors. */
export interface ProgramOutput {
  writeOut(text: string): void;
  writeErr(text: string): void;
}

const GROUP_HELP: Record<string, string> = {
  export: 'export the schema or the data (export schema, export data from source|target, export data status)',
  import: 'import the schema or the data (import schema, import data to target|source, import data status)',
  'export data': 'export data from the source or (after cutover) from the target',
  'export data from': 'export data from the source or (after cutover) from the target',
  'import data': 'import data to the target or (after cutover) to the source',
  'import data to': 'import data to the target or (after cutover) to the source',
  initiate: 'initiate a cutover (to target, or back to source)',
  'initiate cutover': 'initiate a cutover (to target, or back to source)',
  'initiate cutover to': 'initiate a cutover (to target, or back to source)',
  cutover: 'cutover status',
  get: 'get data-migration-report',
  archive: 'archive changes',
  end: 'end migration',
};

/** The settings of a command as flags, in help order, with their help section. */
export function flagSpecsOf(spec: CommandSpec): { flag: string; option: OptionSpec; env?: string }[] {
  const flags: { flag: string; option: OptionSpec; env?: string }[] = [];
  for (const option of spec.options) flags.push({ flag: option.name, option });
  if (spec.ownsState) flags.push({ flag: START_CLEAN.name, option: START_CLEAN });
  for (const role of spec.databases) {
    for (const option of CONNECTION_KEYS) {
      const env = option.name === 'db-password' ? passwordEnvVar(role) : undefined;
      flags.push({ flag: connectionFlagName(role, option.name), option, ...(env === undefined ? {} : { env }) });
    }
  }
  for (const option of [...GLOBAL_FILE_OPTIONS, ...GLOBAL_FLAG_ONLY_OPTIONS]) {
    if (option.name === 'export-dir' && !spec.needsExportDir) continue;
    flags.push({ flag: option.name, option });
  }
  return flags;
}

function showDefault(value: OptionValue): string {
  if (Array.isArray(value)) return value.map((item) => (typeof item === 'string' ? item : item.name)).join(',');
  return String(value);
}

function toCommanderOption(flag: string, option: OptionSpec, env: string | undefined, role: string | undefined): Option {
  const isPlainSwitch = flag === 'yes';
  const syntax = isPlainSwitch
    ? '-y, --yes'
    : option.kind.type === 'bool'
      ? `--${flag} [${option.valueName ?? 'true|false'}]`
      : `--${flag} <${option.valueName ?? 'VALUE'}>`;
  let description = role === undefined ? option.description : `${role} database: ${option.description}`;
  if (env !== undefined) description += ` (better: environment variable ${env}; a flag stays in the shell history)`;
  if (option.default !== undefined && !isPlainSwitch) description += ` (default: ${showDefault(option.default)})`;
  if (option.required === true) description += ' (required)';
  return new Option(syntax, description);
}

/** Builds the commander program; `action` receives the leaf spec and the typed flags. */
export function buildProgram(commands: readonly CommandSpec[], action: LeafAction, output: ProgramOutput): Command {
  const program = new Command('godwit')
    .description(
      'Live migration of a PostgreSQL database to YugabyteDB or a newer PostgreSQL, with fall-back.\n' +
        'Workflow: assess-migration, export schema, analyze-schema, import schema, export data from source, ' +
        'import data to target, initiate cutover to target, (fall-back: initiate cutover to source), end migration.',
    )
    .version(GODWIT_VERSION, '-V, --version', 'print the godwit version')
    .helpCommand('help [command...]', 'show help for a command')
    .showSuggestionAfterError(true)
    .configureOutput(output)
    .exitOverride();

  const groups = new Map<string, Command>([['', program]]);
  const groupFor = (words: string[]): Command => {
    const key = words.join(' ');
    const existing = groups.get(key);
    if (existing !== undefined) return existing;
    const parent = groupFor(words.slice(0, -1));
    const group = parent
      .command(words[words.length - 1] as string)
      .description(GROUP_HELP[key] ?? '')
      .showSuggestionAfterError(true)
      .configureOutput(output)
      .exitOverride();
    groups.set(key, group);
    return group;
  };

  for (const spec of commands) {
    const parent = groupFor(spec.words.slice(0, -1));
    const leaf = parent
      .command(spec.words[spec.words.length - 1] as string)
      .summary(spec.summary)
      .description(`${spec.description}${spec.run === undefined ? '\n\n(not available yet in this version of godwit)' : ''}`)
      .configureOutput(output)
      .exitOverride()
      .allowExcessArguments(false);
    const attributeToFlag = new Map<string, string>();
    for (const { flag, option, env } of flagSpecsOf(spec)) {
      const role = spec.databases.find((r) => flag.startsWith(`${r}-`));
      const commanderOption = toCommanderOption(flag, option, env, CONNECTION_KEYS.includes(option) ? role : undefined);
      attributeToFlag.set(commanderOption.attributeName(), flag);
      leaf.addOption(commanderOption);
    }
    leaf.action(async (_options: unknown, command: Command) => {
      const flags = new Map<string, unknown>();
      for (const [attribute, value] of Object.entries(command.opts())) {
        const flag = attributeToFlag.get(attribute);
        if (flag !== undefined && value !== undefined) flags.set(flag, value);
      }
      await action(spec, flags);
    });
    groups.set(commandName(spec), leaf);
  }
  return program;
}
