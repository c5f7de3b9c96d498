// Log sequence numbers: the positions a replication stream reports and the capture side confirms.
// PostgreSQL writes them as 'X/Y' (two 32-bit hexadecimal halves of a 64-bit WAL byte offset); the
// replication protocol carries them as unsigned 64-bit integers. godwit holds them as bigint.
//
// DESIGN section 10: on YugabyteDB an LSN is an opaque per-slot record number, not a byte offset.
// So this module offers parsing, formatting and ordering only: compare LSNs of one slot, never
// subtract them (no "bytes behind" arithmetic), never compare LSNs of two different slots.

import { GodwitError } from './errors.js';

/** A log sequence number, 0 ..= 2^64 - 1. */
export type Lsn = bigint;

/** The invalid LSN `0/0`: "no position", as the server uses it (e.g. nothing flushed yet). */
export const INVALID_LSN: Lsn = 0n;

const MAX_LSN = 0xffff_ffff_ffff_ffffn;
const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/** Parses PostgreSQL's text form ('16/B374D848', also the zero-padded '0/0123ABCD' of PostgreSQL 18) into a bigint. */
export function parseLsn(text: string): Lsn {
  const match = LSN_PATTERN.exec(text.trim());
  if (match === null) {
    throw new GodwitError(`"${text}" is not a log sequence number (expected the form 16/B374D848).`);
  }
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Formats an LSN the way PostgreSQL prints it ('16/B374D848'), for SQL, replication commands and messages. */
export function formatLsn(lsn: Lsn): string {
  assertLsnRange(lsn);
  if (lsn <= MAX_SAFE_LSN) {
    // Twice per captured transaction: plain numbers are much cheaper than bigint shifts and masks.
    const value = Number(lsn);
    const high = Math.floor(value / TWO_POW_32);
    return `${hex32(high)}/${hex32(value - high * TWO_POW_32)}`;
  }
  const high = lsn >> 32n;
  const low = lsn & 0xffff_ffffn;
  return `${high.toString(16).toUpperCase()}/${low.toString(16).toUpperCase()}`;
}

const MAX_SAFE_LSN = BigInt(Number.MAX_SAFE_INTEGER);
const TWO_POW_32 = 0x1_0000_0000;
/** '00' to 'FF'. */
const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).toUpperCase().padStart(2, '0'));

/**
 * Upper-case hexadecimal of 0 ..= 2^32 - 1 without leading zeros: toString(16) takes V8's slow
 * any-radix path and toUpperCase a second string; four byte lookups cost half of a digit loop (77-94
 * against 180 ns per LSN).
 */
function hex32(value: number): string {
  if (value === 0) return '0';
  const text = (HEX_BYTES[value >>> 24] as string) + (HEX_BYTES[(value >>> 16) & 0xff] as string) + (HEX_BYTES[(value >>> 8) & 0xff] as string) + (HEX_BYTES[value & 0xff] as string);
  let zeros = 0;
  while (text.charCodeAt(zeros) === 0x30) zeros++;
  return zeros === 0 ? text : text.slice(zeros);
}

/** Orders two LSNs of the same slot: negative, zero or positive, like a sort comparator. */
export function compareLsn(a: Lsn, b: Lsn): -1 | 0 | 1 {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The later of two LSNs of the same slot (positions only move forward). */
export function maxLsn(a: Lsn, b: Lsn): Lsn {
  return a >= b ? a : b;
}

/** True for a valid LSN (not 0/0). */
export function isValidLsn(lsn: Lsn): boolean {
  return lsn !== INVALID_LSN;
}

/** Throws unless `lsn` fits an unsigned 64-bit integer: protocol messages cannot carry anything else. */
export function assertLsnRange(lsn: Lsn): void {
  if (lsn < 0n || lsn > MAX_LSN) throw new GodwitError(`${lsn} is outside the range of a log sequence number.`);
}
