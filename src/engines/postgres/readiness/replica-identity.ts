// Does a table's replica identity identify rows, as PostgreSQL itself decides it, and what exactly
// fixes it when it does not. PostgreSQL's rules (relcache and ALTER TABLE ... REPLICA IDENTITY):
// DEFAULT uses the primary key only when it is valid and not DEFERRABLE (a deferrable primary key
// leaves the table without identity: UPDATEs fail once it is published, verified on 15 and 17);
// USING INDEX needs a valid, unique, non-partial, non-deferrable index on plain NOT NULL columns
// and behaves like NOTHING once that index is dropped; FULL logs the whole old row.

import { quoteIdent } from '../../../core/identifiers.js';
import { readinessFinding, type ReadinessFinding, type ReadinessFix } from '../../capture-readiness.js';
import type { SelectedTableRow, UniqueIndexFacts } from './readiness-queries.js';
import { quotedTable } from './table-tree.js';

/** What identifies a row of a table in the change stream. */
export type IdentityVerdict =
  | { kind: 'key'; index: UniqueIndexFacts }
  | { kind: 'full' }
  | { kind: 'none'; reason: string };

/** The replica identity a table effectively has. */
export function effectiveReplicaIdentity(row: SelectedTableRow): IdentityVerdict {
  switch (row.replica_identity) {
    case 'f':
      return { kind: 'full' };
    case 'n':
      return { kind: 'none', reason: 'has REPLICA IDENTITY NOTHING' };
    case 'i': {
      const index = row.unique_indexes.find((candidate) => candidate.replica_identity);
      if (index !== undefined && index.valid && index.immediate && !index.partial) return { kind: 'key', index };
      return { kind: 'none', reason: 'has REPLICA IDENTITY USING INDEX on an index that is gone or unusable, which acts as NOTHING' };
    }
    default: {
      // 'd', and YugabyteDB's 'c' (CHANGE), which also identifies rows by the primary key.
      const primary = row.unique_indexes.find((candidate) => candidate.primary);
      if (primary === undefined) return { kind: 'none', reason: 'has no primary key and REPLICA IDENTITY DEFAULT' };
      if (!primary.immediate) {
        return {
          kind: 'none',
          reason: `has a DEFERRABLE primary key ${quoteIdent(primary.name)}, which PostgreSQL never uses as replica identity`,
        };
      }
      if (!primary.valid) return { kind: 'none', reason: `has a primary key index ${quoteIdent(primary.name)} that is not valid` };
      return { kind: 'key', index: primary };
    }
  }
}

/** A unique index that `REPLICA IDENTITY USING INDEX` accepts as it is. */
export function isUsableIdentityIndex(index: UniqueIndexFacts): boolean {
  return isKeyShaped(index) && index.nullable_columns.length === 0;
}

// Unique, valid, not partial, not deferrable, no expression: usable once its columns are NOT NULL.
function isKeyShaped(index: UniqueIndexFacts): boolean {
  return index.valid && index.immediate && !index.partial && index.columns.every((column) => column !== null);
}

function columnList(index: UniqueIndexFacts): string {
  return index.columns.map((column) => quoteIdent(column ?? '?')).join(', ');
}

const FULL_COST =
  'every UPDATE and DELETE then writes the whole old row to the WAL, and the other side finds the row by ' +
  'comparing every column: slow on big tables, and identical rows cannot be told apart';

/** The fixes for a table without identity, cheapest first; each is SQL that runs as written. */
export function identityFixes(row: SelectedTableRow): ReadinessFix[] {
  const table = quotedTable(row);
  const fixes: ReadinessFix[] = [];
  const primary = row.unique_indexes.find((index) => index.primary);
  const usable = row.unique_indexes.filter((index) => !index.primary && isUsableIdentityIndex(index));
  const nullable = row.unique_indexes.filter((index) => !index.primary && isKeyShaped(index) && index.nullable_columns.length > 0);

  if (primary !== undefined && isUsableIdentityIndex(primary) && row.replica_identity !== 'd') {
    fixes.push({ sql: [`ALTER TABLE ${table} REPLICA IDENTITY DEFAULT`], note: `uses the primary key ${quoteIdent(primary.name)}` });
  }
  for (const index of usable) {
    fixes.push({
      sql: [`ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${quoteIdent(index.name)}`],
      note: `the unique index ${quoteIdent(index.name)} on NOT NULL columns (${columnList(index)}) identifies rows`,
    });
  }
  if (primary !== undefined && !primary.immediate && primary.columns.every((column) => column !== null)) {
    fixes.push({
      sql: [`ALTER TABLE ${table} DROP CONSTRAINT ${quoteIdent(primary.name)}, ADD PRIMARY KEY (${columnList(primary)})`],
      note: 'the same key, not deferrable; rebuilds the index, and foreign keys that reference it must be dropped first',
    });
  }
  if (primary === undefined) {
    for (const index of nullable) {
      const setNotNull = index.nullable_columns.map((column) => `ALTER COLUMN ${quoteIdent(column)} SET NOT NULL`).join(', ');
      fixes.push({
        sql: [`ALTER TABLE ${table} ${setNotNull}, REPLICA IDENTITY USING INDEX ${quoteIdent(index.name)}`],
        note: `makes the key columns of the unique index ${quoteIdent(index.name)} NOT NULL; fails if a row holds NULL there`,
      });
    }
    const partitioned = row.relkind === 'p';
    fixes.push({
      sql: [],
      note:
        `add a primary key: ALTER TABLE ${table} ADD PRIMARY KEY (<columns that identify a row>)` +
        (partitioned ? ', including the partition key columns; every partition gets it too' : ''),
    });
  }
  const fullNote = row.relkind === 'p' ? `together with REPLICA IDENTITY FULL on every partition; ${FULL_COST}` : FULL_COST;
  fixes.push({ sql: [`ALTER TABLE ${table} REPLICA IDENTITY FULL`], note: fullNote });
  return fixes;
}

/** The replica identity findings of one table: a blocker without identity, a warning for FULL. */
export function replicaIdentityFindings(row: SelectedTableRow, publishedAs: SelectedTableRow): ReadinessFinding[] {
  const object = { kind: 'table' as const, name: quotedTable(row) };
  const verdict = effectiveReplicaIdentity(row);
  if (verdict.kind === 'none') {
    return [readinessFinding('TABLE_WITHOUT_REPLICA_IDENTITY', object, noIdentityMessage(row, publishedAs, verdict.reason), identityFixes(row))];
  }
  // A partitioned table holds no rows: FULL there costs no WAL (its partitions' identity does).
  if (verdict.kind === 'full' && row.relkind === 'r') {
    return [readinessFinding('REPLICA_IDENTITY_FULL_COST', object, `It has REPLICA IDENTITY FULL: ${FULL_COST}.`, fullCostFixes(row))];
  }
  return [];
}

function noIdentityMessage(row: SelectedTableRow, publishedAs: SelectedTableRow, reason: string): string {
  if (row.relkind === 'p') {
    return (
      `This partitioned table ${reason}. The changes of its partitions are published as this table ` +
      '(publish_via_partition_root), whose description then names no key columns, so updated and deleted rows ' +
      'cannot be found on the other side.'
    );
  }
  const subject = publishedAs.relid === row.relid ? 'The table' : `This partition of ${quotedTable(publishedAs)}`;
  return (
    `${subject} ${reason}. Its UPDATEs and DELETEs cannot be streamed, and once it is published ` +
    'PostgreSQL rejects every UPDATE and DELETE on it ("does not have a replica identity and publishes updates").'
  );
}

function fullCostFixes(row: SelectedTableRow): ReadinessFix[] {
  const table = quotedTable(row);
  const primary = row.unique_indexes.find((index) => index.primary);
  if (primary !== undefined && isUsableIdentityIndex(primary)) {
    return [{ sql: [`ALTER TABLE ${table} REPLICA IDENTITY DEFAULT`], note: `uses the primary key ${quoteIdent(primary.name)}` }];
  }
  const usable = row.unique_indexes.filter(isUsableIdentityIndex);
  if (usable.length > 0) {
    return usable.map((index) => ({
      sql: [`ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${quoteIdent(index.name)}`],
      note: `the unique index ${quoteIdent(index.name)} on NOT NULL columns (${columnList(index)}) identifies rows`,
    }));
  }
  return [{ sql: [], note: `add a primary key: ALTER TABLE ${table} ADD PRIMARY KEY (<columns that identify a row>), then REPLICA IDENTITY DEFAULT` }];
}
