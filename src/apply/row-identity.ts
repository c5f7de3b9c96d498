// Which row an event is about: its key values (from the new image, or the old key where the new image
// does not carry a key column), whether an UPDATE changes the key, and a stable hash of table + key for
// routing. Pure functions over ChangeEvent, so routing and planning can be unit-tested without a database.

import { UNCHANGED, type ChangeEvent, type ColumnValue, type TableName } from '../core/change-event.js';
import { StateError } from '../core/errors.js';

/** Key values of a row, aligned with the event's keyColumns (never UNCHANGED). */
export type KeyValues = readonly (string | null)[];

/**
 * Positions of the key columns in an event's columns, kept per column array together with the key
 * column array they were computed for (events of one table share both, so one lookup finds them).
 */
const positionsCache = new WeakMap<readonly string[], { keyColumns: readonly string[]; positions: readonly number[] }>();

/** Where each key column is in the event's columns (-1: not there); the planner reads single keys through it. */
export function keyPositions(event: ChangeEvent): readonly number[] {
  const known = positionsCache.get(event.columns);
  if (known !== undefined && known.keyColumns === event.keyColumns) return known.positions;
  const positions = event.keyColumns.map((column) => event.columns.indexOf(column));
  positionsCache.set(event.columns, { keyColumns: event.keyColumns, positions });
  return positions;
}

/** The new image's value of key column `i` (UNCHANGED when not carried, or NULL). */
function newKeyValue(event: ChangeEvent, positions: readonly number[], i: number): ColumnValue {
  const index = positions[i] ?? -1;
  if (index < 0 || event.newValues === null) return UNCHANGED;
  return event.newValues[index] ?? UNCHANGED;
}

/** The key the row has after the event (insert, update) or had (delete). */
export function newKeyOf(event: ChangeEvent): KeyValues {
  if (event.op === 'delete') return oldKeyOf(event);
  const positions = keyPositions(event);
  const values = new Array<string | null>(positions.length);
  for (let i = 0; i < positions.length; i++) {
    const value = newKeyValue(event, positions, i);
    if (value !== UNCHANGED) {
      values[i] = value;
      continue;
    }
    const old = event.oldKey?.[i];
    if (old === undefined || old === UNCHANGED) throw missingKey(event, event.keyColumns[i] ?? '?');
    values[i] = old;
  }
  return values;
}

/** The key the row had before the event (update, delete); the new key when the stream sent no old key. */
export function oldKeyOf(event: ChangeEvent): KeyValues {
  if (event.oldKey === null) {
    if (event.op === 'delete') throw missingKey(event, event.keyColumns[0] ?? '?');
    return newKeyOf(event);
  }
  return event.keyColumns.map((column, i) => {
    const value = event.oldKey?.[i];
    if (value === undefined || value === UNCHANGED) throw missingKey(event, column);
    return value;
  });
}

/** True for an UPDATE that moves the row to another key (it must not race with either key: routing.ts). */
export function changesKey(event: ChangeEvent): boolean {
  if (event.op !== 'update' || event.oldKey === null) return false;
  const positions = keyPositions(event);
  for (let i = 0; i < positions.length; i++) {
    const value = newKeyValue(event, positions, i);
    if (value !== UNCHANGED && value !== event.oldKey[i]) return true;
  }
  return false;
}

/** A text form of a key that is equal exactly when the key values are (used as a map key). */
export function keyText(key: KeyValues): string {
  // One text value stands for itself: PostgreSQL text holds no NUL, so '\u0000' cannot be a value.
  if (key.length === 1) return key[0] ?? '\u0000';
  return JSON.stringify(key);
}

/**
 * hashParts([table.schema, table.name, ...newKeyOf(event)]) without building those arrays (routing
 * computes it for every event); throws like newKeyOf for a key value the event does not carry. `start`
 * is tableHashStart(event.table), which callers may keep per table.
 */
export function hashRowKey(event: ChangeEvent, start = tableHashStart(event.table)): number {
  let hash = start;
  if (event.op === 'delete') {
    for (const value of oldKeyOf(event)) hash = hashPart(hash, value);
    return hash >>> 0;
  }
  const positions = keyPositions(event);
  for (let i = 0; i < positions.length; i++) {
    let value = newKeyValue(event, positions, i);
    if (value === UNCHANGED) {
      const old = event.oldKey?.[i];
      if (old === undefined || old === UNCHANGED) throw missingKey(event, event.keyColumns[i] ?? '?');
      value = old;
    }
    hash = hashPart(hash, value);
  }
  return hash >>> 0;
}

/** hashRowKey's hash of the table's schema and name, for callers that keep it per table (it is the same for every event). */
export function tableHashStart(table: TableName): number {
  return hashPart(hashPart(0x811c9dc5, table.schema), table.name);
}

function hashPart(start: number, part: string | null): number {
  let hash = Math.imul(start ^ 0, 0x01000193);
  if (part === null) return Math.imul(hash ^ 0x4e, 0x01000193);
  hash = Math.imul(hash ^ 0x53, 0x01000193);
  for (let i = 0; i < part.length; i++) hash = Math.imul(hash ^ part.charCodeAt(i), 0x01000193);
  return hash;
}

/**
 * FNV-1a over the UTF-16 code units of the parts, each preceded by a separator that cannot be confused
 * with a value (NUL, then N for NULL or S for a string); computed without building those texts. The
 * values must never change: the routing of a restarted importer depends on them.
 */
export function hashParts(parts: readonly (string | null)[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) hash = hashPart(hash, part);
  return hash >>> 0;
}

function missingKey(event: ChangeEvent, column: string): StateError {
  return new StateError(
    `Change vsn ${event.vsn} (${event.op} on ${JSON.stringify(event.table.schema)}.${JSON.stringify(event.table.name)}) does not carry the value of key column ${JSON.stringify(column)}, so the row it changes cannot be found.`,
    { hint: 'The table needs a primary key or a replica identity that identifies rows on the origin (DESIGN.md section 5).' },
  );
}
