// The plan of one channel transaction (pure): the events of the batch become a short list of multi-row
// statements that leave the target exactly as applying the events one by one would.
//
// Tables whose only unique index is the row key: changes of the same row collapse into one final action
// (the last full image wins; an UPDATE's UNCHANGED columns merge onto the image the batch already has,
// or stay out of a partial UPDATE; INSERT then DELETE is nothing; DELETE then INSERT is a replace =
// DELETE + INSERT). Rows are then independent, so per table: one DELETE of all removed/replaced keys,
// one INSERT per set of carried columns, one UPDATE per set of carried columns (collapsed-plan.ts).
//
// Tables with another unique index ("ordered", see routing.ts), and any table whose key changes in the
// batch: a value may move between rows, so the changes are applied in vsn order; only neighbours that
// cannot change the outcome are merged (runs of INSERTs of distinct rows, runs of DELETEs, successive
// UPDATEs of the same row).

import { UNCHANGED, type ChangeEvent, type ColumnValue, type TableName } from '../core/change-event.js';
import type { EventTally, TableApplyCounts } from './apply-progress.js';
import { planCollapsed, unknownColumnError } from './collapsed-plan.js';
import { changesKey, keyText, newKeyOf, oldKeyOf, type KeyValues } from './row-identity.js';
import { tableKey, type TargetTable } from './target-tables.js';
import { appendAll } from '../core/append-all.js';

/** A value as a statement sends it: text, or NULL. */
export type SqlValue = string | null;

/** One multi-row statement of the plan. */
export type PlanStep =
  | { kind: 'insert'; table: TargetTable; columns: readonly string[]; rows: SqlValue[][] }
  | { kind: 'update'; table: TargetTable; keyColumns: readonly string[]; setColumns: readonly string[]; rows: { key: KeyValues; values: SqlValue[] }[] }
  | { kind: 'delete'; table: TargetTable; keyColumns: readonly string[]; keys: KeyValues[] }
  | { kind: 'truncate'; table: TargetTable };

/** A row image under construction: column -> value, in the event's column order (UNCHANGED = keep). */
type Image = Map<string, ColumnValue>;

type RowAction = 'insert' | 'replace' | 'update' | 'delete';

interface RowState {
  key: KeyValues;
  keyColumns: readonly string[];
  action: RowAction;
  image: Image;
}

/** The changes of one table in a batch, with what decides how they are planned (gathered while grouping). */
interface TableEvents {
  events: ChangeEvent[];
  truncates: boolean;
  /** Some change moves a row to another key (changesKey). */
  keyChange: boolean;
  /** The table's entry in the tally planBatch was asked to fill. */
  counts: TableApplyCounts | undefined;
}

/**
 * Plans one batch; `tableOf` returns the target description of every table the events name. With
 * `tally` (empty), also counts the events there as tallyEvents would, in the same pass over them.
 */
export function planBatch(events: readonly ChangeEvent[], tableOf: (event: ChangeEvent) => TargetTable, ordered: ReadonlySet<string>, tally?: EventTally): PlanStep[] {
  const byTable = new Map<string, TableEvents>();
  // Events of one table share their TableName object: found by it, the table key is made once per object.
  const byObject = new Map<TableName, TableEvents>();
  for (const event of events) {
    if (event.op === 'marker') continue;
    let group = byObject.get(event.table);
    if (group === undefined) {
      const key = tableKey(event.table);
      group = byTable.get(key);
      if (group === undefined) byTable.set(key, (group = newGroup(event, key, tally)));
      byObject.set(event.table, group);
    }
    group.events.push(event);
    if (group.counts !== undefined) count(group.counts, event, tally as EventTally);
    if (event.op === 'truncate') group.truncates = true;
    else if (!group.keyChange && changesKey(event)) group.keyChange = true;
  }
  const steps: PlanStep[] = [];
  for (const [key, group] of byTable) {
    const list = group.events;
    const table = tableOf(list[0] as ChangeEvent);
    if (!group.truncates) {
      appendAll(steps, ordered.has(key) || group.keyChange ? planInOrder(list, table) : planCollapsed(list, table));
      continue;
    }
    // A TRUNCATE splits the table's changes: what comes before it is planned and then wiped in order.
    let start = 0;
    for (let i = 0; i <= list.length; i++) {
      const event = list[i];
      if (event !== undefined && event.op !== 'truncate') continue;
      const part = list.slice(start, i);
      if (part.length > 0) {
        const inOrder = ordered.has(key) || part.some(changesKey);
        appendAll(steps, inOrder ? planInOrder(part, table) : planCollapsed(part, table));
      }
      if (event !== undefined) steps.push({ kind: 'truncate', table });
      start = i + 1;
    }
  }
  return steps;
}

function newGroup(event: ChangeEvent, key: string, tally: EventTally | undefined): TableEvents {
  if (tally === undefined) return { events: [], truncates: false, keyChange: false, counts: undefined };
  const counts = { schema: event.table.schema, name: event.table.name, inserts: 0, updates: 0, deletes: 0, truncates: 0 };
  tally.tables.set(key, counts);
  return { events: [], truncates: false, keyChange: false, counts };
}

function count(counts: TableApplyCounts, event: ChangeEvent, tally: EventTally): void {
  tally.events += 1;
  if (event.op === 'insert') counts.inserts += 1;
  else if (event.op === 'update') counts.updates += 1;
  else if (event.op === 'delete') counts.deletes += 1;
  else counts.truncates += 1;
}

/** The event's new image with generated columns left out (never written) and unknown columns refused. */
function imageOf(event: ChangeEvent, table: TargetTable): Image {
  const image: Image = new Map();
  const values = event.newValues ?? [];
  event.columns.forEach((column, i) => {
    const target = table.columns.get(column);
    if (target === undefined) throw unknownColumnError(event, column, table);
    if (target.generated) return;
    image.set(column, values[i] ?? null);
  });
  return image;
}

function merge(onto: Image, update: Image): Image {
  const merged = new Map(onto);
  for (const [column, value] of update) if (value !== UNCHANGED || !merged.has(column)) merged.set(column, value);
  return merged;
}

function carried(image: Image): string[] {
  return [...image].filter(([, value]) => value !== UNCHANGED).map(([column]) => column);
}

/** UPDATE statements grouped by the set of carried columns; with `skipKeyColumns` the key columns (unchanged) are not set again. */
function updateSteps(table: TargetTable, keyColumns: readonly string[], rows: readonly RowState[], skipKeyColumns: boolean): PlanStep[] {
  const groups = new Map<string, { setColumns: string[]; rows: { key: KeyValues; values: SqlValue[] }[] }>();
  for (const row of rows) {
    const setColumns = carried(row.image).filter((column) => !skipKeyColumns || !keyColumns.includes(column));
    if (setColumns.length === 0) continue;
    const signature = JSON.stringify(setColumns);
    let group = groups.get(signature);
    if (group === undefined) groups.set(signature, (group = { setColumns, rows: [] }));
    group.rows.push({ key: row.key, values: setColumns.map((column) => row.image.get(column) as SqlValue) });
  }
  return [...groups.values()].map((group) => ({ kind: 'update', table, keyColumns, setColumns: group.setColumns, rows: group.rows }));
}

function planInOrder(events: readonly ChangeEvent[], table: TargetTable): PlanStep[] {
  const steps: PlanStep[] = [];
  /** Keys inserted by the INSERT step being built (a second INSERT of one of them starts a new step). */
  let insertedKeys = new Set<string>();
  /** The single-row UPDATE being built, and the key it matches. */
  let openUpdate: { key: KeyValues; keyColumns: readonly string[]; image: Image; match: string; keyChange: boolean } | undefined;
  const closeUpdate = (): void => {
    if (openUpdate === undefined) return;
    const { key, keyColumns, image, keyChange } = openUpdate;
    // Key columns are set only by a key change (an identity GENERATED ALWAYS key may not even be set to itself).
    const built = updateSteps(table, keyColumns, [{ key, keyColumns, action: 'update', image }], !keyChange);
    appendAll(steps, built);
    openUpdate = undefined;
  };
  for (const event of events) {
    if (event.op === 'insert') {
      closeUpdate();
      const last = steps.at(-1);
      const image = imageOf(event, table);
      const columns = carried(image);
      const id = keyText(newKeyOf(event));
      const row = columns.map((column) => image.get(column) as SqlValue);
      if (last?.kind === 'insert' && !insertedKeys.has(id) && JSON.stringify(last.columns) === JSON.stringify(columns)) {
        last.rows.push(row);
      } else {
        steps.push({ kind: 'insert', table, columns, rows: [row] });
        insertedKeys = new Set();
      }
      insertedKeys.add(id);
    } else if (event.op === 'delete') {
      closeUpdate();
      const key = oldKeyOf(event);
      if (steps.at(-1)?.kind === 'delete') (steps.at(-1) as Extract<PlanStep, { kind: 'delete' }>).keys.push(key);
      else steps.push({ kind: 'delete', table, keyColumns: event.keyColumns, keys: [key] });
    } else if (event.op === 'update') {
      const image = imageOf(event, table);
      const match = keyText(oldKeyOf(event));
      // Successive UPDATEs of the same row (no key change in between) merge; anything else keeps its place.
      if (openUpdate !== undefined && openUpdate.match === match && !changesKey(event)) {
        openUpdate.image = merge(openUpdate.image, image);
        continue;
      }
      closeUpdate();
      const keyChange = changesKey(event);
      openUpdate = { key: oldKeyOf(event), keyColumns: event.keyColumns, image, match, keyChange };
      if (keyChange) closeUpdate();
    }
  }
  closeUpdate();
  return steps;
}
