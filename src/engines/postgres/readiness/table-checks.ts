// What each selected table brings to change capture: it exists, it writes WAL (not UNLOGGED), its
// rows can be identified in UPDATEs and DELETEs, and whether it has generated columns the stream
// will not carry. Replica identity is checked where it decides something: on every table that holds
// rows (ordinary tables and leaf partitions: their identity decides what the WAL carries and whether
// PostgreSQL accepts UPDATE and DELETE once they are published) and on every partitioned table the
// publication names (its identity decides which columns the stream marks as the key); and the two
// must agree (partition-identity.ts).

import { quoteIdent } from '../../../core/identifiers.js';
import { readinessFinding, type ReadinessFinding } from '../../capture-readiness.js';
import type { SelectedTableRow } from './readiness-queries.js';
import { partitionIdentityFindings } from './partition-identity.js';
import { replicaIdentityFindings } from './replica-identity.js';
import { holdsRows, quotedTable, type TableTree } from './table-tree.js';

/** Every table finding, in table order: missing names first. */
export function tableFindings(tree: TableTree, database: string, serverVersionNum: number): ReadinessFinding[] {
  const findings: ReadinessFinding[] = tree.missing.map((name) =>
    readinessFinding(
      'TABLE_NOT_FOUND',
      { kind: 'table', name: quotedTable(name) },
      `No table or partitioned table ${quotedTable(name)} exists in the database ${quoteIdent(database)}.`,
      [{ sql: [], note: 'check the table and schema lists: unquoted names fold to lower case, "Quoted" names are taken exactly' }],
    ),
  );
  for (const row of tree.all) {
    findings.push(...unloggedFindings(row));
    if (holdsRows(row) || tree.isMember(row)) findings.push(...replicaIdentityFindings(row, tree.publishedAs(row)));
    if (tree.isMember(row)) findings.push(...generatedColumnFindings(row, serverVersionNum));
  }
  findings.push(...partitionIdentityFindings(tree));
  return findings;
}

function unloggedFindings(row: SelectedTableRow): ReadinessFinding[] {
  if (row.persistence !== 'u') return [];
  const table = quotedTable(row);
  return [
    readinessFinding(
      'UNLOGGED_TABLE',
      { kind: 'table', name: table },
      `${table} is UNLOGGED: its changes are not written to the WAL, so they can never be captured, and PostgreSQL ` +
        'refuses to add it to a publication.',
      [
        { sql: [`ALTER TABLE ${table} SET LOGGED`], note: 'rewrites the table and writes all of it to the WAL' },
        { sql: [], note: 'leave it out of the migration with --exclude-table-list' },
      ],
    ),
  ];
}

function generatedColumnFindings(row: SelectedTableRow, serverVersionNum: number): ReadinessFinding[] {
  // PostgreSQL 18 can publish stored generated columns; godwit does not need them either way.
  if (row.generated_columns.length === 0 || serverVersionNum >= 180_000) return [];
  const columns = row.generated_columns.map(quoteIdent).join(', ');
  return [
    readinessFinding(
      'GENERATED_COLUMNS_NOT_STREAMED',
      { kind: 'table', name: quotedTable(row) },
      `${row.generated_columns.length === 1 ? `The stored generated column ${columns} is` : `The stored generated columns ${columns} are`} ` +
        'not carried by the change stream before PostgreSQL 18: the other side computes them, so they must be ' +
        'generated the same way there (never written by godwit).',
    ),
  ];
}
