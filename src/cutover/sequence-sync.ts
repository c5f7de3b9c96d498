// Invariant 7 at cutover: every sequence on the database taking over (also sequences owned by no
// column, and identity columns' sequences) is moved past every value the old one handed out. The old
// side's values (last_value, is_called) were read after the end marker, when the application had
// stopped writing (export-cutover.ts); here each is set with setval unless the new side's sequence is
// already further along, so running this again (after a crash) or on a sequence already ahead never
// moves a sequence back.

import { GodwitError, describeError } from '../core/errors.js';
import { quoteIdent } from '../core/identifiers.js';
import type { SqlSession } from '../engines/sql-session.js';
import type { SnapshotSequenceValue } from '../state/snapshot-store.js';

export interface SequenceSyncSummary {
  /** Sequences set to the old side's value. */
  set: number;
  /** Sequences already at or past it, left alone. */
  alreadyAhead: number;
}

/** The value the next nextval() returns: last_value itself before the first call, else one increment on. */
export function nextValue(lastValue: bigint, isCalled: boolean, increment: bigint): bigint {
  return isCalled ? lastValue + increment : lastValue;
}

/** Moves every sequence of `values` forward on `session`'s database; names the sequence that failed. */
export async function moveSequencesForward(session: SqlSession, values: readonly SnapshotSequenceValue[]): Promise<SequenceSyncSummary> {
  const summary: SequenceSyncSummary = { set: 0, alreadyAhead: 0 };
  for (const v of values) {
    const name = `${quoteIdent(v.schema)}.${quoteIdent(v.name)}`;
    try {
      const { rows } = await session.query<{ last_value: string; is_called: boolean; increment: string }>(
        `SELECT s.last_value::text AS last_value, s.is_called,
                (SELECT q.seqincrement FROM pg_catalog.pg_sequence q WHERE q.seqrelid = $1::regclass)::text AS increment
           FROM ${name} s`,
        [name],
      );
      const row = rows[0];
      if (row === undefined) throw new Error('the sequence returned no row');
      const increment = BigInt(row.increment);
      const current = nextValue(BigInt(row.last_value), row.is_called, increment);
      const wanted = nextValue(BigInt(v.lastValue), v.isCalled, increment);
      const ahead = increment > 0n ? current >= wanted : current <= wanted;
      if (ahead) {
        summary.alreadyAhead += 1;
        continue;
      }
      await session.query('SELECT pg_catalog.setval($1::regclass, $2::bigint, $3::boolean)', [name, v.lastValue, v.isCalled]);
      summary.set += 1;
    } catch (error) {
      throw new GodwitError(`Moving sequence ${name} forward to ${v.lastValue} failed: ${describeError(error)}`, {
        cause: error,
        hint: 'Create the sequence where the migration continues (import schema) and grant the godwit user UPDATE on it, then run the same command again.',
      });
    }
  }
  return summary;
}
