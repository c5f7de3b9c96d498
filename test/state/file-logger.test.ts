import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionError } from '../../src/core/errors.js';
import { createFileLogger, formatLogLine } from '../../src/core/file-logger.js';
import { LOG_LEVELS } from '../../src/core/logger.js';
import { REDACTED, Redactor } from '../../src/core/redact.js';
import { tempDir } from './child-helpers.js';

describe('file logger', () => {
  let base: { path: string; cleanup: () => void };
  beforeEach(() => {
    base = tempDir('logs');
  });
  afterEach(() => base.cleanup());

  it('writes lines at or above the level and drops the others', () => {
    const file = join(base.path, 'logs', 'export-data-from-source.log');
    const logger = createFileLogger({ file, level: 'info', redactor: new Redactor(), clock: () => new Date('2025-03-04T05:06:07.089Z') });
    for (const level of LOG_LEVELS) logger[level](`a ${level} line`, { level });
    logger.close();
    logger.error('after close'); // ignored, does not throw
    expect(readFileSync(file, 'utf8')).toBe(
      [
        '2025-03-04T05:06:07.089Z ERROR a error line {"level":"error"}',
        '2025-03-04T05:06:07.089Z WARN  a warn line {"level":"warn"}',
        '2025-03-04T05:06:07.089Z INFO  a info line {"level":"info"}',
        '',
      ].join('\n'),
    );
  });

  it('appends to an existing log, one line per entry even for multi-line messages', () => {
    const file = join(base.path, 'import-data-to-target.log');
    const first = createFileLogger({ file, level: 'trace', redactor: new Redactor() });
    first.trace('first run');
    first.close();
    const second = createFileLogger({ file, level: 'trace', redactor: new Redactor() });
    second.debug('second\nrun', { nested: { list: [1, 2n, 'three'] } });
    second.close();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z TRACE first run$/);
    expect(lines[1]).toMatch(/ DEBUG second\\nrun \{"nested":\{"list":\[1,"2","three"\]\}\}$/);
  });

  it('never writes a registered password, in messages, fields, errors, stacks or URIs', () => {
    const password = 'Sup3r/s3cr3t@pw';
    const file = join(base.path, 'assess-migration.log');
    const logger = createFileLogger({ file, level: 'trace', redactor: new Redactor(), secrets: [password] });
    const uri = `postgres://app:${encodeURIComponent(password)}@db.example.com:5432/shop`;
    const cause = new Error(`server said: password "${password}" rejected`);
    const error = new ConnectionError('source', 'wrong-password', `cannot connect with ${password}`, { cause });
    logger.error(`connect failed for ${uri}`, { error, settings: { host: 'db', password }, note: `pw=${password}`, uri });
    logger.info('a JSON blob', { raw: JSON.stringify({ user: 'app', pass: password }) });
    logger.warn(`plain text ${password} in the message`);
    logger.debug(`stack: ${error.stack ?? ''}`);
    logger.close();
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(password);
    expect(text).not.toContain(encodeURIComponent(password));
    expect(text).not.toContain('s3cr3t');
    expect(text).toContain(`postgres://app:${REDACTED}@db.example.com:5432/shop`);
    expect(text).toContain('"password":"********"');
    expect(text).toContain('"name":"ConnectionError"');
    expect(text.trimEnd().split('\n')).toHaveLength(4);
  });

  it('masks password patterns nobody registered', () => {
    const redactor = new Redactor();
    const line = formatLogLine(
      new Date(0),
      'info',
      "conninfo host=db password=hunter2 user=app; url postgresql://bob:tops3cret@h/db; PGPASSWORD='x y z' --source-db-password letmein",
      { dsn: 'password: "quoted secret"', token: 'abc123' },
      redactor,
    );
    for (const secret of ['hunter2', 'tops3cret', 'x y z', 'letmein', 'quoted secret', 'abc123']) expect(line).not.toContain(secret);
    expect(line).toContain('password=********');
    expect(line).toContain('postgresql://bob:********@h/db');
    // ordinary sentences about passwords stay readable
    expect(redactor.redact('password authentication failed for user "app"')).toBe('password authentication failed for user "app"');
  });
});
