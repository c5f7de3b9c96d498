// The plan of a table whose only unique index is the row key (batch-plan.ts): changes of the same row
// collapse into one final action, then one DELETE of all removed or replaced keys, one INSERT per set of
// carried columns, one UPDATE per set of carried columns.
//
// Built for speed, since every applied event passes here: a row image is an array aligned with a
// "layout" (the event's columns the target writes, generated ones left out), computed once per table
// and column list (the queue decoder gives every event of one table the same column array), and an
// UPDATE of a row the batch already holds merges into that array (UNCHANGED keeps the value before)
// instead of copying maps; rows whose images carry every column are grouped by their layout.

import { UNCHANGED, type ChangeEvent, type ColumnValue } from '../core/change-event.js';
import { StateError } from '../core/errors.js';
import type { PlanStep, SqlValue } from './batch-plan.js';
import { keyText, newKeyOf, type KeyValues } from './row-identity.js';
import type { TargetTable } from './target-tables.js';

/** The columns of an event that the target writes, in the event's order. */
interface Layout {
  names: readonly string[];
  /** Where each name is in the event's values; null when they are all of them, in order. */
  indexes: readonly number[] | null;
  /** The UPDATE's SET columns (the names without the key columns) and their positions, once computed. */
  update?: { keyColumns: readonly string[]; names: readonly string[]; indexes: readonly number[] };
}

type RowAction = 'insert' | 'replace' | 'update' | 'delete';

interface Row {
  key: KeyValues;
  action: RowAction;
  layout: Layout;
  /** Aligned with layout.names; an event's own array until a merge needs a copy (`owned`). */
  values: readonly ColumnValue[];
  owned: boolean;
}

const NO_LAYOUT: Layout = { names: [], indexes: [] };
const layouts = new WeakMap<TargetTable, WeakMap<readonly string[], Layout>>();

/** The error for a column the target table lacks (the same whichever planner meets it). */
export function unknownColumnError(event: ChangeEvent, column: string, table: TargetTable): StateError {
  return new StateError(
    `Change vsn ${event.vsn} carries column ${JSON.stringify(column)}, which table ${JSON.stringify(table.schema)}.${JSON.stringify(table.name)} on the target does not have.`,
    { hint: 'The target table must have the source columns: add the column on the target, then run import data to target again.' },
  );
}

function layoutOf(event: ChangeEvent, table: TargetTable): Layout {
  let byColumns = layouts.get(table);
  if (byColumns === undefined) {
    byColumns = new WeakMap();
    layouts.set(table, byColumns);
  }
  let layout = byColumns.get(event.columns);
  if (layout === undefined) {
    const names: string[] = [];
    const indexes: number[] = [];
    event.columns.forEach((column, i) => {
      const target = table.columns.get(column);
      if (target === undefined) throw unknownColumnError(event, column, table);
      if (target.generated) return;
      names.push(column);
      indexes.push(i);
    });
    layout = { names, indexes: names.length === event.columns.length ? null : indexes };
    byColumns.set(event.columns, layout);
  }
  return layout;
}

/** The event's new image in its layout (the event's array itself when nothing is left out). */
function valuesOf(event: ChangeEvent, layout: Layout): readonly ColumnValue[] {
  const values = event.newValues ?? [];
  if (layout.indexes === null && values.length === layout.names.length) return values;
  const indexes = layout.indexes ?? layout.names.map((_, i) => i);
  return indexes.map((index) => values[index] ?? null);
}

/** `next` merged onto `row`'s image: a carried value replaces, UNCHANGED keeps what the row has. */
function merge(row: Row, layout: Layout, next: readonly ColumnValue[]): Row {
  if (layout === row.layout) {
    const values = row.owned ? (row.values as ColumnValue[]) : row.values.slice();
    for (let i = 0; i < next.length; i++) {
      const value = next[i] as ColumnValue;
      if (value !== UNCHANGED) values[i] = value;
    }
    return { key: row.key, action: row.action, layout: row.layout, values, owned: true };
  }
  // Different column lists (the table changed between the events): by name.
  const merged = new Map<string, ColumnValue>();
  row.layout.names.forEach((name, i) => merged.set(name, row.values[i] as ColumnValue));
  layout.names.forEach((name, i) => {
    const value = next[i] as ColumnValue;
    if (value !== UNCHANGED || !merged.has(name)) merged.set(name, value);
  });
  return { key: row.key, action: row.action, layout: { names: [...merged.keys()], indexes: null }, values: [...merged.values()], owned: true };
}

/** The row's state after `event`, given what the batch already did to it; undefined = nothing to do. */
function nextRow(previous: Row | undefined, event: ChangeEvent, key: KeyValues, table: TargetTable): Row | undefined {
  switch (event.op) {
    case 'insert': {
      const layout = layoutOf(event, table);
      // After a DELETE (or a row the batch already has: the stream would have failed there) it replaces.
      return { key, action: previous === undefined ? 'insert' : 'replace', layout, values: valuesOf(event, layout), owned: false };
    }
    case 'update': {
      const layout = layoutOf(event, table);
      if (previous === undefined) return { key, action: 'update', layout, values: valuesOf(event, layout), owned: false };
      if (previous.action === 'delete') return previous; // an UPDATE of a deleted row changes nothing
      return merge(previous, layout, valuesOf(event, layout));
    }
    case 'delete':
      // INSERT then DELETE: the row never existed for the target.
      if (previous?.action === 'insert') return undefined;
      return { key, action: 'delete', layout: NO_LAYOUT, values: [], owned: false };
    default:
      throw new Error(`planCollapsed: unexpected ${event.op}`);
  }
}

/** Plans the changes of one table (no key changes among them) as collapsed multi-row statements. */
export function planCollapsed(events: readonly ChangeEvent[], table: TargetTable): PlanStep[] {
  const rows = new Map<string, Row>();
  for (const event of events) {
    const key = newKeyOf(event);
    const id = keyText(key);
    const state = nextRow(rows.get(id), event, key, table);
    if (state === undefined) rows.delete(id);
    else rows.set(id, state);
  }
  const keyColumns = events[0]?.keyColumns ?? [];
  const deletes: KeyValues[] = [];
  const inserts: Row[] = [];
  const updates: Row[] = [];
  for (const row of rows.values()) {
    if (row.action === 'delete' || row.action === 'replace') deletes.push(row.key);
    if (row.action === 'insert' || row.action === 'replace') inserts.push(row);
    else if (row.action === 'update') updates.push(row);
  }
  const steps: PlanStep[] = [];
  if (deletes.length > 0) steps.push({ kind: 'delete', table, keyColumns, keys: deletes });
  steps.push(...insertSteps(table, inserts), ...updateSteps(table, keyColumns, updates));
  return steps;
}

function carriesAll(values: readonly ColumnValue[]): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === UNCHANGED) return false;
  return true;
}

/** Group of rows by carried columns: keyed by the layout when every column is carried, else by the names. */
function groupOf<G>(groups: Map<unknown, G>, signature: unknown, create: () => G): G {
  let group = groups.get(signature);
  if (group === undefined) groups.set(signature, (group = create()));
  return group;
}

function insertSteps(table: TargetTable, rows: readonly Row[]): PlanStep[] {
  const groups = new Map<unknown, { columns: readonly string[]; rows: SqlValue[][] }>();
  for (const row of rows) {
    if (carriesAll(row.values)) {
      groupOf(groups, row.layout, () => ({ columns: row.layout.names, rows: [] })).rows.push(row.values as SqlValue[]);
      continue;
    }
    const positions = row.values.flatMap((value, i) => (value === UNCHANGED ? [] : [i]));
    const columns = positions.map((i) => row.layout.names[i] as string);
    groupOf(groups, JSON.stringify(columns), () => ({ columns, rows: [] })).rows.push(positions.map((i) => row.values[i] as SqlValue));
  }
  return [...groups.values()].map((group) => ({ kind: 'insert', table, columns: group.columns, rows: group.rows }));
}

/** The layout's SET columns without the key columns (which an UPDATE here never changes), computed once per layout. */
function updateColumns(layout: Layout, keyColumns: readonly string[]): NonNullable<Layout['update']> {
  if (layout.update?.keyColumns === keyColumns) return layout.update;
  const indexes = layout.names.flatMap((name, i) => (keyColumns.includes(name) ? [] : [i]));
  const update = { keyColumns, names: indexes.map((i) => layout.names[i] as string), indexes };
  layout.update = update;
  return update;
}

function updateSteps(table: TargetTable, keyColumns: readonly string[], rows: readonly Row[]): PlanStep[] {
  const groups = new Map<unknown, { setColumns: readonly string[]; rows: { key: KeyValues; values: SqlValue[] }[] }>();
  for (const row of rows) {
    if (carriesAll(row.values)) {
      const set = updateColumns(row.layout, keyColumns);
      if (set.names.length === 0) continue;
      const values = set.indexes.map((i) => row.values[i] as SqlValue);
      groupOf(groups, set, () => ({ setColumns: set.names, rows: [] })).rows.push({ key: row.key, values });
      continue;
    }
    const positions = row.values.flatMap((value, i) => (value === UNCHANGED || keyColumns.includes(row.layout.names[i] as string) ? [] : [i]));
    if (positions.length === 0) continue;
    const setColumns = positions.map((i) => row.layout.names[i] as string);
    groupOf(groups, JSON.stringify(setColumns), () => ({ setColumns, rows: [] })).rows.push({ key: row.key, values: positions.map((i) => row.values[i] as SqlValue) });
  }
  return [...groups.values()].map((group) => ({ kind: 'update', table, keyColumns, setColumns: group.setColumns, rows: group.rows }));
}
