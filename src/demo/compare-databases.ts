// The demo's proof at each cutover: every table of the application schema compared on both
// databases, row count and an MD5 over all rows in a canonical order (a partitioned table is compared
// through its root, so rows in the wrong partition still count as moved, not lost), plus the
// sequences, which on the database taking over must be at or past the other side's.

import Table from 'cli-table3';
import pg from 'pg';

/** One table on both sides. */
export interface TableComparison {
  table: string;
  sourceRows: number;
  targetRows: number;
  identical: boolean;
}

/** A sequence's last value on both sides. */
export interface SequenceComparison {
  sequence: string;
  sourceValue: number | null;
  targetValue: number | null;
}

const TABLES_SQL = `
  SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`;
const SEQUENCES_SQL = `
  SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name, last_value::float8 AS value
    FROM pg_sequences WHERE schemaname = $1 ORDER BY 1`;

async function fingerprints(config: pg.ClientConfig, schema: string): Promise<Map<string, { rows: number; md5: string }>> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const result = new Map<string, { rows: number; md5: string }>();
    for (const { name } of (await client.query<{ name: string }>(TABLES_SQL, [schema])).rows) {
      // `name` comes from quote_ident above.
      const { rows } = await client.query<{ n: string; md5: string | null }>(`SELECT count(*) AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS md5 FROM ${name} t`);
      result.set(name, { rows: Number(rows[0]?.n ?? 0), md5: rows[0]?.md5 ?? '' });
    }
    return result;
  } finally {
    await client.end();
  }
}

async function sequenceValues(config: pg.ClientConfig, schema: string): Promise<Map<string, number | null>> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return new Map((await client.query<{ name: string; value: number | null }>(SEQUENCES_SQL, [schema])).rows.map((r) => [r.name, r.value]));
  } finally {
    await client.end();
  }
}

/** Compares every table of `schema` on both databases. */
export async function compareDatabases(source: pg.ClientConfig, target: pg.ClientConfig, schema: string): Promise<{ tables: TableComparison[]; sequences: SequenceComparison[] }> {
  const [a, b] = await Promise.all([fingerprints(source, schema), fingerprints(target, schema)]);
  const tables = [...new Set([...a.keys(), ...b.keys()])].sort().map((table) => {
    const left = a.get(table);
    const right = b.get(table);
    return { table, sourceRows: left?.rows ?? -1, targetRows: right?.rows ?? -1, identical: left !== undefined && right !== undefined && left.rows === right.rows && left.md5 === right.md5 };
  });
  const [sa, sb] = await Promise.all([sequenceValues(source, schema), sequenceValues(target, schema)]);
  const sequences = [...new Set([...sa.keys(), ...sb.keys()])].sort().map((sequence) => ({ sequence, sourceValue: sa.get(sequence) ?? null, targetValue: sb.get(sequence) ?? null }));
  return { tables, sequences };
}

/** The comparison as a terminal table. */
export function renderComparison(tables: readonly TableComparison[], sequences: readonly SequenceComparison[]): string {
  const style = { head: [], border: [] };
  const table = new Table({ head: ['table', 'source rows', 'target rows', 'result'], style });
  for (const t of tables) table.push([t.table, t.sourceRows, t.targetRows, t.identical ? 'identical' : 'DIFFERENT']);
  const seq = new Table({ head: ['sequence', 'source last value', 'target last value'], style });
  for (const s of sequences) seq.push([s.sequence, s.sourceValue ?? 'not called', s.targetValue ?? 'not called']);
  return `${table.toString()}\n${seq.toString()}`;
}
