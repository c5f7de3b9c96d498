// The export plan: which relations are read, split into which chunks, into which files. A relation
// larger than the chunk size is split into ctid page ranges (a TID range scan from PostgreSQL 14 on)
// so one big table keeps every job busy; the last range is open-ended so rows on pages added after the
// size was read are not lost. Also the SQL each chunk runs, and the order chunks are read in.

import { createHash } from 'node:crypto';
import { StateError } from '../../core/errors.js';
import { quoteIdent } from '../../core/identifiers.js';
import type { CatalogName } from '../../engines/source-catalog.js';
import type { SqlSession } from '../../engines/sql-session.js';
import type { SnapshotFileFormat } from '../../engines/snapshot-engine.js';
import type { SnapshotChunk, SnapshotTable } from '../../state/snapshot-store.js';
import { snapshotFileFormat, snapshotFileName } from '../snapshot-file-format.js';
import { displayName, type SelectedTable } from './table-selection.js';

/**
 * Default chunk size: 16 MB of heap (8 kB pages). Small enough that an import running side by side
 * starts loading soon after the export starts and that the last chunks do not leave one job alone;
 * large enough that the per-chunk cost (one query, one fsync, one store record) stays negligible.
 */
export const DEFAULT_CHUNK_PAGES = 2048;
/** First PostgreSQL version with TID range scans; older servers read whole relations. */
export const TID_RANGE_SCAN_VERSION_NUM = 140_000;

/** A relation's heap as seen under the snapshot. */
export interface RelationSize {
  schema: string;
  name: string;
  /** `r` for a table with storage; `p` for a partitioned table (no rows of its own). */
  relkind: string;
  pages: number;
}

/** A chunk as planned, before the store adds its export state. */
export type PlannedChunk = Omit<SnapshotChunk, 'state' | 'runId' | 'rowCount' | 'byteCount' | 'sha256' | 'exportedAt'>;

/** Reads page counts (pg_relation_size / block_size) and kinds of `relations` in the snapshot session. */
export async function readRelationSizes(session: SqlSession, relations: readonly CatalogName[]): Promise<Map<string, RelationSize>> {
  const result = await session.query<{ schema: string; name: string; relkind: string; pages: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
            (pg_relation_size(c.oid) / current_setting('block_size')::bigint)::text AS pages
       FROM unnest($1::text[], $2::text[]) AS r(schema_name, rel_name)
       JOIN pg_namespace n ON n.nspname = r.schema_name
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel_name`,
    [relations.map((r) => r.schema), relations.map((r) => r.name)],
  );
  return new Map(result.rows.map((row) => [relationKey(row), { schema: row.schema, name: row.name, relkind: row.relkind, pages: Number(row.pages) }]));
}

/** Map key of a relation. */
export function relationKey(name: CatalogName): string {
  return JSON.stringify([name.schema, name.name]);
}

/** The folder under data/ of a table: readable, safe on any file system, unique by a hash of the key. */
export function tableFolder(tableKey: string, schema: string, name: string): string {
  const readable = `${schema}.${name}`.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 80);
  return `${readable}-${createHash('sha256').update(tableKey).digest('hex').slice(0, 8)}`;
}

/**
 * Plans the tables and chunks. Every planned relation must exist under the snapshot; partitioned
 * relations without storage are skipped (their leaves are planned themselves).
 */
export function planChunks(
  tables: readonly SelectedTable[],
  sizes: ReadonlyMap<string, RelationSize>,
  options: { chunkPages: number; serverVersionNum: number; formatOf: (table: SelectedTable) => SnapshotFileFormat },
): { tables: SnapshotTable[]; chunks: PlannedChunk[] } {
  const chunks: PlannedChunk[] = [];
  for (const table of tables) {
    const format = options.formatOf(table);
    const folder = tableFolder(table.tableKey, table.schema, table.name);
    let chunkNo = 0;
    const add = (relation: CatalogName, firstPage: number | null, endPage: number | null): void => {
      chunkNo++;
      const base = `${folder}/${String(chunkNo).padStart(5, '0')}`;
      chunks.push({
        chunkId: base,
        tableKey: table.tableKey,
        sourceSchema: relation.schema,
        sourceRelation: relation.name,
        firstPage,
        endPage,
        file: snapshotFileName(base, format),
      });
    };
    for (const relation of table.relations) {
      const size = sizes.get(relationKey(relation));
      if (size === undefined) {
        throw new StateError(`The source table ${displayName(relation)} no longer exists (it is in the catalog recorded by \`export schema\`).`, {
          hint: 'Run `godwit export schema` again so the recorded catalog matches the source, or leave the table out with --exclude-table-list.',
        });
      }
      if (size.relkind !== 'r') continue;
      const split = options.serverVersionNum >= TID_RANGE_SCAN_VERSION_NUM && size.pages > options.chunkPages;
      if (!split) {
        add(relation, null, null);
        continue;
      }
      for (let first = 0; first < size.pages; first += options.chunkPages) {
        const last = first + options.chunkPages >= size.pages;
        add(relation, first, last ? null : first + options.chunkPages);
      }
    }
  }
  return {
    tables: tables.map((t) => ({ tableKey: t.tableKey, schema: t.schema, name: t.name, columns: t.columns })),
    chunks,
  };
}

/**
 * The COPY statement of a chunk, in the format its file name says: the whole relation, or one page
 * range of it (`FROM ONLY` so inheritance children are never read twice). An open-ended last range
 * has no end.
 */
export function chunkCopySql(chunk: Pick<SnapshotChunk, 'sourceSchema' | 'sourceRelation' | 'firstPage' | 'endPage' | 'file'>, columns: readonly string[]): string {
  const relation = `${quoteIdent(chunk.sourceSchema)}.${quoteIdent(chunk.sourceRelation)}`;
  const list = columns.map(quoteIdent).join(', ');
  const format = snapshotFileFormat(chunk.file) === 'binary' ? ' (FORMAT binary)' : '';
  if (chunk.firstPage === null) return columns.length === 0 ? `COPY ${relation} TO STDOUT${format}` : `COPY ${relation} (${list}) TO STDOUT${format}`;
  const conditions = [`ctid >= '(${chunk.firstPage},0)'::tid`];
  if (chunk.endPage !== null) conditions.push(`ctid < '(${chunk.endPage},0)'::tid`);
  return `COPY (SELECT ${list} FROM ONLY ${relation} WHERE ${conditions.join(' AND ')}) TO STDOUT${format}`;
}

/** Pages a chunk is expected to read, for largest-first scheduling and progress estimates. */
export function chunkPages(chunk: Pick<SnapshotChunk, 'sourceSchema' | 'sourceRelation' | 'firstPage' | 'endPage'>, sizes: ReadonlyMap<string, RelationSize>): number {
  const pages = sizes.get(relationKey({ schema: chunk.sourceSchema, name: chunk.sourceRelation }))?.pages ?? 0;
  if (chunk.firstPage === null) return pages;
  if (chunk.endPage === null) return Math.max(pages - chunk.firstPage, 0);
  return chunk.endPage - chunk.firstPage;
}
