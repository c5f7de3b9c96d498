// What the end-to-end tests that drive the CLI share: the connection flags of a harness database, the
// password variables, the databases a test file creates (dropped after it), and polling helpers.
import { afterAll, expect } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGodwit, type RunningGodwit } from './run-godwit.js';
import { createDatabase, dropDatabase, query, servers, type HarnessServer } from '../harness/index.js';

/** The flags that reach `database` on a harness server as the migration's `role` (TLS off). */
export function connectionArgs(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

/** The password variables for the shared source and target. */
export function harnessEnv(): Record<string, string> {
  const { source, target } = servers();
  return { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };
}

/** A source and a target database named after `prefix`, dropped when the test file ends. */
export function databasePair(): (prefix: string) => Promise<{ sourceDb: string; targetDb: string }> {
  const { source, target } = servers();
  const created: [HarnessServer, string][] = [];
  afterAll(async () => {
    for (const [server, db] of created) await dropDatabase(server, db);
  });
  return async (prefix) => {
    const sourceDb = await createDatabase(source, `${prefix}_src`);
    const targetDb = await createDatabase(target, `${prefix}_dst`);
    created.push([source, sourceDb], [target, targetDb]);
    return { sourceDb, targetDb };
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 90_000, everyMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * waitUntil for a check that godwit children running beside it must make true: fails at once when
 * one of them ends, and on failure says what each printed and how the export directory's logs end,
 * since a child that failed or hangs is why such a wait never ends.
 */
export async function waitWhileRunning(
  what: string,
  check: () => Promise<boolean>,
  children: Record<string, RunningGodwit>,
  options: { timeoutMs?: number; exportDir?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  while (!(await check())) {
    const ended = Object.entries(children).find(([, running]) => running.child.exitCode !== null || running.child.signalCode !== null);
    if (ended !== undefined || Date.now() > deadline) {
      const reason = ended === undefined ? 'timed out' : `${ended[0]} ended (exit code ${ended[1].child.exitCode ?? ended[1].child.signalCode})`;
      throw new Error(`${reason} waiting for ${what}\n${describeChildren(children, options.exportDir)}`);
    }
    await sleep(200);
  }
}

/** What each child printed and the last lines of each log of `exportDir`, for a failure message. */
function describeChildren(children: Record<string, RunningGodwit>, exportDir: string | undefined): string {
  const tail = (text: string): string => text.trimEnd().split('\n').slice(-15).join('\n');
  const parts = Object.entries(children).map(([name, running]) => `--- ${name} printed:\n${tail(running.output())}`);
  const logsDir = exportDir === undefined ? undefined : join(exportDir, 'logs');
  if (logsDir !== undefined && existsSync(logsDir)) {
    for (const file of readdirSync(logsDir)) parts.push(`--- logs/${file} ends with:\n${tail(readFileSync(join(logsDir, file), 'utf8'))}`);
  }
  return parts.join('\n');
}

/** True while godwit's replication slot of `database` is being streamed (the live export passed its snapshot). */
export async function slotStreaming(server: HarnessServer, database: string): Promise<boolean> {
  const [row] = await query<{ n: string }>(server, database,
    "SELECT count(*)::text AS n FROM pg_replication_slots WHERE active AND slot_name LIKE 'godwit%' AND database = current_database()");
  return row?.n === '1';
}

/** The row count of `table` on `database`, or -1 while it cannot be read (not created yet). */
export async function rowCount(server: HarnessServer, database: string, table: string): Promise<number> {
  const rows = await query<{ n: string }>(server, database, `SELECT count(*)::text AS n FROM ${table}`).catch(() => []);
  return rows[0] === undefined ? -1 : Number(rows[0].n);
}

/** `export schema` then `import schema` with the given flags, as a user runs them; each must succeed. */
export async function schemaPhase(dir: string[], src: string[], dst: string[], env: Record<string, string | undefined>): Promise<void> {
  for (const args of [['export', 'schema', ...dir, ...src], ['import', 'schema', ...dir, ...dst]]) {
    const result = await runGodwit(args, { env });
    expect(result.code, `${args.slice(0, 2).join(' ')}: ${result.stderr}`).toBe(0);
  }
}
