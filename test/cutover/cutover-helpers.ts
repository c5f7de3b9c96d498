// Shared setup of the cutover end-to-end tests: a source with a workload (serial, identity and a
// sequence owned by no column), the schema phase, the exporter and importer started as a user would.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { adminConfig, createDatabase, query, runSql, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit, stopAfterHandOver, type GodwitResult, type RunningGodwit } from '../helpers/run-godwit.js';

export { HAND_OVER_LINE, stopAfterHandOver } from '../helpers/run-godwit.js';

const { source, target } = servers();
export const env = { SOURCE_DB_PASSWORD: source.password, TARGET_DB_PASSWORD: target.password };

export function connection(server: HarnessServer, role: 'source' | 'target', database: string): string[] {
  return [`--${role}-db-host`, server.host, `--${role}-db-port`, String(server.port), `--${role}-db-user`, server.user,
    `--${role}-db-name`, database, `--${role}-ssl-mode`, 'disable'];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Serial (events), identity (tickets), a sequence owned by no column (free_counter, used by invoices' default and by nextval). */
const SCHEMA = `
  CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL, note text);
  INSERT INTO accounts SELECT g, 0, CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 200) END FROM generate_series(1, 2000) g;
  CREATE TABLE events (id bigserial PRIMARY KEY, account_id bigint NOT NULL, amount int NOT NULL);
  INSERT INTO events (account_id, amount) SELECT g % 2000 + 1, g FROM generate_series(1, 5000) g;
  CREATE TABLE tickets (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, label text NOT NULL);
  INSERT INTO tickets (label) SELECT 'seed ' || g FROM generate_series(1, 100) g;
  CREATE SEQUENCE free_counter START 1000;
  CREATE TABLE invoices (no bigint PRIMARY KEY DEFAULT nextval('free_counter'), amount int NOT NULL);`;

export interface Migration {
  sourceDb: string;
  targetDb: string;
  dir: string[];
  exportArgs: string[];
  importArgs: string[];
}

/** Two fresh databases, the schema (and `extraSql`) on the source, export schema + import schema through the CLI. */
export async function prepareMigration(prefix: string, extraSql = ''): Promise<Migration> {
  const sourceDb = await createDatabase(source, `${prefix}_src`);
  const targetDb = await createDatabase(target, `${prefix}_dst`);
  await runSql(source, sourceDb, SCHEMA + extraSql);
  const dir = ['--export-dir', join(mkdtempSync(join(tmpdir(), `godwit-${prefix}-`)), 'export')];
  const exported = await runGodwit(['export', 'schema', ...dir, ...connection(source, 'source', sourceDb)], { env });
  expect(exported.code, exported.stderr).toBe(0);
  const imported = await runGodwit(['import', 'schema', ...dir, ...connection(target, 'target', targetDb)], { env });
  expect(imported.code, imported.stderr).toBe(0);
  return {
    sourceDb,
    targetDb,
    dir,
    exportArgs: ['export', 'data', 'from', 'source', ...dir, ...connection(source, 'source', sourceDb), '--export-type', 'snapshot-and-changes', '--parallel-jobs', '2'],
    importArgs: ['import', 'data', 'to', 'target', ...dir, ...connection(target, 'target', targetDb), '--parallel-jobs', '2'],
  };
}

/** The application: small transactions on the source (or `server`) until stopped (every table, every kind of sequence). */
export async function workload(database: string, stop: { now: boolean }, server: HarnessServer = source): Promise<number> {
  const client = new pg.Client(adminConfig(server, database));
  await client.connect();
  let n = 0;
  try {
    while (!stop.now) {
      const id = 1 + Math.floor(Math.random() * 2000);
      await client.query('BEGIN');
      await client.query('UPDATE accounts SET balance = balance + 1 WHERE id = $1', [id]);
      await client.query('INSERT INTO events (account_id, amount) VALUES ($1, $2)', [id, n]);
      await client.query('INSERT INTO tickets (label) VALUES ($1)', [`ticket ${n}`]);
      await client.query('INSERT INTO invoices (amount) VALUES ($1)', [n]);
      if (n % 5 === 0) await client.query("SELECT nextval('free_counter')"); // a value used outside any table
      if (n % 7 === 0) await client.query('DELETE FROM events WHERE id = (SELECT min(id) FROM events)');
      if (n % 13 === 0) await client.query('UPDATE accounts SET id = id + 100000 WHERE id = $1', [id]);
      await client.query('COMMIT');
      n++;
    }
  } finally {
    await client.end();
  }
  return n;
}

/**
 * Runs a command, restarting it with the same arguments whenever it was SIGKILLed; returns the first real
 * exit and the kills. With `stopHandOver`, a process that hands over to a fall-back command is stopped there.
 */
export async function supervise(
  args: string[],
  extraEnv: Record<string, string>,
  options: { maxRuns?: number; stopHandOver?: boolean } = {},
): Promise<{ result: GodwitResult; kills: number; output: string }> {
  let output = '';
  const maxRuns = options.maxRuns ?? 20;
  for (let run = 0; run < maxRuns; run++) {
    const running = startGodwit(args, { env: { ...env, ...extraEnv } });
    if (options.stopHandOver === true) stopAfterHandOver(running);
    const result = await running.done;
    output += result.stdout + result.stderr;
    if (result.code !== null) return { result, kills: run, output };
  }
  throw new Error(`${args.slice(0, 4).join(' ')} was killed ${maxRuns} times:\n${output}`);
}

/** last_value/is_called of the three sequences on the source (or `server`), after the application stopped. */
export async function sourceSequenceState(database: string, server: HarnessServer = source): Promise<Record<string, bigint>> {
  const rows = await query<{ name: string; v: string }>(
    server,
    database,
    `SELECT 'events' AS name, (SELECT last_value FROM events_id_seq)::text AS v
     UNION ALL SELECT 'tickets', (SELECT last_value FROM tickets_id_seq)::text
     UNION ALL SELECT 'free_counter', (SELECT last_value FROM free_counter)::text`,
  );
  return Object.fromEntries(rows.map((r) => [r.name, BigInt(r.v)]));
}

/**
 * The application's first writes on the target (or, after cutover to source, `to` = the source): each
 * sequence must hand out a value the old side never did.
 */
export async function expectSequencesMovedForward(
  sourceDb: string,
  targetDb: string,
  sides: { from: HarnessServer; to: HarnessServer } = { from: source, to: target },
): Promise<void> {
  const before = await sourceSequenceState(sourceDb, sides.from);
  const [row] = await query<{ events: string; tickets: string; free: string; invoice: string }>(
    sides.to,
    targetDb,
    `WITH e AS (INSERT INTO events (account_id, amount) VALUES (1, -1) RETURNING id),
          t AS (INSERT INTO tickets (label) VALUES ('after cutover') RETURNING id),
          i AS (INSERT INTO invoices (amount) VALUES (-1) RETURNING no)
     SELECT (SELECT id FROM e)::text AS events, (SELECT id FROM t)::text AS tickets,
            nextval('free_counter')::text AS free, (SELECT no FROM i)::text AS invoice`,
  );
  expect(BigInt(row?.events ?? '0')).toBeGreaterThan(before.events ?? 0n);
  expect(BigInt(row?.tickets ?? '0')).toBeGreaterThan(before.tickets ?? 0n);
  expect(BigInt(row?.free ?? '0')).toBeGreaterThan(before.free_counter ?? 0n);
  expect(BigInt(row?.invoice ?? '0')).toBeGreaterThan(before.free_counter ?? 0n);
}

/** Data-change messages (Insert, Update, Delete) waiting in a slot of the target, without consuming them. */
export async function pendingChanges(database: string, slot: string, publication: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    target,
    database,
    `SELECT count(*)::text AS n FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)
      WHERE get_byte(data, 0) IN (73, 85, 68)`,
    [slot, publication],
  );
  return Number(row?.n ?? -1);
}

export { source, target };

/** A running command and everything it printed on standard output so far. */
export interface Watched {
  running: RunningGodwit;
  out(): string;
}

export function watched(args: string[], extraEnv: Record<string, string> = {}): Watched {
  const running = startGodwit(args, { env: { ...env, ...extraEnv } });
  let out = '';
  running.child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return { running, out: () => out };
}

/** Waits until a running command printed `text` (fails when it exits first). */
export async function printed(w: Watched, text: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!w.out().includes(text)) {
    if (w.running.child.exitCode !== null) throw new Error(`exited (${w.running.child.exitCode}) before printing ${text}:\n${w.out()}\n${(await w.running.done).stderr}`);
    if (Date.now() > deadline) throw new Error(`did not print ${text} within 2 minutes:\n${w.out()}`);
    await sleep(100);
  }
}
