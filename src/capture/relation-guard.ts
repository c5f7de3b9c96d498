// Detects DDL on captured tables during the migration. pgoutput describes a table with a Relation
// message before its first change in a session, and again whenever the server's cache of it was
// invalidated: after ALTER TABLE, but also after harmless events (an index built, statistics
// changed), so a repeated Relation message is compared, not taken as a change by itself.
//
// Two references: the first description of each table seen in this run, and, when the caller gives
// one, the column list the export expects (the columns the snapshot read). The second catches a
// change made while the export was not running, which the first cannot see after a restart.

import type { TableName } from '../core/change-event.js';
import { quotedTable, schemaChangedStop, type CaptureStoppedError } from './capture-errors.js';
import type { StreamRelation, StreamRelationColumn } from './capture-stream.js';

/** The columns the export expects for a table, in column order; undefined when it has no expectation. */
export type ExpectedColumns = (table: TableName) => readonly string[] | undefined;

/** Remembers table descriptions and refuses a changed one; see the file comment. */
export class RelationGuard {
  private readonly firstSeen = new Map<string, StreamRelation>();
  private readonly nameById = new Map<number, string>();

  constructor(private readonly expected: ExpectedColumns | undefined) {}

  /** Checks a described relation; returns the stop to throw when its definition is not the one captured so far. */
  check(relation: StreamRelation): CaptureStoppedError | undefined {
    const table = { schema: relation.namespace, name: relation.name };
    const key = tableKey(table);
    const previousName = this.nameById.get(relation.relationId);
    if (previousName !== undefined && previousName !== key) {
      return schemaChangedStop(table, `it was renamed from ${previousName}`);
    }
    const expectedNames = this.expected?.(table);
    if (expectedNames !== undefined) {
      const difference = describeNameDifference(expectedNames, relation.columns.map((column) => column.name));
      if (difference !== undefined) return schemaChangedStop(table, `${difference}, compared with the columns the export expects`);
    }
    const first = this.firstSeen.get(key);
    if (first === undefined) {
      this.firstSeen.set(key, relation);
      this.nameById.set(relation.relationId, key);
      return undefined;
    }
    const difference = describeDifference(first, relation);
    if (difference !== undefined) return schemaChangedStop(table, difference);
    this.nameById.set(relation.relationId, key);
    return undefined;
  }
}

/** "schema"."name": unambiguous for the maps, and how messages print it. */
function tableKey(table: TableName): string {
  return quotedTable(table);
}

function describeNameDifference(expected: readonly string[], actual: readonly string[]): string | undefined {
  const added = actual.filter((name) => !expected.includes(name));
  const removed = expected.filter((name) => !actual.includes(name));
  const parts: string[] = [];
  if (added.length > 0) parts.push(`column${added.length > 1 ? 's' : ''} ${added.map(quoteName).join(', ')} added`);
  if (removed.length > 0) parts.push(`column${removed.length > 1 ? 's' : ''} ${removed.map(quoteName).join(', ')} removed`);
  if (parts.length === 0 && expected.join('\u0000') !== actual.join('\u0000')) parts.push('columns reordered');
  return parts.length === 0 ? undefined : parts.join('; ');
}

function describeDifference(before: StreamRelation, after: StreamRelation): string | undefined {
  const names = describeNameDifference(
    before.columns.map((column) => column.name),
    after.columns.map((column) => column.name),
  );
  if (names !== undefined) return names;
  const changed: string[] = [];
  let keyChanged = false;
  before.columns.forEach((column, index) => {
    const now = after.columns[index] as StreamRelationColumn;
    if (now.typeOid !== column.typeOid || now.typeModifier !== column.typeModifier) changed.push(quoteName(column.name));
    if (now.isKey !== column.isKey) keyChanged = true;
  });
  const parts: string[] = [];
  if (changed.length > 0) parts.push(`type of ${changed.join(', ')} changed`);
  if (keyChanged || before.replicaIdentity !== after.replicaIdentity) parts.push('its replica identity (the key columns) changed');
  return parts.length === 0 ? undefined : parts.join('; ');
}

function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
