// What the connecting role must be allowed to do, as PostgreSQL 15 and 17 check it:
// - a logical replication connection (walsender) and CREATE_REPLICATION_SLOT need the REPLICATION
//   attribute on the login role itself, or superuser. Attributes are not inherited: membership in
//   a role that has REPLICATION does not count, and neither does pg_create_subscription (16+),
//   which is for the subscribing side ("permission denied to start WAL sender", verified);
// - CREATE PUBLICATION needs CREATE on the database;
// - CREATE PUBLICATION ... FOR TABLE needs ownership (or the privileges of the owning role) of
//   every table it names, unless superuser; partitions published through their root are not
//   checked (verified: a root owner publishes a root whose partition another role owns);
// - the snapshot reads every table: USAGE on its schema and SELECT on it.

import { quoteIdent } from '../../../core/identifiers.js';
import { readinessFinding, type ReadinessFinding, type ReadinessFix } from '../../capture-readiness.js';
import type { RoleRow, SelectedTableRow } from './readiness-queries.js';
import { quotedTable, type TableTree } from './table-tree.js';

/** MISSING_REPLICATION_PRIVILEGE: needed to create the slot and to stream, on every run. */
export function replicationPrivilegeFindings(role: RoleRow): ReadinessFinding[] {
  if (role.is_superuser || role.has_replication) return [];
  const name = quoteIdent(role.role_name);
  return [
    readinessFinding(
      'MISSING_REPLICATION_PRIVILEGE',
      { kind: 'role', name },
      `The role ${name} has neither the REPLICATION attribute nor superuser: it can neither open a replication ` +
        'connection nor create a replication slot. Membership in a role that has REPLICATION is not enough ' +
        '(attributes are not inherited), and neither is pg_create_subscription.',
      [{ sql: [`ALTER ROLE ${name} WITH REPLICATION`], note: 'run as a superuser' }],
    ),
  ];
}

/** MISSING_CREATE_PRIVILEGE: only when the publication must still be created. */
export function createPrivilegeFindings(role: RoleRow): ReadinessFinding[] {
  if (role.is_superuser || role.can_create) return [];
  const name = quoteIdent(role.role_name);
  const database = quoteIdent(role.database);
  return [
    readinessFinding(
      'MISSING_CREATE_PRIVILEGE',
      { kind: 'database', name: database },
      `The role ${name} may not CREATE in the database ${database}, which CREATE PUBLICATION needs.`,
      [{ sql: [`GRANT CREATE ON DATABASE ${database} TO ${name}`] }],
    ),
  ];
}

/** NOT_TABLE_OWNER for each table the publication names that the role does not own; only when creating it. */
export function ownershipFindings(role: RoleRow, tree: TableTree): ReadinessFinding[] {
  if (role.is_superuser) return [];
  const name = quoteIdent(role.role_name);
  return tree.members
    .filter((row) => !row.is_owner)
    .map((row) => {
      const table = quotedTable(row);
      const owner = quoteIdent(row.owner);
      const fixes: ReadinessFix[] = [
        { sql: [`ALTER TABLE ${table} OWNER TO ${name}`] },
        { sql: [`GRANT ${owner} TO ${name}`], note: `${name} then acts with the owner's privileges (it must have INHERIT)` },
        { sql: [], note: 'have a superuser run the export' },
      ];
      return readinessFinding(
        'NOT_TABLE_OWNER',
        { kind: 'table', name: table },
        `${table} is owned by ${owner}, not by ${name}: CREATE PUBLICATION ... FOR TABLE needs its owner (or a superuser).`,
        fixes,
      );
    });
}

/** MISSING_SELECT_PRIVILEGE for each table the snapshot cannot read. */
export function selectPrivilegeFindings(role: RoleRow, rows: readonly SelectedTableRow[]): ReadinessFinding[] {
  if (role.is_superuser) return [];
  const name = quoteIdent(role.role_name);
  return rows
    .filter((row) => !row.can_select || !row.schema_usage)
    .map((row) => {
      const table = quotedTable(row);
      const sql: string[] = [];
      if (!row.schema_usage) sql.push(`GRANT USAGE ON SCHEMA ${quoteIdent(row.schema)} TO ${name}`);
      if (!row.can_select) sql.push(`GRANT SELECT ON ${table} TO ${name}`);
      const missing = [!row.schema_usage ? `USAGE on the schema ${quoteIdent(row.schema)}` : '', !row.can_select ? 'SELECT on it' : '']
        .filter((part) => part !== '')
        .join(' and ');
      return readinessFinding(
        'MISSING_SELECT_PRIVILEGE',
        { kind: 'table', name: table },
        `The role ${name} cannot read ${table} for the snapshot: it lacks ${missing}.`,
        [{ sql }],
      );
    });
}
