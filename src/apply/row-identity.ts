// Which row an event is about: its key values (from the new image, or the old key where the new image
// does not carry a key column), whether an UPDATE changes the key, and a stable hash of table + key for
// routing. Pure functions over ChangeEvent, so routing and planning can be unit-tested without a database.

import { UNCHANGED, type ChangeEvent, type ColumnValue } from '../core/change-event.js';
import { StateError } from '../core/errors.js';

/** Key values of a row, aligned with the event's keyColumns (never UNCHANGED). */
export type KeyValues = readonly (string | null)[];

function valueOf(event: ChangeEvent, column: string): ColumnValue {
  const index = event.columns.indexOf(column);
  if (index < 0 || event.newValues === null) return UNCHANGED;
  return event.newValues[index] ?? UNCHANGED;
}

/** The key the row has after the event (insert, update) or had (delete). */
export function newKeyOf(event: ChangeEvent): KeyValues {
  if (event.op === 'delete') return oldKeyOf(event);
  const values = event.keyColumns.map((column, i) => {
    const value = valueOf(event, column);
    if (value !== UNCHANGED) return value;
    const old = event.oldKey?.[i];
    if (old === undefined || old === UNCHANGED) throw missingKey(event, column);
    return old;
  });
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
  return event.keyColumns.some((column, i) => {
    const value = valueOf(event, column);
    return value !== UNCHANGED && value !== event.oldKey?.[i];
  });
}

/** A text form of a key that is equal exactly when the key values are (used as a map key). */
export function keyText(key: KeyValues): string {
  return JSON.stringify(key);
}

/** FNV-1a over the UTF-16 code units of the parts, with a separator that cannot be confused with a value. */
export function hashParts(parts: readonly (string | null)[]): number {
  let hash = 0x811c9dc5;
  for (const part of parts) {
    const text = part === null ? '\u0000N' : `\u0000S${part}`;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
  }
  return hash >>> 0;
}

function missingKey(event: ChangeEvent, column: string): StateError {
  return new StateError(
    `Change vsn ${event.vsn} (${event.op} on ${JSON.stringify(event.table.schema)}.${JSON.stringify(event.table.name)}) does not carry the value of key column ${JSON.stringify(column)}, so the row it changes cannot be found.`,
    { hint: 'The table needs a primary key or a replica identity that identifies rows on the origin (DESIGN.md section 5).' },
  );
}
