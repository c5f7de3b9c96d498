// COPY binary carries no type names: each value is read by the target column's receive function as
// it comes. A target column of the same type reads it exactly; another type either fails
// ("incorrect binary data format") or, worse, reads it without complaint and means something else
// (a `timestamp` read as `timestamptz` shifts by the session's time zone offset). A DBA may well edit
// the exported schema (README: "edit the files if the target needs changes"), so before the first
// batch of a binary table is loaded, its target columns are checked against the source types the
// export recorded; a difference stops the import, naming table, column and both types, with nothing
// of that table loaded.

import { GodwitError } from '../../core/errors.js';
import { quoteIdent } from '../../core/identifiers.js';
import type { SourceColumn } from '../../engines/source-catalog.js';
import type { SqlSession } from '../../engines/sql-session.js';

/** The target's declared type of every column of a table, as format_type spells it. */
const TARGET_COLUMN_TYPES = `
  SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
    FROM pg_attribute a
   WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`;

/**
 * The type without its modifier, with the string types that share one binary form (the bytes of
 * the text) taken as one: the receive function applies the length or scale modifier itself, exactly
 * as text input would.
 */
export function binaryTypeClass(formatted: string): string {
  const array = formatted.endsWith('[]') ? '[]' : '';
  const base = formatted.slice(0, formatted.length - array.length).replace(/\(.*?\)/g, '').replace(/\s+/g, ' ').trim();
  const textual = base === 'text' || base === 'character varying' || base === 'character';
  return `${textual ? 'text' : base}${array}`;
}

/** Throws when a target column would read the source's binary values as another type. */
export async function assertBinaryColumnsMatch(
  session: SqlSession,
  table: { tableKey: string; columns: readonly string[]; displayName: string },
  sourceColumns: readonly Pick<SourceColumn, 'name' | 'dataType'>[],
): Promise<void> {
  const { rows } = await session.query<{ name: string; type: string }>(TARGET_COLUMN_TYPES, [table.tableKey]);
  const target = new Map(rows.map((r) => [r.name, r.type]));
  const source = new Map(sourceColumns.map((c) => [c.name, c.dataType]));
  for (const column of table.columns) {
    const from = source.get(column);
    const to = target.get(column);
    // A missing table or column is reported by the load itself, naming the batch.
    if (from === undefined || to === undefined) continue;
    if (binaryTypeClass(from) !== binaryTypeClass(to)) {
      throw new GodwitError(
        `Table ${table.displayName}, column ${quoteIdent(column)}: the snapshot holds ${from} values in COPY binary format, ` +
          `but the target column is ${to}; binary values are read by the target column's type as they are, so nothing of this table was loaded.`,
        {
          hint:
            `Give the target column the source's type (${from}) and change it after the import, ` +
            'or export the snapshot again in text format (`godwit export data from source --start-clean --snapshot-format text`), which converts values as it loads them.',
        },
      );
    }
  }
}
