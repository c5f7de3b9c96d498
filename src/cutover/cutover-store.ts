// The cutover state machine's persistence over the migration store (store migration 8): the current
// state per direction and a timestamped history of every transition, written together in one SQLite
// transaction, so `cutover status`, the data-migration report and the resuming exporter and importer
// all read one truth. Every transition goes through next() of cutover-states.ts; nothing here decides.

import type { MigrationStore } from '../state/store.js';
import type { SnapshotSequenceValue } from '../state/snapshot-store.js';
import {
  checkRequest,
  next,
  type CutoverDirection,
  type CutoverEvent,
  type CutoverPositions,
  type CutoverState,
} from './cutover-states.js';

/** One direction as recorded; NOT_INITIATED when it was never requested. */
export interface CutoverRecord {
  direction: CutoverDirection;
  state: CutoverState;
  prepareForFallBack: boolean;
  /** The end marker's id (decimal text of a bigint), chosen at the request; '' when not initiated. */
  markerId: string;
  /** The queue vsn of the end marker, once MARKER_QUEUED. */
  markerVsn: number | null;
  reverseSlot: string | null;
  reversePublication: string | null;
  reverseConsistentPoint: string | null;
  /** The migrated tables' columns on the target as the fall-back slot was created; null before, or when an earlier godwit made it. */
  reverseColumns: TableColumns[] | null;
  requestedAt: string | null;
  updatedAt: string | null;
}

/** One recorded transition. */
export interface CutoverTransition {
  direction: CutoverDirection;
  from: CutoverState;
  event: CutoverEvent;
  to: CutoverState;
  at: string;
  detail: string | null;
}

/** What a step records besides the state (columns of cutover_state, the sequence values). */
export interface CutoverStepData {
  markerVsn?: number;
  sequences?: readonly SnapshotSequenceValue[];
  reverse?: { slot: string; publication: string; consistentPoint: string; columns: readonly TableColumns[] };
  detail?: string;
}

/** A table's columns, in the order of its database. */
export interface TableColumns {
  schema: string;
  name: string;
  columns: string[];
}

interface StateRow {
  direction: CutoverDirection;
  state: CutoverState;
  prepare_for_fall_back: number;
  marker_id: string;
  marker_vsn: number | null;
  reverse_slot: string | null;
  reverse_publication: string | null;
  reverse_consistent_point: string | null;
  reverse_columns: string | null;
  requested_at: string;
  updated_at: string;
}

function notInitiated(direction: CutoverDirection): CutoverRecord {
  return {
    direction,
    state: 'NOT_INITIATED',
    prepareForFallBack: false,
    markerId: '',
    markerVsn: null,
    reverseSlot: null,
    reversePublication: null,
    reverseConsistentPoint: null,
    reverseColumns: null,
    requestedAt: null,
    updatedAt: null,
  };
}

/** The recorded state of one direction; the one read every step and status starts from. */
export function readCutover(store: MigrationStore, direction: CutoverDirection): CutoverRecord {
  const row = store.db.prepare('SELECT * FROM cutover_state WHERE direction = ?').get(direction) as StateRow | undefined;
  if (row === undefined) return notInitiated(direction);
  return {
    direction,
    state: row.state,
    prepareForFallBack: row.prepare_for_fall_back === 1,
    markerId: row.marker_id,
    markerVsn: row.marker_vsn,
    reverseSlot: row.reverse_slot,
    reversePublication: row.reverse_publication,
    reverseConsistentPoint: row.reverse_consistent_point,
    reverseColumns: row.reverse_columns === null ? null : (JSON.parse(row.reverse_columns) as TableColumns[]),
    requestedAt: row.requested_at,
    updatedAt: row.updated_at,
  };
}

/** Both directions, for checkRequest and status. */
export function readCutoverPositions(store: MigrationStore): CutoverPositions {
  return { toTarget: readCutover(store, 'to-target'), toSource: readCutover(store, 'to-source') };
}

/** A fresh end-marker id: random, positive, below 2^53 (a bigint column on the database, exact in JSON). */
function newMarkerId(): string {
  return String(1 + Math.floor(Math.random() * (Number.MAX_SAFE_INTEGER - 1)));
}

/**
 * Records a cutover request (`initiate cutover to ...`), refused by checkRequest when the machine
 * forbids it; the check and the write run in one store transaction, so two requests cannot both pass.
 */
export function requestCutover(store: MigrationStore, direction: CutoverDirection, options: { prepareForFallBack: boolean }): CutoverRecord {
  store.transaction((db) => {
    const positions = readCutoverPositions(store);
    checkRequest(direction, positions);
    const to = next({ state: 'NOT_INITIATED', prepareForFallBack: options.prepareForFallBack }, 'request', direction);
    const now = store.now();
    db.prepare(
      'INSERT INTO cutover_state (direction, state, prepare_for_fall_back, marker_id, requested_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(direction, to, options.prepareForFallBack ? 1 : 0, newMarkerId(), now, now);
    insertHistory(store, direction, 'NOT_INITIATED', 'request', to, options.prepareForFallBack ? 'prepare for fall-back' : 'without fall-back');
  });
  return readCutover(store, direction);
}

/**
 * Moves `direction` by `event` (next() decides) and records the step's data, in one store transaction:
 * the state row, the history row and the data are durable together or not at all.
 */
export function advanceCutover(store: MigrationStore, direction: CutoverDirection, event: CutoverEvent, data: CutoverStepData = {}): CutoverRecord {
  store.transaction((db) => {
    const current = readCutover(store, direction);
    const to = next(current, event, direction);
    const now = store.now();
    db.prepare('UPDATE cutover_state SET state = ?, updated_at = ? WHERE direction = ?').run(to, now, direction);
    if (data.markerVsn !== undefined) db.prepare('UPDATE cutover_state SET marker_vsn = ? WHERE direction = ?').run(data.markerVsn, direction);
    if (data.reverse !== undefined) {
      db.prepare('UPDATE cutover_state SET reverse_slot = ?, reverse_publication = ?, reverse_consistent_point = ?, reverse_columns = ? WHERE direction = ?').run(
        data.reverse.slot,
        data.reverse.publication,
        data.reverse.consistentPoint,
        JSON.stringify(data.reverse.columns),
        direction,
      );
    }
    if (data.sequences !== undefined) {
      db.prepare('DELETE FROM cutover_sequences WHERE direction = ?').run(direction);
      const insert = db.prepare('INSERT INTO cutover_sequences (direction, schema_name, sequence_name, last_value, is_called, read_at) VALUES (?, ?, ?, ?, ?, ?)');
      for (const v of data.sequences) insert.run(direction, v.schema, v.name, v.lastValue, v.isCalled ? 1 : 0, v.readAt);
    }
    insertHistory(store, direction, current.state, event, to, data.detail ?? null);
  });
  return readCutover(store, direction);
}

function insertHistory(store: MigrationStore, direction: CutoverDirection, from: CutoverState, event: CutoverEvent, to: CutoverState, detail: string | null): void {
  store.db
    .prepare('INSERT INTO cutover_history (direction, from_state, event, to_state, at, detail) VALUES (?, ?, ?, ?, ?, ?)')
    .run(direction, from, event, to, store.now(), detail);
}

/** Every transition, oldest first (status --output-format json, the data-migration report). */
export function listCutoverHistory(store: MigrationStore): CutoverTransition[] {
  const rows = store.db.prepare('SELECT direction, from_state, event, to_state, at, detail FROM cutover_history ORDER BY id').all() as {
    direction: CutoverDirection;
    from_state: CutoverState;
    event: CutoverEvent;
    to_state: CutoverState;
    at: string;
    detail: string | null;
  }[];
  return rows.map((r) => ({ direction: r.direction, from: r.from_state, event: r.event, to: r.to_state, at: r.at, detail: r.detail }));
}

/** The capturing side's sequence values recorded at MARKER_QUEUED, to set on the side taking over. */
export function listCutoverSequences(store: MigrationStore, direction: CutoverDirection): SnapshotSequenceValue[] {
  const rows = store.db
    .prepare('SELECT schema_name, sequence_name, last_value, is_called, read_at FROM cutover_sequences WHERE direction = ? ORDER BY schema_name, sequence_name')
    .all(direction) as { schema_name: string; sequence_name: string; last_value: string; is_called: number; read_at: string }[];
  return rows.map((r) => ({ schema: r.schema_name, name: r.sequence_name, lastValue: r.last_value, isCalled: r.is_called === 1, readAt: r.read_at }));
}
