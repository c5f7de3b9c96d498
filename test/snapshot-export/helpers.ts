// Shared by the snapshot-export tests: run export schema / export data through the built CLI, read
// what the export recorded and wrote, and take the source's own COPY of a table to compare with.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { expect } from 'vitest';
import { listSnapshotChunks, listSnapshotTables, type SnapshotChunk, type SnapshotTable } from '../../src/state/snapshot-store.js';
import { openStore } from '../../src/state/store.js';
import { adminConfig, servers, type HarnessServer } from '../harness/index.js';
import { GODWIT_BIN, runGodwit, type GodwitResult } from '../helpers/run-godwit.js';

export const source: HarnessServer = servers().source;
export const env = { SOURCE_DB_PASSWORD: source.password };

/** A new, not yet existing export directory. */
export function newExportDir(prefix: string): string {
  return join(mkdtempSync(join(tmpdir(), `godwit-${prefix}-`)), 'export');
}

/** The source connection flags for `database`. */
export function sourceFlags(database: string): string[] {
  return ['--source-db-host', source.host, '--source-db-port', String(source.port), '--source-db-user', source.user,
    '--source-db-name', database, '--source-ssl-mode', 'disable'];
}

/** `godwit export schema` for `schemas` (the flag spelling), expecting success. */
export async function exportSchema(exportDir: string, database: string, schemas = 'public'): Promise<void> {
  const r = await runGodwit(['export', 'schema', '--export-dir', exportDir, ...sourceFlags(database), '--source-db-schema', schemas], { env });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
}

/** The export-data command line. */
export function exportDataArgs(exportDir: string, database: string, extra: string[] = []): string[] {
  return ['export', 'data', 'from', 'source', '--export-dir', exportDir, ...sourceFlags(database), ...extra];
}

/** Runs `godwit export data from source` to completion. */
export function exportData(exportDir: string, database: string, extra: string[] = [], moreEnv: Record<string, string> = {}, timeoutMs = 120_000): Promise<GodwitResult> {
  return runGodwit(exportDataArgs(exportDir, database, extra), { env: { ...env, ...moreEnv }, timeoutMs });
}

/** A running godwit child that a test may kill. */
export interface RunningGodwit {
  child: ChildProcess;
  done: Promise<GodwitResult>;
}

/** Starts godwit without waiting for it. */
export function startGodwit(args: string[], moreEnv: Record<string, string> = {}): RunningGodwit {
  const childEnv: Record<string, string | undefined> = { ...process.env, TARGET_DB_PASSWORD: undefined, ...env, ...moreEnv };
  for (const key of Object.keys(childEnv)) if (childEnv[key] === undefined) delete childEnv[key];
  const child = spawn(process.execPath, [GODWIT_BIN, ...args], { env: childEnv as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<GodwitResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** What the store recorded: tables and chunks. */
export function recorded(exportDir: string): { tables: SnapshotTable[]; chunks: SnapshotChunk[] } {
  const store = openStore(join(exportDir, 'metainfo', 'godwit.db'));
  try {
    return { tables: listSnapshotTables(store), chunks: listSnapshotChunks(store) };
  } finally {
    store.close();
  }
}

/** Number of exported chunks recorded so far (0 before the plan). */
export function exportedChunkCount(exportDir: string): number {
  if (!existsSync(join(exportDir, 'metainfo', 'godwit.db'))) return 0;
  return recorded(exportDir).chunks.filter((c) => c.state === 'exported').length;
}

/** Waits until `predicate` holds, polling. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The lines of every exported chunk file of `tableKey`, sorted (a multiset of rows in COPY text). */
export function exportedLines(exportDir: string, tableKey: string): string[] {
  const { chunks } = recorded(exportDir);
  const lines: string[] = [];
  for (const chunk of chunks.filter((c) => c.tableKey === tableKey)) {
    expect(chunk.state).toBe('exported');
    const text = readFileSync(join(exportDir, 'data', chunk.file), 'utf8');
    const own = text === '' ? [] : text.slice(0, -1).split('\n');
    expect(own.length).toBe(chunk.rowCount);
    lines.push(...own);
  }
  return lines.sort();
}

/** The source's own `COPY (SELECT columns FROM table) TO STDOUT`, as sorted lines. */
export async function sourceLines(database: string, schema: string, table: string, columns: readonly string[]): Promise<string[]> {
  const client = new pg.Client(adminConfig(source, database));
  await client.connect();
  try {
    const quote = (name: string): string => pg.escapeIdentifier(name);
    const stream = client.query(copyTo(`COPY (SELECT ${columns.map(quote).join(', ')} FROM ${quote(schema)}.${quote(table)}) TO STDOUT`));
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(part as Buffer);
    const text = Buffer.concat(parts).toString('utf8');
    return (text === '' ? [] : text.slice(0, -1).split('\n')).sort();
  } finally {
    await client.end();
  }
}

/** Every `.partial` file left under data/. */
export function partialFiles(exportDir: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.partial')) found.push(join(dir, entry.name));
    }
  };
  walk(join(exportDir, 'data'));
  return found;
}

/** Asserts that every snapshot table's files hold exactly the source's rows. */
export async function expectExportEqualsSource(exportDir: string, database: string): Promise<void> {
  const { tables } = recorded(exportDir);
  expect(tables.length).toBeGreaterThan(0);
  for (const table of tables) {
    const expected = await sourceLines(database, table.schema, table.name, table.columns);
    const actual = exportedLines(exportDir, table.tableKey);
    expect(actual.length, table.tableKey).toBe(expected.length);
    expect(actual, table.tableKey).toEqual(expected);
  }
  expect(partialFiles(exportDir)).toEqual([]);
}
