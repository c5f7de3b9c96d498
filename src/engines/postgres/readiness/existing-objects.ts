// godwit's own publication and slot, when they already exist: on a first run they are a conflict
// (left by an abandoned run, or somebody else's), on a restart they are expected, and must still be
// what this migration needs: a logical pgoutput slot of this database, not held by another process,
// not invalidated; a publication of every selected table, of inserts, updates, deletes and
// truncates, via the partition root.

import { formatLsn } from '../../../core/lsn.js';
import { quoteIdent } from '../../../core/identifiers.js';
import { readinessFinding, type CaptureReadinessInput, type ReadinessFinding, type ReadinessFix } from '../../capture-readiness.js';
import type { CatalogName } from '../../source-catalog.js';
import { isInvalidated, type SlotState } from '../replication/slot-state.js';
import { quotedTable, type TableTree } from './table-tree.js';

/** A publication as pg_publication and pg_publication_tables describe it. */
export interface PublicationState {
  name: string;
  allTables: boolean;
  insert: boolean;
  update: boolean;
  delete: boolean;
  /** Undefined before PostgreSQL 11 (no pubtruncate). */
  truncate: boolean | undefined;
  /** Undefined before PostgreSQL 13 (no publish_via_partition_root). */
  viaRoot: boolean | undefined;
  /** What the server says it publishes (roots when published via root, else leaf partitions). */
  tables: CatalogName[];
}

type Names = Pick<CaptureReadinessInput, 'slotName' | 'publicationName' | 'resume' | 'ownSenderPid'>;

const START_AGAIN = 'start this migration again from a new snapshot';

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** EXISTING_SLOT, SLOT_IN_USE, SLOT_INVALIDATED, SLOT_MISSING or SLOT_RESUMED. */
export function slotFindings(state: SlotState | undefined, names: Names, database: string): ReadinessFinding[] {
  const object = { kind: 'slot' as const, name: quoteIdent(names.slotName) };
  const drop: ReadinessFix = {
    sql: [
      ...(state?.activePid === undefined ? [] : [`SELECT pg_terminate_backend(${state.activePid})`]),
      `SELECT pg_drop_replication_slot(${literal(names.slotName)})`,
    ],
    note: 'only if nothing needs that slot: its consumer can never resume',
  };
  if (state === undefined) {
    if (!names.resume) return [];
    return [
      readinessFinding(
        'SLOT_MISSING',
        object,
        `This migration created the replication slot ${object.name}, but it no longer exists: the changes it had not ` +
          'delivered yet cannot be recovered.',
        [{ sql: [], note: START_AGAIN }],
      ),
    ];
  }
  const mismatch = slotMismatch(state, database);
  if (!names.resume || mismatch !== undefined) {
    const why = mismatch ?? 'this migration has not created it yet, so it was left by another run or belongs to something else';
    return [readinessFinding('EXISTING_SLOT', object, `A replication slot ${object.name} already exists: ${why}.`, [drop])];
  }
  if (isInvalidated(state)) {
    const reason = state.invalidationReason === undefined ? '' : `, ${state.invalidationReason}`;
    return [
      readinessFinding(
        'SLOT_INVALIDATED',
        object,
        `The server invalidated the replication slot ${object.name} (wal_status = ${state.walStatus ?? 'lost'}${reason}): ` +
          'the WAL it still needed is gone, so the stream cannot resume.',
        [{ ...drop, note: `then ${START_AGAIN}, with a larger max_slot_wal_keep_size (or -1)` }],
      ),
    ];
  }
  if (state.active && (names.ownSenderPid === undefined || state.activePid !== names.ownSenderPid)) {
    const pid = state.activePid === undefined ? 'another process' : `the process ${state.activePid}`;
    return [
      readinessFinding(
        'SLOT_IN_USE',
        object,
        `The replication slot ${object.name} is in use by ${pid}: another exporter of this migration is running, or a ` +
          'session whose client died has not been ended yet (the server ends it after wal_sender_timeout).',
        state.activePid === undefined
          ? [{ sql: [], note: 'stop the other exporter' }]
          : [{ sql: [`SELECT pg_terminate_backend(${state.activePid})`], note: 'only if that process is a godwit exporter that is gone' }],
      ),
    ];
  }
  const confirmed = state.confirmedFlushLsn === undefined ? '' : `, confirmed up to ${formatLsn(state.confirmedFlushLsn)}`;
  return [
    readinessFinding('SLOT_RESUMED', object, `The replication slot ${object.name} exists${confirmed}: the stream resumes from it.`),
  ];
}

function slotMismatch(state: SlotState, database: string): string | undefined {
  if (state.slotType !== 'logical') return `it is a ${state.slotType} slot, and godwit streams from a logical one`;
  if (state.plugin !== undefined && state.plugin !== 'pgoutput') return `it decodes with ${state.plugin}, and godwit needs pgoutput`;
  if (state.database !== undefined && state.database !== database) {
    return `it belongs to the database ${quoteIdent(state.database)}, not ${quoteIdent(database)}`;
  }
  return undefined;
}

/** EXISTING_PUBLICATION, PUBLICATION_MISSING or PUBLICATION_REUSED. */
export function publicationFindings(state: PublicationState | undefined, names: Names, tree: TableTree): ReadinessFinding[] {
  const object = { kind: 'publication' as const, name: quoteIdent(names.publicationName) };
  const drop: ReadinessFix = { sql: [`DROP PUBLICATION ${object.name}`], note: 'only if nothing else uses it' };
  if (state === undefined) {
    if (!names.resume) return [];
    return [
      readinessFinding(
        'PUBLICATION_MISSING',
        object,
        `This migration created the publication ${object.name}, but it no longer exists: the slot cannot decode ` +
          'the changes written since without it.',
        [{ sql: [], note: START_AGAIN }],
      ),
    ];
  }
  if (!names.resume) {
    return [
      readinessFinding(
        'EXISTING_PUBLICATION',
        object,
        `A publication ${object.name} already exists: this migration has not created it yet, so it was left by another ` +
          'run or belongs to something else.',
        [drop],
      ),
    ];
  }
  const problems = publicationProblems(state, tree);
  if (problems.length > 0) {
    return [
      readinessFinding(
        'EXISTING_PUBLICATION',
        object,
        `The publication ${object.name} is not the one this migration needs: ${problems.join('; ')}. Changes already ` +
          'missed cannot be recovered by changing it now.',
        [{ ...drop, note: `then ${START_AGAIN}` }],
      ),
    ];
  }
  return [readinessFinding('PUBLICATION_REUSED', object, `The publication ${object.name} exists and covers the selected tables: it is reused.`)];
}

function publicationProblems(state: PublicationState, tree: TableTree): string[] {
  const problems: string[] = [];
  const missingOps = (['insert', 'update', 'delete', 'truncate'] as const).filter((op) => state[op] === false);
  if (missingOps.length > 0) problems.push(`it does not publish ${missingOps.join(', ')}`);
  const partitioned = tree.members.filter((row) => row.relkind === 'p');
  if (partitioned.length > 0 && state.viaRoot === false) {
    problems.push('it publishes partitions as themselves, not via their root (publish_via_partition_root is off)');
  }
  if (!state.allTables) {
    const published = new Set(state.tables.map((name) => JSON.stringify([name.schema, name.name])));
    // Partitioned members published as their partitions are reported above already.
    const missing = tree.members.filter(
      (row) => !published.has(JSON.stringify([row.schema, row.name])) && !(row.relkind === 'p' && state.viaRoot === false),
    );
    if (missing.length > 0) {
      const listed = missing.slice(0, 5).map(quotedTable).join(', ');
      problems.push(`it does not publish ${listed}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}`);
    }
  }
  return problems;
}
