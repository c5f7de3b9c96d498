// Precedence of the configuration layers: flag > environment > config file > default.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/config-file.js';
import { resolveSettings } from '../../src/config/resolve-settings.js';
import { configFileSchema, settingsSpecOf } from '../../src/cli/config-schema.js';
import { COMMANDS } from '../../src/cli/registry.js';
import { exportDataFromSource } from '../../src/cli/commands/export-data-from-source.js';
import { ConfigError } from '../../src/core/errors.js';

function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'godwit-config-'));
  const path = join(dir, 'godwit.yaml');
  writeFileSync(path, text);
  return path;
}

const FILE = `export-dir: ./exp
log-level: debug
source:
  db-host: file-host
  db-port: 6000
  db-user: file_user
  db-password: file-secret
  db-name: appdb
  db-schema: app,"Sales Data"
  ssl-root-cert: certs/ca.pem
export-data-from-source:
  parallel-jobs: 3
  table-list: app.orders,"Sales Data"."Q1"
`;

describe('settings precedence', () => {
  const spec = settingsSpecOf(exportDataFromSource);
  const path = writeConfig(FILE);
  const file = loadConfigFile(path, configFileSchema(COMMANDS));

  it('takes file values over defaults, resolving relative paths against the file', () => {
    const s = resolveSettings(spec, { flags: new Map(), env: {}, file });
    expect(s.source?.host).toBe('file-host');
    expect(s.source?.port).toBe(6000);
    expect(s.source?.password).toBe('file-secret');
    expect(s.source?.schemas).toEqual(['app', 'Sales Data']);
    expect(s.source?.sslMode).toBe('prefer');
    expect(s.source?.sslRootCert).toBe(join(path, '..', 'certs', 'ca.pem'));
    expect(s.exportDir).toBe(join(path, '..', 'exp'));
    expect(s.logLevel).toBe('debug');
    expect(s.options.int('parallel-jobs')).toBe(3);
    expect(s.options.tables('table-list')).toEqual([
      { schema: 'app', name: 'orders' },
      { schema: 'Sales Data', name: 'Q1' },
    ]);
    expect(s.options.string('export-type')).toBe('snapshot-only');
    expect(s.origins.get('source-db-host')).toEqual({ kind: 'file', path, line: 4 });
    expect(s.origins.get('export-type')).toEqual({ kind: 'default' });
  });

  it('takes the environment over the file for passwords', () => {
    const s = resolveSettings(spec, { flags: new Map(), env: { SOURCE_DB_PASSWORD: 'env-secret' }, file });
    expect(s.source?.password).toBe('env-secret');
    expect(s.origins.get('source-db-password')).toEqual({ kind: 'env', variable: 'SOURCE_DB_PASSWORD' });
  });

  it('takes flags over the environment and the file', () => {
    const flags = new Map<string, unknown>([
      ['source-db-password', 'flag-secret'],
      ['source-db-host', 'flag-host'],
      ['parallel-jobs', '7'],
      ['export-dir', '/tmp/flag-dir'],
      ['source-db-schema', 'CRM,"Mixed Case"'],
    ]);
    const s = resolveSettings(spec, { flags, env: { SOURCE_DB_PASSWORD: 'env-secret' }, file });
    expect(s.source?.password).toBe('flag-secret');
    expect(s.source?.host).toBe('flag-host');
    expect(s.source?.schemas).toEqual(['crm', 'Mixed Case']);
    expect(s.options.int('parallel-jobs')).toBe(7);
    expect(s.exportDir).toBe('/tmp/flag-dir');
  });

  it('falls back to defaults without a file', () => {
    const flags = new Map<string, unknown>([
      ['export-dir', '/tmp/x'],
      ['source-db-user', 'u'],
      ['source-db-name', 'd'],
    ]);
    const s = resolveSettings(spec, { flags, env: {}, file: undefined });
    expect(s.source).toMatchObject({ host: 'localhost', port: 5432, password: undefined, schemas: ['public'], sslMode: 'prefer' });
    expect(s.logLevel).toBe('info');
    expect(s.yes).toBe(false);
    expect(s.options.int('parallel-jobs')).toBe(4);
  });

  it('treats an empty password variable as unset', () => {
    const s = resolveSettings(spec, { flags: new Map(), env: { SOURCE_DB_PASSWORD: '' }, file });
    expect(s.source?.password).toBe('file-secret');
  });

  it('names the missing setting and how to give it', () => {
    const flags = new Map<string, unknown>([['export-dir', '/tmp/x'], ['source-db-user', 'u']]);
    const run = () => resolveSettings(spec, { flags, env: {}, file: undefined });
    expect(run).toThrow(ConfigError);
    expect(run).toThrow('missing required setting "source-db-name" (the source database).');
    try {
      run();
    } catch (error) {
      expect((error as ConfigError).hint).toBe('Give --source-db-name NAME, or put db-name in the source: section of the config file.');
    }
  });

  it('rejects a bad flag value with the expected form', () => {
    const flags = new Map<string, unknown>([['export-dir', '/tmp/x'], ['parallel-jobs', 'many']]);
    expect(() => resolveSettings(spec, { flags, env: {}, file })).toThrow(
      '--parallel-jobs must be an integer between 1 and 256, got "many".',
    );
  });
});
