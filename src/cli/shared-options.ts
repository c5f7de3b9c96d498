// Option specs that several commands share, written once.

import type { OptionSpec } from '../config/option-spec.js';

/** `--start-clean`: added by the CLI to every command that owns state. */
export const START_CLEAN: OptionSpec = {
  name: 'start-clean',
  kind: { type: 'bool' },
  default: false,
  description: 'discard what an earlier run of this command left in the export directory and start over',
};

/** `--parallel-jobs N`. */
export const PARALLEL_JOBS: OptionSpec = {
  name: 'parallel-jobs',
  kind: { type: 'int', min: 1, max: 256 },
  valueName: 'N',
  default: 4,
  description: 'number of parallel connections doing the work',
};

/** `--table-list`: restricts the work to these tables. */
export const TABLE_LIST: OptionSpec = {
  name: 'table-list',
  kind: { type: 'table-list' },
  valueName: 'LIST',
  description: 'comma-separated tables to include, optionally schema-qualified (app.orders,"Sales Data")',
};

/** `--exclude-table-list`: leaves these tables out. */
export const EXCLUDE_TABLE_LIST: OptionSpec = {
  name: 'exclude-table-list',
  kind: { type: 'table-list' },
  valueName: 'LIST',
  description: 'comma-separated tables to leave out',
};

/** `--output-format table|json` for status and report commands. */
export const TABLE_OR_JSON: OptionSpec = {
  name: 'output-format',
  kind: { type: 'enum', choices: ['table', 'json'] },
  valueName: 'FORMAT',
  default: 'table',
  description: 'table (for people) or json (for scripts)',
};

/** A boolean flag that takes an explicit value (`--refresh-mviews true`). */
export function booleanOption(name: string, description: string, defaultValue?: boolean): OptionSpec {
  return defaultValue === undefined
    ? { name, kind: { type: 'bool' }, valueName: 'true|false', description, required: true }
    : { name, kind: { type: 'bool' }, valueName: 'true|false', default: defaultValue, description };
}
