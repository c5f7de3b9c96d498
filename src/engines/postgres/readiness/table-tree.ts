// The selected tables as the publication sees them: which ones it names (the selected tables whose
// ancestors are not selected: partitions are published through their root with
// publish_via_partition_root = true), which ones hold rows (ordinary tables and leaf partitions),
// and which named table each partition's changes are published as.

import { quoteQualified } from '../../../core/identifiers.js';
import type { CatalogName } from '../../source-catalog.js';
import type { SelectedTableRow } from './readiness-queries.js';

/** The selected tables and their partitions, arranged for the checks. */
export interface TableTree {
  /** Every table read, selected or reached as a partition of a selected one. */
  all: SelectedTableRow[];
  /** The tables CREATE PUBLICATION ... FOR TABLE names: ownership is checked on these. */
  members: SelectedTableRow[];
  /** The tables the publication publishes changes as (partitioned members included). */
  isMember(row: SelectedTableRow): boolean;
  /** The member a table's changes are published as (itself for a member). */
  publishedAs(row: SelectedTableRow): SelectedTableRow;
  /** Requested names that matched no table. */
  missing: CatalogName[];
}

/** Arranges the rows of SELECTED_TABLES_QUERY; `requested` is the input, to tell which names matched nothing. */
export function buildTableTree(rows: SelectedTableRow[], requested: readonly CatalogName[]): TableTree {
  const byId = new Map(rows.map((row) => [row.relid, row]));
  const memberOf = new Map<string, SelectedTableRow>();
  const publishedAs = (row: SelectedTableRow): SelectedTableRow => {
    const known = memberOf.get(row.relid);
    if (known !== undefined) return known;
    // The topmost selected table on the way up; a partition reached from a selected table has one.
    let member = row;
    for (let current = row; current.parent_relid !== null; ) {
      const parent = byId.get(current.parent_relid);
      if (parent === undefined) break;
      if (parent.requested) member = parent;
      current = parent;
    }
    memberOf.set(row.relid, member);
    return member;
  };
  const isMember = (row: SelectedTableRow): boolean => publishedAs(row).relid === row.relid;
  const found = new Set(rows.map((row) => nameKey(row)));
  const missing = uniqueNames(requested).filter((name) => !found.has(nameKey(name)));
  return { all: rows, members: rows.filter(isMember), isMember, publishedAs, missing };
}

/** True for a table that holds rows (not a partitioned parent): its replica identity decides what the WAL carries. */
export function holdsRows(row: SelectedTableRow): boolean {
  return row.relkind === 'r';
}

/** A table's name quoted as SQL writes it. */
export function quotedTable(name: CatalogName): string {
  return quoteQualified({ schema: name.schema, name: name.name });
}

function nameKey(name: CatalogName): string {
  return JSON.stringify([name.schema, name.name]);
}

function uniqueNames(names: readonly CatalogName[]): CatalogName[] {
  const seen = new Map<string, CatalogName>();
  for (const name of names) seen.set(nameKey(name), { schema: name.schema, name: name.name });
  return [...seen.values()];
}
