// psql and pg_dump (Debian's postgresql-client-15) against a harness server, password via the environment.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { HarnessServer } from '../harness/index.js';

const run = promisify(execFile);

function env(server: HarnessServer): NodeJS.ProcessEnv {
  return { ...process.env, PGPASSWORD: server.password, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGSSLMODE: 'disable' };
}

/** Runs a SQL file with psql, stopping at the first error. */
export async function psqlFile(server: HarnessServer, database: string, file: string): Promise<void> {
  await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', file], { env: env(server), maxBuffer: 64 << 20 });
}

/** Runs SQL text with psql (for scripts with COPY FROM stdin and meta-commands). */
export async function psqlText(server: HarnessServer, database: string, sql: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database], { env: env(server), maxBuffer: 64 << 20 }, (error) =>
      error ? reject(error) : resolve(),
    );
    child.stdin?.end(sql);
  });
}

/** pg_dump --schema-only of a database, as export schema would take it. */
export async function dumpSchema(server: HarnessServer, database: string): Promise<string> {
  return (await run('pg_dump', ['--schema-only', '--no-owner', '--no-privileges', '-d', database], { env: env(server), maxBuffer: 64 << 20 })).stdout;
}
