// Routing: which channel applies an event (DESIGN.md invariant 4). Pure.
//
// - A row's changes go to channel hash(table, key) mod N, so one channel applies them, in vsn order.
// - A table with a unique index (or exclusion constraint) besides its row key is routed by table only
//   ("affinity"): all its changes go to one channel, in vsn order, and that channel applies them in
//   order (batch-plan.ts), so a unique value moving between rows (two rows swapping a value in one
//   transaction, a value deleted here and inserted there) can never be applied out of order.
// - A key change (UPDATE whose old key differs from its new key) on any other table is a barrier: the
//   engine drains every channel up to it, applies it alone, and goes on. Old and new key may hash to
//   different channels; with the barrier neither can race with it.
// - TRUNCATE and the cutover marker are barriers too.
//
// Routing must be the same when a restarted importer replays events its channels had not all applied,
// so the configuration (channel count, tables routed by table) is stored with the channels' bookkeeping
// (channel-bookkeeping.ts) and only changed at a moment when every channel is drained (a "rebase").

import type { ChangeEvent } from '../core/change-event.js';
import { changesKey, hashParts, hashRowKey, newKeyOf } from './row-identity.js';
import { tableKey } from './target-tables.js';

/** How events are spread over channels. */
export interface RoutingConfig {
  channels: number;
  /** Tables (tableKey) whose changes all go to one channel, applied in order. */
  affinity: ReadonlySet<string>;
}

/** Where an event goes: a channel, or a barrier applied alone after every channel is drained. */
export type Route = { kind: 'channel'; channel: number } | { kind: 'barrier'; reason: 'key-change' | 'truncate' | 'marker' };

/** Routes one event (see the file comment). */
export function routeEvent(event: ChangeEvent, config: RoutingConfig): Route {
  if (event.op === 'truncate') return { kind: 'barrier', reason: 'truncate' };
  if (event.op === 'marker') return { kind: 'barrier', reason: 'marker' };
  const table = tableKey(event.table);
  if (config.affinity.has(table)) return { kind: 'channel', channel: hashParts([event.table.schema, event.table.name]) % config.channels };
  if (changesKey(event)) return { kind: 'barrier', reason: 'key-change' };
  return { kind: 'channel', channel: hashParts([event.table.schema, event.table.name, ...newKeyOf(event)]) % config.channels };
}

/**
 * The channel of an event that is not a barrier, or -1 for one; the same decision as routeEvent,
 * without an object per event (the engine's common path, which may pass the table's key and
 * tableHashStart, kept per table).
 */
export function routeChannel(event: ChangeEvent, config: RoutingConfig, table = tableKey(event.table), tableHash?: number): number {
  if (event.op === 'truncate' || event.op === 'marker') return -1;
  if (config.affinity.has(table)) return hashParts([event.table.schema, event.table.name]) % config.channels;
  if (changesKey(event)) return -1;
  return hashRowKey(event, tableHash) % config.channels;
}

/** The text stored in godwit_metadata.apply_channels.routing. */
export function routingText(config: RoutingConfig): string {
  return JSON.stringify({ channels: config.channels, affinity: [...config.affinity].sort() });
}

/** Reads the stored routing; null for a missing or unreadable value (rows written before routing was stored). */
export function parseRouting(text: string | null): RoutingConfig | null {
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as { channels?: unknown; affinity?: unknown };
    if (typeof parsed.channels !== 'number' || !Number.isInteger(parsed.channels) || parsed.channels < 1) return null;
    if (!Array.isArray(parsed.affinity) || !parsed.affinity.every((item) => typeof item === 'string')) return null;
    return { channels: parsed.channels, affinity: new Set(parsed.affinity as string[]) };
  } catch {
    return null;
  }
}

/** True when two configurations route every event the same way. */
export function sameRouting(a: RoutingConfig, b: RoutingConfig): boolean {
  return a.channels === b.channels && a.affinity.size === b.affinity.size && [...a.affinity].every((table) => b.affinity.has(table));
}
