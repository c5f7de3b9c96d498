// Which tables the snapshot copies: the source catalog `export schema` recorded, narrowed by
// --table-list / --exclude-table-list. A partitioned table is one snapshot table keyed by its root;
// its leaf partitions are the relations read, so the importer loads through the root and the target
// routes every row to its partition. Generated columns are never copied.

import { UsageError } from '../../core/errors.js';
import { displayIdent, quoteIdent, type QualifiedName } from '../../core/identifiers.js';
import type { CatalogName, SourceCatalog, SourceColumn, SourceTable } from '../../engines/source-catalog.js';

/** One table of the snapshot with the relations whose rows belong to it. */
export interface SelectedTable {
  /** `"schema"."name"` of the root (see SnapshotTable.tableKey). */
  tableKey: string;
  schema: string;
  name: string;
  /** Copied columns in file order: every column except generated ones. */
  columns: string[];
  /** The same columns as the catalog describes them (types decide the file format). */
  sourceColumns: SourceColumn[];
  /** The relations to read: the table itself, or each partition of a partitioned root (leaves are found under the snapshot). */
  relations: CatalogName[];
}

/** The key every chunk and batch refers to: the quoted, schema-qualified root name. */
export function tableKeyOf(name: CatalogName): string {
  return `${quoteIdent(name.schema)}.${quoteIdent(name.name)}`;
}

/** A name as the user would type it back (`app.orders`, `"Sales Data"."Order Lines"`). */
export function displayName(name: CatalogName): string {
  return `${displayIdent(name.schema)}.${displayIdent(name.name)}`;
}

/**
 * Selects the snapshot tables from the recorded catalog. A listed name that matches no table is an
 * error naming it (a typo must not silently copy nothing); naming a partition asks for its root.
 */
export function selectTables(
  catalog: SourceCatalog,
  include: readonly QualifiedName[],
  exclude: readonly QualifiedName[],
): SelectedTable[] {
  const roots = catalog.tables.filter((t) => t.partition === null);
  checkNames(catalog, include, '--table-list');
  checkNames(catalog, exclude, '--exclude-table-list');
  const matches = (table: SourceTable, names: readonly QualifiedName[]): boolean =>
    names.some((n) => n.name === table.name && (n.schema === undefined || n.schema === table.schema));
  const chosen = roots.filter((t) => (include.length === 0 || matches(t, include)) && !matches(t, exclude));
  if (chosen.length === 0) {
    throw new UsageError('No table is selected for the data export.', {
      hint:
        `The source catalog of schemas ${catalog.schemas.join(', ')} has ${roots.length} table(s); ` +
        'check --table-list and --exclude-table-list, or the schemas given to `godwit export schema`.',
    });
  }
  return chosen.map((table) => ({
    tableKey: tableKeyOf(table),
    schema: table.schema,
    name: table.name,
    columns: table.columns.filter((c) => c.generated === null).map((c) => c.name),
    sourceColumns: table.columns.filter((c) => c.generated === null),
    relations:
      table.kind === 'partitioned'
        ? catalog.tables
            .filter((t) => t.partition !== null && t.partition.root.schema === table.schema && t.partition.root.name === table.name)
            .map((t) => ({ schema: t.schema, name: t.name }))
        : [{ schema: table.schema, name: table.name }],
  }));
}

function checkNames(catalog: SourceCatalog, names: readonly QualifiedName[], flag: string): void {
  for (const wanted of names) {
    const found = catalog.tables.filter((t) => t.name === wanted.name && (wanted.schema === undefined || wanted.schema === t.schema));
    const shown = wanted.schema === undefined ? displayIdent(wanted.name) : `${displayIdent(wanted.schema)}.${displayIdent(wanted.name)}`;
    if (found.length === 0) {
      throw new UsageError(`${flag}: table ${shown} matches no table of the source catalog (schemas ${catalog.schemas.map(displayIdent).join(', ')}).`, {
        hint: 'Names follow SQL rules: unquoted names fold to lower case; quote mixed-case names ("Sales Data"."Order Lines").',
      });
    }
    const partition = found.find((t) => t.partition !== null);
    if (partition?.partition != null && found.every((t) => t.partition !== null)) {
      throw new UsageError(`${flag}: ${shown} is a partition of ${displayName(partition.partition.root)}; name the partitioned table instead.`, {
        hint: 'A partitioned table is exported as a whole, through its root table, so that the target routes every row.',
      });
    }
  }
}
