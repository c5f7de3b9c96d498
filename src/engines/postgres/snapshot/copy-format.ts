// Which COPY format a table's snapshot travels in. COPY binary costs the source about 40% less CPU to
// write and the target about 25% less to read than text (pgbench_accounts here: 1.1 s against 1.8 s
// out, 2.4 s against 3.3 s in), but its values carry type OIDs inside arrays and composites, and each
// type's binary form is its own. So binary is used only when every copied column is a built-in type
// (or an array of one) whose binary form has been the same in every PostgreSQL release godwit reads
// from or writes to, YugabyteDB included; any other column (enums, domains, composites, extension
// types, arrays of those, types without a binary form) keeps the whole table in text format.

import type { SourceColumn } from '../../source-catalog.js';
import type { SnapshotFileFormat } from '../../snapshot-engine.js';

/** Built-in types (pg_catalog, fixed OIDs) whose binary send/receive format is stable across versions. */
const STABLE_BINARY_TYPES = new Set([
  'bool',
  'int2',
  'int4',
  'int8',
  'float4',
  'float8',
  'numeric',
  'text',
  'varchar',
  'bpchar',
  'bytea',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
  'jsonb',
  'json',
  'inet',
  'cidr',
]);

/** The snapshot file format for a table copied with `columns` (generated columns already left out). */
export function postgresCopyFormat(columns: readonly Pick<SourceColumn, 'typeSchema' | 'typeName'>[]): SnapshotFileFormat {
  const stable = columns.every((c) => c.typeSchema === 'pg_catalog' && STABLE_BINARY_TYPES.has(c.typeName.startsWith('_') ? c.typeName.slice(1) : c.typeName));
  return columns.length > 0 && stable ? 'binary' : 'text';
}

/** `format_type` of a character(n) column: blank-padded to n on input. Plain `bpchar` (no length) keeps its spaces. */
const FIXED_CHARACTER = /^character\(\d+\)$/;

/**
 * Per column, true for character(n): PostgreSQL (and YugabyteDB) store its values padded to n and pad
 * any shorter input again (bpcharin, bpcharrecv), so trailing spaces carry nothing. A trailing 0x20
 * byte is a space in every server encoding (none uses it inside a multibyte character).
 */
export function postgresBlankPadded(columns: readonly Pick<SourceColumn, 'typeSchema' | 'typeName' | 'dataType'>[]): boolean[] {
  return columns.map((c) => c.typeSchema === 'pg_catalog' && c.typeName === 'bpchar' && FIXED_CHARACTER.test(c.dataType));
}
