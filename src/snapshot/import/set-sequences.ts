// At the end of a snapshot-only migration every sequence of the source is set on the target to the
// value the export read under the snapshot, so the application's next nextval() continues where the
// source stopped (invariant 7 for the offline case; a live migration sets them at cutover instead).

import { quoteIdent } from '../../core/identifiers.js';
import { GodwitError, describeError } from '../../core/errors.js';
import type { SqlSession } from '../../engines/sql-session.js';
import type { SnapshotSequenceValue } from '../../state/snapshot-store.js';

/** Sets every sequence with setval(regclass, value, is_called); names the sequence that failed. */
export async function setSequences(session: SqlSession, values: readonly SnapshotSequenceValue[]): Promise<number> {
  for (const v of values) {
    const name = `${quoteIdent(v.schema)}.${quoteIdent(v.name)}`;
    try {
      await session.query('SELECT pg_catalog.setval($1::regclass, $2::bigint, $3::boolean)', [name, v.lastValue, v.isCalled]);
    } catch (error) {
      throw new GodwitError(`Setting sequence ${name} to ${v.lastValue} on the target failed: ${describeError(error)}`, {
        cause: error,
        hint: 'Create the sequence on the target (import schema), then run import data to target again; loaded rows are kept.',
      });
    }
  }
  return values.length;
}
