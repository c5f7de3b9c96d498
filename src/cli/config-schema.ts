// What the YAML config file may contain, derived from the command registry: the global keys, the
// source:/target: sections and one section per command named like the command.

import { CONNECTION_KEYS, GLOBAL_FILE_OPTIONS } from '../config/common-options.js';
import type { ConfigFileSchema } from '../config/config-file.js';
import type { CommandSettingsSpec } from '../config/resolve-settings.js';
import { commandName, commandSlug, type CommandSpec } from './command-spec.js';
import { START_CLEAN } from './shared-options.js';

/** The options a command's config-file section accepts (its flags, plus --start-clean if it owns state). */
export function commandOptionSpecs(spec: CommandSpec) {
  return spec.ownsState ? [...spec.options, START_CLEAN] : spec.options;
}

/** The config-file schema for all commands: unknown keys anywhere in the file are errors. */
export function configFileSchema(commands: readonly CommandSpec[]): ConfigFileSchema {
  const sections = new Map([
    ['source', CONNECTION_KEYS],
    ['target', CONNECTION_KEYS],
  ]);
  for (const spec of commands) sections.set(commandSlug(spec), commandOptionSpecs(spec));
  return { topLevel: GLOBAL_FILE_OPTIONS, sections };
}

/** What settings resolution needs to know about one command. */
export function settingsSpecOf(spec: CommandSpec): CommandSettingsSpec {
  return {
    section: commandSlug(spec),
    displayName: commandName(spec),
    options: commandOptionSpecs(spec),
    databases: spec.databases,
    needsExportDir: spec.needsExportDir,
  };
}
