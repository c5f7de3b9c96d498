// Sequence values read at export time (last_value, is_called of every recorded sequence), so that the
// import of a snapshot-only migration can set them on the target. Read in the snapshot holder's
// session; a sequence is not transactional, so these are the values when the read ran.

import { GodwitError, describeError } from '../../core/errors.js';
import { quoteIdent } from '../../core/identifiers.js';
import type { SourceSequence } from '../../engines/source-catalog.js';
import type { SqlSession } from '../../engines/sql-session.js';
import type { SnapshotSequenceValue } from '../../state/snapshot-store.js';
import { displayName } from './table-selection.js';

/**
 * Reads last_value and is_called of each sequence (one small query each). `side` names the database in
 * messages: the source at export and cutover to target, the target at cutover to source.
 */
export async function readSequenceValues(
  session: SqlSession,
  sequences: readonly SourceSequence[],
  now: () => Date = () => new Date(),
  side: 'source' | 'target' = 'source',
): Promise<SnapshotSequenceValue[]> {
  const values: SnapshotSequenceValue[] = [];
  for (const sequence of sequences) {
    let row: { last_value: string; is_called: boolean } | undefined;
    try {
      const result = await session.query<{ last_value: string; is_called: boolean }>(
        `SELECT last_value::text AS last_value, is_called FROM ${quoteIdent(sequence.schema)}.${quoteIdent(sequence.name)}`,
      );
      row = result.rows[0];
    } catch (error) {
      throw new GodwitError(`Cannot read the sequence ${displayName(sequence)} on the ${side}: ${describeError(error)}.`, {
        cause: error,
        hint: `The ${side} user needs SELECT on every sequence of the migrated schemas (GRANT SELECT ON ALL SEQUENCES IN SCHEMA ...).`,
      });
    }
    if (row === undefined) continue;
    values.push({ schema: sequence.schema, name: sequence.name, lastValue: row.last_value, isCalled: row.is_called, readAt: now().toISOString() });
  }
  return values;
}
