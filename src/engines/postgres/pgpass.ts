// Looks a password up in the libpq password file (~/.pgpass or PGPASSFILE), so that a DBA whose
// psql and pg_dump log in without a password gets the same from godwit.

import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../../core/logger.js';

/** The connection a password is looked up for. */
export interface PgpassKey {
  host: string;
  port: number;
  database: string;
  user: string;
}

/** A password found in the file, and which file, for messages when it is rejected. */
export interface PgpassMatch {
  password: string;
  file: string;
}

/** The first matching line's password, as libpq would pick it; undefined when there is none. */
export async function findPgpassPassword(
  key: PgpassKey,
  logger: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PgpassMatch | undefined> {
  const file = env.PGPASSFILE ?? path.join(os.homedir(), '.pgpass');
  let text: string;
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return undefined;
    if ((stat.mode & 0o077) !== 0) {
      // libpq ignores a password file others may read; so do we, and say so.
      logger.warn(`Ignoring the password file ${file}: it has group or world access; permissions should be u=rw (0600) or less.`);
      return undefined;
    }
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const wanted = [key.host, String(key.port), key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((value, index) => fields[index] === '*' || fields[index] === value)) {
      logger.debug(`Using the password for user "${key.user}" from ${file}.`);
      return { password: fields.slice(4).join(':'), file };
    }
  }
  return undefined;
}

// Fields are separated by ':'; a backslash escapes ':' and '\'.
function splitLine(line: string): string[] {
  const fields: string[] = [];
  let current = '';
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (char === '\\' && index + 1 < line.length) {
      current += line[++index];
    } else if (char === ':') {
      fields.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  fields.push(current);
  return fields;
}
