// Published via the partition root, a partition's changes travel under the root's description: the
// root's replica identity says which columns are the key (the Relation message), while the
// partition's own identity decides which old values the WAL holds. The two must agree: with FULL on
// the root, every partition must log whole old rows (FULL) too; with a key on the root, every
// partition must log at least the root's key columns when they change (FULL, or an identity whose
// columns include them). Otherwise an UPDATE arrives without the old values its key needs and the
// row cannot be found on the other side (a native subscriber skips such a row with only a log line).

import { quoteIdent } from '../../../core/identifiers.js';
import { readinessFinding, type ReadinessFinding, type ReadinessFix } from '../../capture-readiness.js';
import type { SelectedTableRow } from './readiness-queries.js';
import { effectiveReplicaIdentity, isUsableIdentityIndex, type IdentityVerdict } from './replica-identity.js';
import { holdsRows, quotedTable, type TableTree } from './table-tree.js';

/** REPLICA_IDENTITY_MISMATCH for each partition whose identity does not carry what its published root's identity names. */
export function partitionIdentityFindings(tree: TableTree): ReadinessFinding[] {
  const findings: ReadinessFinding[] = [];
  for (const leaf of tree.all) {
    const root = tree.publishedAs(leaf);
    if (!holdsRows(leaf) || root.relid === leaf.relid || root.relkind !== 'p') continue;
    const rootIdentity = effectiveReplicaIdentity(root);
    const leafIdentity = effectiveReplicaIdentity(leaf);
    // Either one without identity is reported as TABLE_WITHOUT_REPLICA_IDENTITY already.
    if (rootIdentity.kind === 'none' || leafIdentity.kind === 'none' || carries(leafIdentity, rootIdentity)) continue;
    const needs = rootIdentity.kind === 'full' ? 'REPLICA IDENTITY FULL' : `the key columns (${keyColumns(rootIdentity).map(quoteIdent).join(', ')})`;
    findings.push(
      readinessFinding(
        'REPLICA_IDENTITY_MISMATCH',
        { kind: 'table', name: quotedTable(leaf) },
        `This partition of ${quotedTable(root)} logs ${describe(leafIdentity)} as the old row of an UPDATE or DELETE, but ` +
          `its changes are published as ${quotedTable(root)}, whose identity is ${needs}: updated and deleted rows ` +
          'could not be found on the other side.',
        mismatchFixes(leaf, rootIdentity),
      ),
    );
  }
  return findings;
}

function keyColumns(verdict: IdentityVerdict): string[] {
  return verdict.kind === 'key' ? verdict.index.columns.filter((column): column is string => column !== null) : [];
}

function carries(leaf: IdentityVerdict, root: IdentityVerdict): boolean {
  if (leaf.kind === 'full') return true;
  if (root.kind === 'full') return false;
  const leafColumns = new Set(keyColumns(leaf));
  return keyColumns(root).every((column) => leafColumns.has(column));
}

function describe(verdict: IdentityVerdict): string {
  if (verdict.kind === 'full') return 'the whole row';
  return `only (${keyColumns(verdict).map(quoteIdent).join(', ')})`;
}

function mismatchFixes(leaf: SelectedTableRow, rootIdentity: IdentityVerdict): ReadinessFix[] {
  const table = quotedTable(leaf);
  const fixes: ReadinessFix[] = [];
  if (rootIdentity.kind === 'key') {
    const needed = keyColumns(rootIdentity);
    for (const index of leaf.unique_indexes.filter(isUsableIdentityIndex)) {
      if (!needed.every((column) => index.columns.includes(column))) continue;
      fixes.push(
        index.primary
          ? { sql: [`ALTER TABLE ${table} REPLICA IDENTITY DEFAULT`], note: `uses its primary key ${quoteIdent(index.name)}` }
          : { sql: [`ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${quoteIdent(index.name)}`] },
      );
    }
  }
  fixes.push({ sql: [`ALTER TABLE ${table} REPLICA IDENTITY FULL`], note: 'every UPDATE and DELETE then writes the whole old row to the WAL' });
  return fixes;
}
