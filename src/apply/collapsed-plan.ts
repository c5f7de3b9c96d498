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
import { keyPositions, keyText, newKeyOf, type KeyValues } from './row-identity.js';
import type { TargetTable } from './target-tables.js';
import { appendAll } from '../core/append-all.js';

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
  /** True when no value is UNCHANGED, checked while the event is at hand; false: not known (carriesAll tells). */
  complete: boolean;
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

/** Merges `next` into `row`'s image: a carried value replaces, UNCHANGED keeps what the row has (the row is the plan's own). */
function mergeInto(row: Row, layout: Layout, next: readonly ColumnValue[]): void {
  if (layout === row.layout) {
    if (!row.owned) {
      row.values = row.values.slice();
      row.owned = true;
    }
    const values = row.values as ColumnValue[];
    for (let i = 0; i < next.length; i++) {
      const value = next[i] as ColumnValue;
      if (value !== UNCHANGED) values[i] = value;
    }
    return;
  }
  // Different column lists (the table changed between the events): by name.
  const merged = new Map<string, ColumnValue>();
  row.layout.names.forEach((name, i) => merged.set(name, row.values[i] as ColumnValue));
  layout.names.forEach((name, i) => {
    const value = next[i] as ColumnValue;
    if (value !== UNCHANGED || !merged.has(name)) merged.set(name, value);
  });
  row.layout = { names: [...merged.keys()], indexes: null };
  row.values = [...merged.values()];
  row.owned = true;
  row.complete = false;
}

function newRow(key: KeyValues, action: RowAction, layout: Layout, values: readonly ColumnValue[]): Row {
  return { key, action, layout, values, owned: false, complete: carriesAll(values) };
}

/**
 * Plans the changes of one table (no key changes among them) as collapsed multi-row statements. Each
 * change folds into the row's state in `rows` (see the file comment): INSERT sets it (a replace after a
 * DELETE), UPDATE merges into it (nothing after a DELETE), DELETE removes an INSERT or sets a delete.
 */
export function planCollapsed(events: readonly ChangeEvent[], table: TargetTable): PlanStep[] {
  const rows = new Map<string, Row>();
  // Events of one table share their column arrays: what depends on them is looked up once per run of such events.
  let columns: readonly string[] | undefined;
  let keyColumns: readonly string[] | undefined;
  /** Position of the only key column in `columns`, or -1 (several key columns, or not among them). */
  let single = -1;
  let layout: Layout | undefined;
  for (const event of events) {
    if (event.columns !== columns || event.keyColumns !== keyColumns) {
      columns = event.columns;
      keyColumns = event.keyColumns;
      const positions = keyPositions(event);
      single = positions.length === 1 ? (positions[0] as number) : -1;
      layout = undefined;
    }
    // A single key carried by the new image is its own id (keyText); anything else takes newKeyOf.
    const carried = single >= 0 && event.op !== 'delete' && event.newValues !== null ? event.newValues[single] : undefined;
    let key: KeyValues | undefined;
    let id: string;
    if (typeof carried === 'string') id = carried;
    else id = keyText((key = newKeyOf(event)));
    const previous = rows.get(id);
    switch (event.op) {
      case 'insert':
        layout ??= layoutOf(event, table);
        // After a DELETE (or a row the batch already has: the stream would have failed there) it replaces.
        rows.set(id, newRow(key ?? [id], previous === undefined ? 'insert' : 'replace', layout, valuesOf(event, layout)));
        break;
      case 'update':
        layout ??= layoutOf(event, table);
        if (previous === undefined) rows.set(id, newRow(key ?? [id], 'update', layout, valuesOf(event, layout)));
        else if (previous.action !== 'delete') mergeInto(previous, layout, valuesOf(event, layout)); // an UPDATE of a deleted row changes nothing
        break;
      case 'delete':
        // INSERT then DELETE: the row never existed for the target.
        if (previous?.action === 'insert') rows.delete(id);
        else rows.set(id, { key: key ?? [id], action: 'delete', layout: NO_LAYOUT, values: [], owned: false, complete: true });
        break;
      default:
        throw new Error(`planCollapsed: unexpected ${event.op}`);
    }
  }
  const stepKeyColumns = events[0]?.keyColumns ?? [];
  const deletes: KeyValues[] = [];
  const inserts: Row[] = [];
  const updates: Row[] = [];
  for (const row of rows.values()) {
    if (row.action === 'delete' || row.action === 'replace') deletes.push(row.key);
    if (row.action === 'insert' || row.action === 'replace') inserts.push(row);
    else if (row.action === 'update') updates.push(row);
  }
  const steps: PlanStep[] = [];
  if (deletes.length > 0) steps.push({ kind: 'delete', table, keyColumns: stepKeyColumns, keys: deletes });
  appendAll(steps, insertSteps(table, inserts));
  appendAll(steps, updateSteps(table, stepKeyColumns, updates));
  return steps;
}

function carriesAll(values: readonly ColumnValue[]): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] === UNCHANGED) return false;
  return true;
}

/** The rows to INSERT, one statement per set of carried columns (keyed by the layout when every column is carried, else by the names). */
function insertSteps(table: TargetTable, rows: readonly Row[]): PlanStep[] {
  const groups = new Map<unknown, { columns: readonly string[]; rows: SqlValue[][] }>();
  for (const row of rows) {
    if (row.complete || carriesAll(row.values)) {
      let group = groups.get(row.layout);
      if (group === undefined) groups.set(row.layout, (group = { columns: row.layout.names, rows: [] }));
      group.rows.push(row.values as SqlValue[]);
      continue;
    }
    const positions = row.values.flatMap((value, i) => (value === UNCHANGED ? [] : [i]));
    const columns = positions.map((i) => row.layout.names[i] as string);
    const signature = JSON.stringify(columns);
    let group = groups.get(signature);
    if (group === undefined) groups.set(signature, (group = { columns, rows: [] }));
    group.rows.push(positions.map((i) => row.values[i] as SqlValue));
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

/** The rows to UPDATE, one statement per set of carried columns (keyed like insertSteps). */
function updateSteps(table: TargetTable, keyColumns: readonly string[], rows: readonly Row[]): PlanStep[] {
  const groups = new Map<unknown, { setColumns: readonly string[]; rows: { key: KeyValues; values: SqlValue[] }[] }>();
  for (const row of rows) {
    if (row.complete || carriesAll(row.values)) {
      const set = updateColumns(row.layout, keyColumns);
      const count = set.indexes.length;
      if (count === 0) continue;
      const values = new Array<SqlValue>(count);
      for (let i = 0; i < count; i++) values[i] = row.values[set.indexes[i] as number] as SqlValue;
      let group = groups.get(set);
      if (group === undefined) groups.set(set, (group = { setColumns: set.names, rows: [] }));
      group.rows.push({ key: row.key, values });
      continue;
    }
    const positions = row.values.flatMap((value, i) => (value === UNCHANGED || keyColumns.includes(row.layout.names[i] as string) ? [] : [i]));
    if (positions.length === 0) continue;
    const setColumns = positions.map((i) => row.layout.names[i] as string);
    const signature = JSON.stringify(setColumns);
    let group = groups.get(signature);
    if (group === undefined) groups.set(signature, (group = { setColumns, rows: [] }));
    group.rows.push({ key: row.key, values: positions.map((i) => row.values[i] as SqlValue) });
  }
  return [...groups.values()].map((group) => ({ kind: 'update', table, keyColumns, setColumns: group.setColumns, rows: group.rows }));
}
