// What the server says about a replication slot (pg_replication_slots), read through any session,
// walsender included, and the checks made before streaming from it: a missing slot and an
// invalidated slot (wal_status = lost) are reported as such, never papered over by a restart.

import { parseLsn, type Lsn } from '../../../core/lsn.js';
import { literal } from './replication-commands.js';
import { ReplicationError, slotInvalidated, slotMissing } from './replication-errors.js';

/** A session that runs simple-protocol SQL (a walsender accepts nothing else). */
export interface SimpleQuerySession {
  query<R extends Record<string, unknown>>(text: string): Promise<{ rows: R[] }>;
}

/** One row of pg_replication_slots, reduced to what the capture side needs. */
export interface SlotState {
  slotName: string;
  plugin: string | undefined;
  slotType: string;
  database: string | undefined;
  temporary: boolean;
  active: boolean;
  activePid: number | undefined;
  restartLsn: Lsn | undefined;
  confirmedFlushLsn: Lsn | undefined;
  /** 'reserved' | 'extended' | 'unreserved' | 'lost' (PostgreSQL 13+); undefined where the server has no such column. */
  walStatus: string | undefined;
  /** PostgreSQL 17+: why the slot was invalidated ('wal_removed', 'rows_removed', ...), when it was. */
  invalidationReason: string | undefined;
}

/**
 * Reads one slot; undefined when it does not exist. Selects the whole row as JSON so the same query
 * works on servers whose view lacks newer columns (wal_status before 13, YugabyteDB's own columns).
 */
export async function readSlotState(session: SimpleQuerySession, slotName: string): Promise<SlotState | undefined> {
  const result = await session.query<{ slot: string }>(`SELECT ${slotJson(slotName)} AS slot`);
  return parseSlotState(result.rows[0]?.slot ?? undefined, slotName);
}

/**
 * What starting a stream needs to know, in one round trip (a restarted exporter's first changes wait
 * on every one): the slot's state and the session's wal_sender_timeout (undefined where unknown).
 */
export async function readSlotBeforeStreaming(session: SimpleQuerySession, slotName: string): Promise<{ slot: SlotState | undefined; walSenderTimeout: string | undefined }> {
  const result = await session.query<{ slot: string | null; timeout: string | null }>(
    `SELECT ${slotJson(slotName)} AS slot, current_setting('wal_sender_timeout', true) AS timeout`,
  );
  const row = result.rows[0];
  return { slot: parseSlotState(row?.slot ?? undefined, slotName), walSenderTimeout: row?.timeout ?? undefined };
}

/** The slot's row as JSON text (a scalar subquery: NULL when there is no such slot). */
function slotJson(slotName: string): string {
  return `(SELECT to_json(s)::text FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = ${literal(slotName)})`;
}

function parseSlotState(text: string | undefined, slotName: string): SlotState | undefined {
  if (text === undefined) return undefined;
  const row = JSON.parse(text) as Record<string, unknown>;
  const str = (key: string): string | undefined => (typeof row[key] === 'string' ? (row[key] as string) : undefined);
  const lsn = (key: string): Lsn | undefined => {
    const value = str(key);
    return value === undefined ? undefined : parseLsn(value);
  };
  return {
    slotName: str('slot_name') ?? slotName,
    plugin: str('plugin'),
    slotType: str('slot_type') ?? 'logical',
    database: str('database'),
    temporary: row.temporary === true,
    active: row.active === true,
    activePid: typeof row.active_pid === 'number' ? row.active_pid : undefined,
    restartLsn: lsn('restart_lsn'),
    confirmedFlushLsn: lsn('confirmed_flush_lsn'),
    walStatus: str('wal_status'),
    invalidationReason: str('invalidation_reason'),
  };
}

/**
 * Waits while `slotName` is active, up to `timeoutMs`, and returns its last state. A restarted
 * exporter meets this after a crash: the walsender of the killed process ends only once the server
 * notices the closed connection (at once usually, at worst after wal_sender_timeout), and refusing
 * the slot as "in use" in that moment would stop a restart that is about to work. `onWait` is called
 * once, with the holder's pid, when there is something to wait for. `ownPid`: the caller's own
 * walsender, which may hold the slot already and is not waited for.
 */
export async function waitForSlotRelease(
  session: SimpleQuerySession,
  slotName: string,
  options: { timeoutMs: number; pollMs?: number; onWait?: (pid: number | undefined) => void; ownPid?: number },
): Promise<SlotState | undefined> {
  const deadline = Date.now() + options.timeoutMs;
  // The caller's own walsender (a stream started beside the checks) holding the slot is no reason to wait.
  const heldByOther = (state: SlotState | undefined): boolean => state?.active === true && (options.ownPid === undefined || state.activePid !== options.ownPid);
  let state = await readSlotState(session, slotName);
  if (heldByOther(state)) options.onWait?.(state?.activePid);
  while (heldByOther(state) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    state = await readSlotState(session, slotName);
  }
  return state;
}

/** True when the server invalidated the slot: its WAL (or the catalog rows it needs) is gone. */
export function isInvalidated(state: SlotState): boolean {
  return state.walStatus === 'lost' || state.invalidationReason !== undefined;
}

/**
 * Checks that a slot can be streamed from: it exists, is a logical pgoutput slot, and is not
 * invalidated. Throws ReplicationError ('slot-missing', 'slot-invalidated', 'not-supported').
 */
export async function checkSlotUsable(session: SimpleQuerySession, slotName: string): Promise<SlotState> {
  return assertSlotUsable(await readSlotState(session, slotName), slotName);
}

/** checkSlotUsable's verdict on a state already read (readSlotBeforeStreaming). */
export function assertSlotUsable(state: SlotState | undefined, slotName: string): SlotState {
  if (state === undefined) throw slotMissing(slotName);
  if (isInvalidated(state)) throw slotInvalidated(slotName);
  if (state.slotType !== 'logical' || (state.plugin !== undefined && state.plugin !== 'pgoutput')) {
    throw new ReplicationError(
      'not-supported',
      `Replication slot "${slotName}" is a ${state.slotType} slot${state.plugin ? ` of plugin ${state.plugin}` : ''}; godwit streams from logical pgoutput slots.`,
      { hint: 'Use another slot name, or drop that slot if nothing else needs it.' },
    );
  }
  return state;
}
