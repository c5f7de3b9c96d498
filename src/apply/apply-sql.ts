// SQL for the plan's steps. Every statement has a fixed text per table and column set and takes its
// rows as one text[] parameter per column, unnested and cast to the column types read from the target
// catalog: any number of rows in one statement (no 65535-parameter limit), values never in the SQL
// text, names always quoted. PostgreSQL checks the casts with each type's own input function, so what
// the stream carries in text form (NaN, arrays with NULLs and quotes, bytea hex, enums, composites...)
// lands exactly as on the origin.
//
// stepScript gives the same statement with the arrays written as literals instead of parameters: a
// channel sends its whole transaction (BEGIN, bookkeeping, every statement, COMMIT) as one text, in one
// round trip, where statements with parameters would each wait for the previous one's answer.

import { quoteIdent } from '../core/identifiers.js';
import { StateError } from '../core/errors.js';
import type { PlanStep, SqlValue } from './batch-plan.js';
import type { TargetTable } from './target-tables.js';
import { characterSet, containsAny } from './special-characters.js';

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

/** How a statement takes its column arrays: as parameters `$n::text[]`, or written into the text as literals. */
type ArrayForm = 'parameters' | 'literals';

/** `unnest(a1, a2, ...) AS v(x1, x2, ...)` over the column arrays, in `form`. */
function unnestOf(aliases: readonly string[], arrays: readonly SqlValue[][], form: ArrayForm): string {
  const sources = arrays.map((values, i) => (form === 'parameters' ? `$${i + 1}::text[]` : textArrayLiteral(values))).join(', ');
  return `unnest(${sources}) AS v(${aliases.join(', ')})`;
}

/**
 * The rows' values by column. Values of a blank-padded character(n) column lose their trailing spaces:
 * PostgreSQL prints them padded and pads them again on assignment (trailing spaces of character(n)
 * carry no meaning), so they only cost bytes on the way (pgbench's accounts: 84 spaces a row).
 */
function columnArrays(rows: readonly (readonly SqlValue[])[], padded: readonly boolean[]): SqlValue[][] {
  const width = padded.length;
  const arrays: SqlValue[][] = Array.from({ length: width }, () => new Array<SqlValue>(rows.length));
  for (let c = 0; c < width; c++) {
    const column = arrays[c] as SqlValue[];
    const trim = padded[c] === true;
    for (let r = 0; r < rows.length; r++) column[r] = trimmed((rows[r] as readonly SqlValue[])[c] ?? null, trim);
  }
  return arrays;
}

/** columnArrays of UPDATE rows: the key columns, then the SET columns (without a combined array per row). */
function updateArrays(rows: readonly { key: readonly SqlValue[]; values: readonly SqlValue[] }[], keyCount: number, padded: readonly boolean[]): SqlValue[][] {
  const width = padded.length;
  const arrays: SqlValue[][] = Array.from({ length: width }, () => new Array<SqlValue>(rows.length));
  for (let c = 0; c < width; c++) {
    const column = arrays[c] as SqlValue[];
    const trim = padded[c] === true;
    if (c < keyCount) for (let r = 0; r < rows.length; r++) column[r] = trimmed((rows[r] as { key: readonly SqlValue[] }).key[c] ?? null, trim);
    else for (let r = 0; r < rows.length; r++) column[r] = trimmed((rows[r] as { values: readonly SqlValue[] }).values[c - keyCount] ?? null, trim);
  }
  return arrays;
}

function trimmed(value: SqlValue, trim: boolean): SqlValue {
  return trim && value !== null && value.endsWith(' ') ? value.replace(TRAILING_SPACES, '') : value;
}

const TRAILING_SPACES = / +$/;

function blankPadded(table: TargetTable, column: string): boolean {
  return table.columns.get(column)?.blankPadded === true;
}

/** Characters that need escaping in an element of a text[] literal inside an E'' string. */
const ESCAPED = characterSet(['\\', '"', "'"]);
const ESCAPED_ALL = /[\\"']/g;

function escapeElement(character: string): string {
  // Array element level: \ -> \\ and " -> \"; then the E'' string level doubles each backslash and quote.
  return character === '\\' ? '\\\\\\\\' : character === '"' ? '\\\\"' : "''";
}

/**
 * Elements written without double quotes: array_in takes them verbatim (no whitespace to trim, no
 * backslash, brace, comma or quote), so only the spelling NULL needs quotes. Most values (numbers,
 * dates, identifiers) are like that; two bytes less each on the wire and in the target's parser.
 */
const BARE = /^[\w.:+-]+$/;
const BARE_MAX = 64;

function element(value: string): string {
  // A long value is quoted without asking: the pattern would read all of it (see special-characters.ts).
  if (value.length <= BARE_MAX && BARE.test(value)) return value.length === 4 && value.toUpperCase() === 'NULL' ? `"${value}"` : value;
  return `"${containsAny(value, ESCAPED) ? value.replace(ESCAPED_ALL, escapeElement) : value}"`;
}

/** A text[] literal of `values` (NULL stays NULL, other elements bare or quoted), as an E'' string with its cast. */
export function textArrayLiteral(values: readonly SqlValue[]): string {
  let text = "E'{";
  for (let i = 0; i < values.length; i++) {
    const value = values[i] ?? null;
    if (i > 0) text += ',';
    text += value === null ? 'NULL' : element(value);
  }
  return `${text}}'::text[]`;
}

/** A string literal (E'' form, whatever standard_conforming_strings says). */
export function sqlStringLiteral(text: string): string {
  return `E'${text.replace(/[\\']/g, (character) => (character === "'" ? "''" : '\\\\'))}'`;
}

/** The statements of one plan step (usually one). */
export function stepStatements(step: PlanStep): SqlStatement[] {
  return buildStep(step, 'parameters');
}

/** The step's statements as SQL texts without parameters (arrays as literals), for one-round-trip transactions. */
export function stepScript(step: PlanStep): string[] {
  return buildStep(step, 'literals').map((statement) => statement.text);
}

function buildStep(step: PlanStep, form: ArrayForm): SqlStatement[] {
  const { table } = step;
  const statement = (text: string, arrays: SqlValue[][]): SqlStatement => ({ text, values: form === 'parameters' ? arrays : [] });
  switch (step.kind) {
    case 'truncate':
      return [{ text: `TRUNCATE ${qualified(table)}`, values: [] }];
    case 'insert': {
      if (step.columns.length === 0) return step.rows.map(() => ({ text: `INSERT INTO ${qualified(table)} DEFAULT VALUES`, values: [] }));
      const aliases = step.columns.map((_, i) => `c${i + 1}`);
      const select = step.columns.map((column, i) => `v.${aliases[i]}::${castType(table, column)}`).join(', ');
      const overriding = step.columns.some((column) => table.columns.get(column)?.identityAlways === true) ? ' OVERRIDING SYSTEM VALUE' : '';
      const arrays = columnArrays(step.rows, step.columns.map((column) => blankPadded(table, column)));
      return [
        statement(`INSERT INTO ${qualified(table)} (${step.columns.map(quoteIdent).join(', ')})${overriding} SELECT ${select} FROM ${unnestOf(aliases, arrays, form)}`, arrays),
      ];
    }
    case 'update': {
      const keyAliases = step.keyColumns.map((_, i) => `k${i + 1}`);
      const setAliases = step.setColumns.map((_, i) => `c${i + 1}`);
      const set = step.setColumns.map((column, i) => `${quoteIdent(column)} = v.${setAliases[i]}::${castType(table, column)}`).join(', ');
      const where = matchKey(table, step.keyColumns, keyAliases);
      const arrays = updateArrays(step.rows, step.keyColumns.length, [...step.keyColumns, ...step.setColumns].map((column) => blankPadded(table, column)));
      return [statement(`UPDATE ${qualified(table)} AS x SET ${set} FROM ${unnestOf([...keyAliases, ...setAliases], arrays, form)} WHERE ${where}`, arrays)];
    }
    case 'delete': {
      const keyAliases = step.keyColumns.map((_, i) => `k${i + 1}`);
      const arrays = columnArrays(step.keys, step.keyColumns.map((column) => blankPadded(table, column)));
      return [statement(`DELETE FROM ${qualified(table)} AS x USING ${unnestOf(keyAliases, arrays, form)} WHERE ${matchKey(table, step.keyColumns, keyAliases)}`, arrays)];
    }
  }
}

function matchKey(table: TargetTable, keyColumns: readonly string[], aliases: readonly string[]): string {
  return keyColumns.map((column, i) => `x.${quoteIdent(column)} = v.${aliases[i]}::${castType(table, column)}`).join(' AND ');
}
