// SQL for the plan's steps. Every statement has a fixed text per table and column set and takes its
// rows as one text[] parameter per column, unnested and cast to the column types read from the target
// catalog: any number of rows in one statement (no 65535-parameter limit), values never in the SQL
// text, names always quoted. PostgreSQL checks the casts with each type's own input function, so what
// the stream carries in text form (NaN, arrays with NULLs and quotes, bytea hex, enums, composites...)
// lands exactly as on the origin.

import { quoteIdent } from '../core/identifiers.js';
import { StateError } from '../core/errors.js';
import type { PlanStep, SqlValue } from './batch-plan.js';
import type { TargetTable } from './target-tables.js';

/** One statement ready for a session: SQL text and its parameters. */
export interface SqlStatement {
  text: string;
  values: unknown[];
}

function qualified(table: TargetTable): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

function castType(table: TargetTable, column: string): string {
  const target = table.columns.get(column);
  if (target === undefined) {
    throw new StateError(`Table ${qualified(table)} on the target has no column ${quoteIdent(column)}, which the change stream names.`);
  }
  return target.castType;
}

/** `unnest($1::text[], $2::text[], ...) AS v(a1, a2, ...)` for `count` arrays, parameters from `first`. */
function unnestFrom(aliases: readonly string[], first: number): string {
  const arrays = aliases.map((_, i) => `$${first + i}::text[]`).join(', ');
  return `unnest(${arrays}) AS v(${aliases.join(', ')})`;
}

function columnArrays(rows: readonly (readonly SqlValue[])[], width: number): SqlValue[][] {
  const arrays: SqlValue[][] = Array.from({ length: width }, () => new Array<SqlValue>(rows.length));
  rows.forEach((row, r) => {
    for (let c = 0; c < width; c++) (arrays[c] as SqlValue[])[r] = row[c] ?? null;
  });
  return arrays;
}

/** The statements of one plan step (usually one). */
export function stepStatements(step: PlanStep): SqlStatement[] {
  const { table } = step;
  switch (step.kind) {
    case 'truncate':
      return [{ text: `TRUNCATE ${qualified(table)}`, values: [] }];
    case 'insert': {
      if (step.columns.length === 0) return step.rows.map(() => ({ text: `INSERT INTO ${qualified(table)} DEFAULT VALUES`, values: [] }));
      const aliases = step.columns.map((_, i) => `c${i + 1}`);
      const select = step.columns.map((column, i) => `v.${aliases[i]}::${castType(table, column)}`).join(', ');
      const overriding = step.columns.some((column) => table.columns.get(column)?.identityAlways === true) ? ' OVERRIDING SYSTEM VALUE' : '';
      return [
        {
          text: `INSERT INTO ${qualified(table)} (${step.columns.map(quoteIdent).join(', ')})${overriding} SELECT ${select} FROM ${unnestFrom(aliases, 1)}`,
          values: columnArrays(step.rows, step.columns.length),
        },
      ];
    }
    case 'update': {
      const keyAliases = step.keyColumns.map((_, i) => `k${i + 1}`);
      const setAliases = step.setColumns.map((_, i) => `c${i + 1}`);
      const set = step.setColumns.map((column, i) => `${quoteIdent(column)} = v.${setAliases[i]}::${castType(table, column)}`).join(', ');
      const where = matchKey(table, step.keyColumns, keyAliases);
      const rows = step.rows.map((row) => [...row.key, ...row.values]);
      return [
        {
          text: `UPDATE ${qualified(table)} AS x SET ${set} FROM ${unnestFrom([...keyAliases, ...setAliases], 1)} WHERE ${where}`,
          values: columnArrays(rows, keyAliases.length + setAliases.length),
        },
      ];
    }
    case 'delete': {
      const keyAliases = step.keyColumns.map((_, i) => `k${i + 1}`);
      return [
        {
          text: `DELETE FROM ${qualified(table)} AS x USING ${unnestFrom(keyAliases, 1)} WHERE ${matchKey(table, step.keyColumns, keyAliases)}`,
          values: columnArrays(step.keys, keyAliases.length),
        },
      ];
    }
  }
}

function matchKey(table: TargetTable, keyColumns: readonly string[], aliases: readonly string[]): string {
  return keyColumns.map((column, i) => `x.${quoteIdent(column)} = v.${aliases[i]}::${castType(table, column)}`).join(' AND ');
}
