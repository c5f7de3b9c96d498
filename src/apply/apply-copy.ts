// Plan steps that insert many rows go to the target as COPY ... FROM STDIN inside the channel's
// transaction instead of INSERT ... SELECT FROM unnest(...). COPY inserts a page of rows at a time
// (one WAL record per page, not per row) and parses plain tab-separated text instead of array
// literals: 68,000 pgbench_history rows took 200-210 ms of the target's CPU by COPY, 350-370 ms by
// INSERT ... unnest (tmp/copyvsinsert.mjs, PostgreSQL 17, batches of 2,000 rows). Tables whose
// columns all have a simple binary form are copied in binary, cheaper still (apply-copy-binary.ts).
//
// The same rows land either way: every value is the text the origin printed, read by the column
// type's input function (what the INSERT's cast from text does too); COPY FROM writes the given
// values of identity columns (what OVERRIDING SYSTEM VALUE asks of the INSERT); the transaction's
// session_replication_role = replica keeps ordinary triggers quiet for both. Only where a COPY
// commits or rolls back with its transaction (LoaderSessions.copyInTransactions: PostgreSQL, not
// YugabyteDB, whose COPY commits every yb_default_copy_from_rows_per_transaction rows) is it used:
// the rows must commit together with the channel's bookkeeping (invariant 3).

import type { FastBuffer } from '../capture/queue/payload-codes.js';
import { quoteIdent } from '../core/identifiers.js';
import type { CopySource } from '../engines/loader-sessions.js';
import type { PlanStep, SqlValue } from './batch-plan.js';
import { containsAny, COPY_SPECIAL } from './special-characters.js';
import { binaryFields, writeBinaryRows, type BinaryField } from './apply-copy-binary.js';

/** Fewer rows than this stay in the transaction's script: a COPY costs a round trip of its own. */
export const COPY_MIN_ROWS = 64;

/**
 * Rows per COPY at most; a bigger insert becomes several COPYs, sent in the same round trip
 * (script-with-copies.ts). PostgreSQL's COPY buffers up to 1,000 rows before it writes them and
 * makes a tuple slot for each one it holds, and each slot is registered with the transaction's
 * resource owner, whose hash of identical entries costs in the square of their number (PostgreSQL
 * 17): a tenth of the target's CPU in the changes benchmark with COPYs of 1,000 rows. 70,000
 * pgbench_history rows in COPYs of 1,000 took 170-200 ms of the target's CPU, in COPYs of 250
 * 140-160 ms, of 100 150-170 ms (tmp/copychunks.mjs).
 */
export const COPY_MAX_ROWS = 250;

/** One COPY of a channel transaction: the statement and the rows in COPY text or binary format. */
export interface CopyPart {
  copySql: string;
  data: Buffer;
}

/**
 * The step as COPYs of at most COPY_MAX_ROWS rows each when it is an insert of at least COPY_MIN_ROWS
 * rows with columns; undefined otherwise. Their bytes are written into `arena` (a fresh one by default).
 */
export function copiesOfStep(step: PlanStep, arena: CopyArena = new CopyArena()): CopyPart[] | undefined {
  if (step.kind !== 'insert' || step.columns.length === 0 || step.rows.length < COPY_MIN_ROWS) return undefined;
  const { padded, copySql, binary, binarySql } = copyShape(step.table, step.columns);
  const parts: CopyPart[] = [];
  for (let from = 0; from < step.rows.length; from += COPY_MAX_ROWS) {
    const to = Math.min(step.rows.length, from + COPY_MAX_ROWS);
    // Binary where every column allows it (apply-copy-binary.ts); a value it cannot write sends the part to text.
    const end = binary === undefined ? -1 : writeBinaryRows(arena, arena.used, step.rows, from, to, binary);
    if (end >= 0) {
      parts.push({ copySql: binarySql, data: arena.buffer.subarray(arena.used, end) });
      arena.used = end;
    } else {
      parts.push({ copySql, data: copyRows(arena, step.rows, from, to, padded) });
    }
  }
  return parts;
}

/**
 * Memory for the COPY text of one channel's transactions, written value by value and used again by
 * the next transaction. Writing each value into bytes costs less than joining the values into one
 * string and encoding that (250 rows of 1.5 KB: 0.2 ms instead of 2.8 ms: V8 flattens the joined
 * string, then encodes it character by character); and fresh memory for every COPY cost the importer
 * as much again (page faults and collections of its external memory: a fifth of the importer's CPU
 * for 100,000 rows of 1.5 KB in the lab). The parts handed out are views of the arena: they must be
 * sent before reset() (a channel resets it when it plans its next transaction, the last one being
 * over). Past ARENA_KEPT_BYTES (huge rows) a reset starts again small.
 */
export class CopyArena {
  /** Where the next part starts. */
  used = 0;
  buffer: FastBuffer = Buffer.allocUnsafe(ARENA_BYTES);

  /** Makes the whole arena free again: the parts handed out before are no longer needed. */
  reset(): void {
    this.used = 0;
    if (this.buffer.length > ARENA_KEPT_BYTES) this.buffer = Buffer.allocUnsafe(ARENA_BYTES);
  }

  /**
   * Moves the part being written (from `used` to `at`) into a new buffer with room for `bytes` more;
   * returns where it now ends. The parts handed out before keep the old buffer.
   */
  grow(at: number, bytes: number): number {
    const length = at - this.used;
    const grown: FastBuffer = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, length + bytes + ARENA_BYTES));
    this.buffer.copy(grown, 0, this.used, at);
    this.buffer = grown;
    this.used = 0;
    return length;
  }
}

const ARENA_BYTES = 1024 * 1024;
const ARENA_KEPT_BYTES = 32 * 1024 * 1024;

/** Writes `text` as UTF-8 at `at` of `buffer` (room was ensured); returns the byte count. */
function writeUtf8(buffer: FastBuffer, text: string, at: number): number {
  return buffer.utf8Write !== undefined ? buffer.utf8Write(text, at, buffer.length - at) : buffer.write(text, at, 'utf8');
}

const TAB = 0x09;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
const CAPITAL_N = 0x4e;

/**
 * The rows [from, to) in COPY text format, written into the arena. A function of its own, ending with
 * its loop: V8 compiles a long loop while it runs (on-stack replacement), before the code after it
 * ever ran, and that code then threw the compiled loop away at every call (43 deoptimizations in one
 * catch-up when the Buffer was made here).
 */
function copyRows(arena: CopyArena, rows: readonly (readonly SqlValue[])[], from: number, to: number, padded: readonly boolean[]): Buffer {
  const width = padded.length;
  let buffer = arena.buffer;
  let at = arena.used;
  for (let r = from; r < to; r++) {
    const row = rows[r] as readonly SqlValue[];
    for (let c = 0; c < width; c++) {
      const value = row[c] ?? null;
      if (value === null) {
        if (at + 3 > buffer.length) {
          at = arena.grow(at, 3);
          buffer = arena.buffer;
        }
        buffer[at++] = BACKSLASH;
        buffer[at++] = CAPITAL_N;
      } else {
        const text = copyText(value, padded[c] === true);
        // UTF-8 takes at most 3 bytes per UTF-16 unit; one more for the separator.
        const room = text.length * 3 + 1;
        if (at + room > buffer.length) {
          at = arena.grow(at, room);
          buffer = arena.buffer;
        }
        at += writeUtf8(buffer, text, at);
      }
      buffer[at++] = c === width - 1 ? NEWLINE : TAB;
    }
  }
  const part = buffer.subarray(arena.used, at);
  arena.used = at;
  return part;
}

/** What a COPY of one column list needs besides its rows. */
interface CopyShape {
  table: PlanStep['table'];
  padded: boolean[];
  copySql: string;
  /** The columns' binary fields when every column has one (apply-copy-binary.ts), and that COPY's statement. */
  binary: BinaryField[] | undefined;
  binarySql: string;
}

/**
 * Per column list (steps of one table share theirs): made once, not per transaction. Building the
 * statement in the row loop's function also made V8 optimize and throw away copyOfStep over and
 * over in some runs (64 deoptimizations "wrong map" at the column names' join in one catch-up).
 */
const copyShapes = new WeakMap<readonly string[], CopyShape>();

function copyShape(table: PlanStep['table'], columns: readonly string[]): CopyShape {
  const known = copyShapes.get(columns);
  if (known !== undefined && known.table === table) return known;
  const copySql = `COPY ${quoteIdent(table.schema)}.${quoteIdent(table.name)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`;
  const shape = {
    table,
    padded: columns.map((column) => table.columns.get(column)?.blankPadded === true),
    copySql,
    binary: binaryFields(columns.map((column) => table.columns.get(column)?.castType ?? '')),
    binarySql: `${copySql} (FORMAT binary)`,
  };
  copyShapes.set(columns, shape);
  return shape;
}

/** Characters COPY's text format gives a meaning to (COPY_SPECIAL): written as backslash escapes. */
const SPECIAL_ALL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const TRAILING_SPACES = / +$/;

/**
 * One value in COPY text format. A blank-padded character(n) value loses its trailing spaces (the
 * column pads it again, see apply-sql.ts); `\N` as a value is safe, its backslash is escaped.
 */
function copyText(value: string, blankPadded: boolean): string {
  const text = blankPadded && value.endsWith(' ') ? value.replace(TRAILING_SPACES, '') : value;
  return containsAny(text, COPY_SPECIAL) ? text.replace(SPECIAL_ALL, (character) => ESCAPES[character] as string) : text;
}

/** A CopySource over bytes already in memory. */
export class BufferCopySource implements CopySource {
  private at = 0;

  constructor(private readonly bytes: Buffer) {}

  get size(): number {
    return this.bytes.length;
  }

  readInto(target: Buffer, offset: number): number {
    const count = this.bytes.copy(target, offset, this.at);
    this.at += count;
    return count;
  }

  close(): void {}
}
