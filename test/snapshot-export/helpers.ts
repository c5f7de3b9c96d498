// Shared by the snapshot-export tests: run export schema / export data through the built CLI, read
// what the export recorded and wrote, and take the source's own COPY of a table to compare with.

import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { expect } from 'vitest';
import { listSnapshotChunks, listSnapshotTables, type SnapshotChunk, type SnapshotTable } from '../../src/state/snapshot-store.js';
import { openStore } from '../../src/state/store.js';
import { adminConfig, servers, type HarnessServer } from '../harness/index.js';
import { runGodwit, startGodwit as startGodwitChild, type GodwitResult, type RunningGodwit } from '../helpers/run-godwit.js';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../src/core/copy-binary-format.js';
import { binaryTupleEnds } from '../helpers/binary-tuples.js';
import { snapshotFileFormat } from '../../src/snapshot/snapshot-file-format.js';

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

/** Starts godwit without waiting for it, with the test databases' passwords. */
export function startGodwit(args: string[], moreEnv: Record<string, string> = {}): RunningGodwit {
  return startGodwitChild(args, { env: { ...env, ...moreEnv } });
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

/** Rows of COPY data as comparable strings: text lines as they are, binary tuples as hex. */
function rowsOf(data: Buffer, binary: boolean): string[] {
  if (!binary) {
    const text = data.toString('utf8');
    return text === '' ? [] : text.slice(0, -1).split('\n');
  }
  const rows: string[] = [];
  let start = 0;
  for (const end of binaryTupleEnds(data)) {
    rows.push(data.subarray(start, end).toString('hex'));
    start = end;
  }
  return rows;
}

/** The rows of every exported chunk file of `tableKey`, sorted (text lines, or binary tuples as hex). */
export function exportedLines(exportDir: string, tableKey: string): string[] {
  const { chunks } = recorded(exportDir);
  const lines: string[] = [];
  for (const chunk of chunks.filter((c) => c.tableKey === tableKey)) {
    expect(chunk.state).toBe('exported');
    const own = rowsOf(readFileSync(join(exportDir, 'data', chunk.file)), snapshotFileFormat(chunk.file) === 'binary');
    expect(own.length).toBe(chunk.rowCount);
    lines.push(...own);
  }
  return lines.sort();
}

/** The source's own `COPY (SELECT columns FROM table) TO STDOUT` in `format`, as sorted rows (see exportedLines). */
export async function sourceLines(database: string, schema: string, table: string, columns: readonly string[], format: 'text' | 'binary' = 'text'): Promise<string[]> {
  const client = new pg.Client(adminConfig(source, database));
  await client.connect();
  try {
    const quote = (name: string): string => pg.escapeIdentifier(name);
    const binary = format === 'binary';
    // In binary files character(n) values travel without their trailing spaces (the target pads them again): so does `::text`.
    const types = await client.query<{ name: string; type: string }>(
      'SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0',
      [`${quote(schema)}.${quote(table)}`],
    );
    const padded = new Set(types.rows.filter((r) => /^character\(\d+\)$/.test(r.type)).map((r) => r.name));
    const select = columns.map((c) => (binary && padded.has(c) ? `${quote(c)}::text` : quote(c))).join(', ');
    const sql = `COPY (SELECT ${select} FROM ${quote(schema)}.${quote(table)}) TO STDOUT${binary ? ' (FORMAT binary)' : ''}`;
    const parts: Buffer[] = [];
    for await (const part of client.query(copyTo(sql))) parts.push(part as Buffer);
    const all = Buffer.concat(parts);
    return rowsOf(binary ? all.subarray(BINARY_COPY_HEADER.length, all.length - BINARY_COPY_TRAILER.length) : all, binary).sort();
  } finally {
    await client.end();
  }
}

/** The format the export chose for a table, from its chunk files' names. */
export function exportedFormat(exportDir: string, tableKey: string): 'text' | 'binary' {
  const chunk = recorded(exportDir).chunks.find((c) => c.tableKey === tableKey);
  return chunk === undefined ? 'text' : snapshotFileFormat(chunk.file);
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
    const expected = await sourceLines(database, table.schema, table.name, table.columns, exportedFormat(exportDir, table.tableKey));
    const actual = exportedLines(exportDir, table.tableKey);
    expect(actual.length, table.tableKey).toBe(expected.length);
    expect(actual, table.tableKey).toEqual(expected);
  }
  expect(partialFiles(exportDir)).toEqual([]);
}
