// The settings every command shares: global ones and the source/target connection settings.

import { LOG_LEVELS } from '../core/logger.js';
import { SSL_MODES } from '../core/database-settings.js';
import type { OptionSpec } from './option-spec.js';

/** Global settings that may also appear at the top of the config file. */
export const GLOBAL_FILE_OPTIONS: OptionSpec[] = [
  {
    name: 'export-dir',
    kind: { type: 'path' },
    valueName: 'DIR',
    description: 'export directory holding everything this migration knows (schema, data, state, logs)',
  },
  {
    name: 'log-level',
    kind: { type: 'enum', choices: LOG_LEVELS },
    valueName: 'LEVEL',
    default: 'info',
    description: `detail of logs/<command>.log: ${LOG_LEVELS.join(', ')}`,
  },
];

/** Global settings that exist only as flags. */
export const GLOBAL_FLAG_ONLY_OPTIONS: OptionSpec[] = [
  {
    name: 'config-file',
    kind: { type: 'path' },
    valueName: 'FILE',
    description: 'YAML configuration file (source:, target: and one section per command)',
  },
  {
    name: 'yes',
    kind: { type: 'bool' },
    default: false,
    description: 'answer yes to every confirmation (needed when standard input is not a terminal)',
  },
];

/**
 * Keys of the `source:` / `target:` sections of the config file. The flag of each is the role
 * followed by the key: `db-host` in `source:` is `--source-db-host`.
 */
export const CONNECTION_KEYS: OptionSpec[] = [
  { name: 'db-host', kind: { type: 'string' }, valueName: 'HOST', default: 'localhost', description: 'host name or IP address' },
  { name: 'db-port', kind: { type: 'int', min: 1, max: 65535 }, valueName: 'PORT', default: 5432, description: 'port' },
  { name: 'db-user', kind: { type: 'string' }, valueName: 'USER', description: 'user to connect as' },
  {
    name: 'db-password',
    kind: { type: 'secret' },
    valueName: 'PASSWORD',
    description: 'password',
  },
  { name: 'db-name', kind: { type: 'string' }, valueName: 'NAME', description: 'database name' },
  {
    name: 'db-schema',
    kind: { type: 'identifier-list' },
    valueName: 'LIST',
    default: ['public'],
    description: 'comma-separated schemas to migrate (quote names with capitals: app,"Sales")',
  },
  {
    name: 'ssl-mode',
    kind: { type: 'enum', choices: SSL_MODES },
    valueName: 'MODE',
    default: 'prefer',
    description: `TLS mode: ${SSL_MODES.join(', ')}`,
  },
  { name: 'ssl-root-cert', kind: { type: 'path' }, valueName: 'FILE', description: 'CA certificate that signed the server certificate' },
  { name: 'ssl-cert', kind: { type: 'path' }, valueName: 'FILE', description: 'client certificate' },
  { name: 'ssl-key', kind: { type: 'path' }, valueName: 'FILE', description: 'private key of the client certificate' },
];

/** Connection keys a command cannot run without. */
export const REQUIRED_CONNECTION_KEYS = ['db-user', 'db-name'];

export { connectionFlagName, passwordEnvVar } from '../core/database-settings.js';
