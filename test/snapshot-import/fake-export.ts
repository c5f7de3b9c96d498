// The export half of the snapshot, made in tests with the snapshot-store API directly (until
// `export data from source` lands): plan every table of the given schemas (root tables; partitions'
// rows in one chunk per leaf), write each chunk with COPY ... TO STDOUT from the source, fsync,
// rename, mark it exported, record the sequences, finish the run. Each table gets the file format the
// real exporter would choose (postgresCopyFormat): binary files hold bare tuples, framing removed; each
// file gets its row index (segments of whole rows with their CRC-32) like the exporter writes.
import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { BINARY_COPY_HEADER, BINARY_COPY_TRAILER } from '../../src/core/copy-binary-format.js';
import { binaryTupleEnds } from '../helpers/binary-tuples.js';
import { quoteIdent } from '../../src/core/identifiers.js';
import { postgresCopyFormat } from '../../src/engines/postgres/snapshot/copy-format.js';
import { snapshotFileFormat, snapshotFileName } from '../../src/snapshot/snapshot-file-format.js';
import { DEFAULT_SEGMENT_LIMITS, INDEX_SUFFIX, encodeChunkIndex } from '../../src/snapshot/chunk-index.js';
import type { RowSegment, SegmentLimits } from '../../src/engines/snapshot-engine.js';
import type { ExportDir } from '../../src/state/export-dir.js';
import {
  finishSnapshotRun,
  markChunkExported,
  recordSequenceValues,
  recordSnapshotPlan,
  recordSnapshotRun,
  type SnapshotChunk,
  type SnapshotTable,
} from '../../src/state/snapshot-store.js';
import { openStore } from '../../src/state/store.js';
import { replaceSourceCatalog } from '../../src/state/catalog-store.js';
import { readPostgresCatalog } from '../../src/engines/postgres/catalog/read-catalog.js';
import { readServerInfo } from '../../src/engines/postgres/server-info.js';
import { adminConfig, type HarnessServer } from '../harness/index.js';

interface Plan {
  tables: SnapshotTable[];
  chunks: Omit<SnapshotChunk, 'state' | 'runId' | 'rowCount' | 'byteCount' | 'sha256' | 'exportedAt'>[];
}

async function planOf(client: pg.Client, schemas: string[]): Promise<Plan> {
  const roots = (
    await client.query<{ oid: number; schema: string; name: string }>(
      `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 2, 3`,
      [schemas],
    )
  ).rows;
  const plan: Plan = { tables: [], chunks: [] };
  for (const root of roots) {
    const described = (
      await client.query<{ attname: string; type_schema: string; type_name: string }>(
        `SELECT attname, tn.nspname AS type_schema, t.typname AS type_name
           FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid JOIN pg_namespace tn ON tn.oid = t.typnamespace
          WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
        [root.oid],
      )
    ).rows;
    const columns = described.map((r) => r.attname);
    const format = postgresCopyFormat(described.map((r) => ({ typeSchema: r.type_schema, typeName: r.type_name })));
    const tableKey = `${quoteIdent(root.schema)}.${quoteIdent(root.name)}`;
    plan.tables.push({ tableKey, schema: root.schema, name: root.name, columns });
    const leaves = (
      await client.query<{ schema: string; name: string }>(
        `WITH RECURSIVE tree AS (SELECT $1::oid AS oid UNION ALL SELECT i.inhrelid FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid)
         SELECT n.nspname AS schema, c.relname AS name FROM tree t JOIN pg_class c ON c.oid = t.oid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' ORDER BY 1, 2`,
        [root.oid],
      )
    ).rows;
    leaves.forEach((leaf, i) => {
      plan.chunks.push({
        chunkId: `${root.schema}.${root.name}.${i}`,
        tableKey,
        sourceSchema: leaf.schema,
        sourceRelation: leaf.name,
        firstPage: null,
        endPage: null,
        file: snapshotFileName(`${root.oid}_${i}`, format),
      });
    });
  }
  return plan;
}

/** Cuts COPY data into segments of whole rows like the exporter's COPY reader does (at most `limits` each). */
function segmentsOf(data: Buffer, binary: boolean, limits: SegmentLimits): RowSegment[] {
  const ends: number[] = binary ? binaryTupleEnds(data) : [];
  if (!binary) for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) ends.push(i + 1);
  const segments: RowSegment[] = [];
  let start = 0;
  let rows = 0;
  for (const [i, end] of ends.entries()) {
    rows++;
    if (rows >= limits.rows || end - start >= limits.bytes || i === ends.length - 1) {
      segments.push({ rows, bytes: end - start, crc32: crc32(data.subarray(start, end)) });
      start = end;
      rows = 0;
    }
  }
  return segments;
}

async function copyToFile(client: pg.Client, sql: string, path: string, segmentRows: number): Promise<{ rows: number; bytes: number; sha256: string }> {
  const binary = snapshotFileFormat(path) === 'binary';
  const stream = client.query(copyTo(binary ? `${sql} (FORMAT binary)` : sql));
  const parts: Buffer[] = [];
  for await (const piece of stream as AsyncIterable<Buffer>) parts.push(piece);
  const all = Buffer.concat(parts);
  const data = binary ? all.subarray(BINARY_COPY_HEADER.length, all.length - BINARY_COPY_TRAILER.length) : all;
  const { index, bytes: indexBytes, sha256 } = encodeChunkIndex(binary ? 'binary' : 'text', segmentsOf(data, binary, { ...DEFAULT_SEGMENT_LIMITS, rows: segmentRows }));
  for (const [file, bytes] of [[`${path}${INDEX_SUFFIX}`, indexBytes], [path, data]] as const) {
    const fd = openSync(`${file}.tmp`, 'w');
    writeSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(`${file}.tmp`, file);
  }
  return { rows: index.rows, bytes: index.bytes, sha256 };
}

/** Exports the snapshot of `schemas` of the source database into `dir` (plan, files, sequences, finished run). */
export async function fakeExport(
  dir: ExportDir,
  server: HarnessServer,
  database: string,
  schemas: string[],
  options: {
    only?: 'plan' | 'files';
    segmentRows?: number;
    /** 'replication-slot' records the run as a live export's snapshot (the import then applies the change stream). */
    kind?: 'exported-snapshot' | 'replication-slot';
  } = {},
): Promise<void> {
  const client = new pg.Client(adminConfig(server, database));
  await client.connect();
  const store = openStore(dir.storeFile);
  try {
    // The real exporter works from the catalog `export schema` records; the import checks binary files against it.
    replaceSourceCatalog(store, await readPostgresCatalog(client, await readServerInfo(client), schemas));
    const plan = await planOf(client, schemas);
    if (options.only !== 'files') recordSnapshotPlan(store, plan.tables, plan.chunks);
    if (options.only === 'plan') return;
    const runId = `run-${Date.now()}`;
    recordSnapshotRun(store, runId, options.kind ?? 'exported-snapshot');
    for (const chunk of plan.chunks) {
      const table = plan.tables.find((t) => t.tableKey === chunk.tableKey);
      if (table === undefined) throw new Error('no table');
      const sql = `COPY ${quoteIdent(chunk.sourceSchema)}.${quoteIdent(chunk.sourceRelation)} (${table.columns.map(quoteIdent).join(', ')}) TO STDOUT`;
      const written = await copyToFile(client, sql, join(dir.dataDir, chunk.file), options.segmentRows ?? DEFAULT_SEGMENT_LIMITS.rows);
      markChunkExported(store, chunk.chunkId, runId, written.rows, written.bytes, written.sha256);
    }
    const sequences = (
      await client.query<{ schemaname: string; sequencename: string; last_value: string | null; start_value: string }>(
        'SELECT schemaname, sequencename, last_value::text, start_value::text FROM pg_sequences WHERE schemaname = ANY($1)',
        [schemas],
      )
    ).rows;
    recordSequenceValues(
      store,
      sequences.map((s) => ({
        schema: s.schemaname,
        name: s.sequencename,
        lastValue: s.last_value ?? s.start_value,
        isCalled: s.last_value !== null,
        readAt: new Date().toISOString(),
      })),
    );
    finishSnapshotRun(store, runId);
  } finally {
    store.close();
    await client.end();
  }
}

/** md5 of every table's rows (partitions and roots), keyed by schema.table, on one database. */
export async function tableChecksums(server: HarnessServer, database: string, schemas: string[]): Promise<Record<string, string>> {
  const client = new pg.Client(adminConfig(server, database));
  await client.connect();
  try {
    const tables = (
      await client.query<{ schema: string; name: string }>(
        `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p') ORDER BY 1, 2`,
        [schemas],
      )
    ).rows;
    const result: Record<string, string> = {};
    for (const t of tables) {
      const name = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
      const row = (await client.query<{ md5: string | null; n: string }>(`SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) AS md5, count(*) AS n FROM ${name} t`)).rows[0];
      result[`${t.schema}.${t.name}`] = `${row?.n ?? '?'} ${row?.md5 ?? 'empty'}`;
    }
    return result;
  } finally {
    await client.end();
  }
}

/** Sequence values (last_value, is_called) per sequence. */
export async function sequenceValues(server: HarnessServer, database: string, schemas: string[]): Promise<Record<string, string>> {
  const client = new pg.Client(adminConfig(server, database));
  await client.connect();
  try {
    const rows = (
      await client.query<{ schemaname: string; sequencename: string; last_value: string | null }>(
        'SELECT schemaname, sequencename, last_value::text FROM pg_sequences WHERE schemaname = ANY($1)',
        [schemas],
      )
    ).rows;
    return Object.fromEntries(rows.map((r) => [`${r.schemaname}.${r.sequencename}`, r.last_value ?? 'null']));
  } finally {
    await client.end();
  }
}
