// The PostgreSQL (and YugabyteDB) implementation of CaptureReadinessChecker: reads what the checks
// need in one read-only transaction on an ordinary connection as the migration's user (the same
// user that will create the publication and the slot), then lets each check file turn the facts
// into findings. It creates nothing and changes nothing.
//
// YugabyteDB (DESIGN.md section 10): its change stream is not built on the PostgreSQL WAL; it has no
// wal_level to check, and its slot and sender limits are server flags SQL does not show. Those checks
// are skipped there (a CHECKS_SKIPPED note says so) rather than guessed; privileges, replica
// identity, ownership and godwit's existing slot and publication are checked the same way.

import type pg from 'pg';
import { GodwitError, describeError, type DatabaseRole } from '../../../core/errors.js';
import {
  DEFAULT_SLOT_WAL_KEEP_WARNING_BYTES,
  readinessFinding,
  readinessReport,
  type CaptureReadinessChecker,
  type CaptureReadinessInput,
  type ReadinessFinding,
  type ReadinessReport,
} from '../../capture-readiness.js';
import { readSlotState, type SlotState } from '../replication/slot-state.js';
import type { ServerInfo } from '../server-info.js';
import { publicationFindings, slotFindings, type PublicationState } from './existing-objects.js';
import {
  createPrivilegeFindings,
  ownershipFindings,
  replicationPrivilegeFindings,
  selectPrivilegeFindings,
} from './privilege-checks.js';
import {
  PUBLICATION_QUERY,
  PUBLICATION_TABLES_QUERY,
  READINESS_SETTING_NAMES,
  REPLICATION_USAGE_QUERY,
  ROLE_QUERY,
  SETTINGS_QUERY,
  selectedTablesQueryFor,
  type ReplicationUsageRow,
  type RoleRow,
  type SelectedTableRow,
  type SettingRow,
} from './readiness-queries.js';
import { recoveryFindings, serverSettingFindings } from './server-checks.js';
import { tableFindings } from './table-checks.js';
import { buildTableTree } from './table-tree.js';

/** A readiness query failed (a server without a catalog feature, a broken connection): names the query. */
export class ReadinessCheckError extends GodwitError {
  readonly query: string;

  constructor(query: string, role: DatabaseRole, cause: unknown) {
    super(`Could not check whether the ${role} database is ready for change capture (${query}): ${describeError(cause)}`, { cause });
    this.query = query;
  }
}

/** How the checker describes its database. */
export interface PostgresReadinessOptions {
  /** Which side of the migration the database is (the target acting as a source during fall-back). */
  role: DatabaseRole;
  clock?: () => Date;
}

/** A CaptureReadinessChecker on an open connection; the caller keeps owning (and closing) the client. */
export function postgresCaptureReadiness(
  client: pg.ClientBase,
  server: ServerInfo,
  options: PostgresReadinessOptions,
): CaptureReadinessChecker {
  return { checkCaptureReadiness: (input) => checkPostgresCaptureReadiness(client, server, input, options) };
}

/** Everything the checks read, in one snapshot. */
interface ReadinessFacts {
  role: RoleRow;
  /** Empty on YugabyteDB. */
  settings: Map<string, SettingRow>;
  /** Undefined on YugabyteDB. */
  usage: ReplicationUsageRow | undefined;
  tables: SelectedTableRow[];
  slot: SlotState | undefined;
  publication: PublicationState | undefined;
}

/** Checks the database behind `client`; the client must not be inside a transaction. */
export async function checkPostgresCaptureReadiness(
  client: pg.ClientBase,
  server: ServerInfo,
  input: CaptureReadinessInput,
  options: PostgresReadinessOptions,
): Promise<ReadinessReport> {
  const checkedAt = (options.clock ?? (() => new Date()))().toISOString();
  const facts = await readFacts(client, server, input, options.role);
  const tree = buildTableTree(facts.tables, input.tables);
  const creatingPublication = facts.publication === undefined;
  const findings: ReadinessFinding[] = [...recoveryFindings(facts.role.in_recovery)];
  if (server.isYugabyte) {
    findings.push(
      readinessFinding(
        'CHECKS_SKIPPED',
        { kind: 'server', name: 'YugabyteDB' },
        'wal_level, max_replication_slots, max_wal_senders and max_slot_wal_keep_size were not checked: YugabyteDB ' +
          'streams changes without the PostgreSQL WAL and sets its limits in server flags that SQL does not show.',
      ),
    );
  } else if (facts.usage !== undefined) {
    findings.push(
      ...serverSettingFindings(facts.settings, facts.usage, {
        needsNewSlot: facts.slot === undefined,
        slotWalKeepWarningBytes: input.slotWalKeepWarningBytes ?? DEFAULT_SLOT_WAL_KEEP_WARNING_BYTES,
      }),
    );
  }
  findings.push(...replicationPrivilegeFindings(facts.role));
  if (creatingPublication) findings.push(...createPrivilegeFindings(facts.role));
  findings.push(...slotFindings(facts.slot, input, facts.role.database));
  findings.push(...publicationFindings(facts.publication, input, tree));
  if (creatingPublication) findings.push(...ownershipFindings(facts.role, tree));
  findings.push(...selectPrivilegeFindings(facts.role, tree.all));
  findings.push(...tableFindings(tree, facts.role.database, server.versionNum));
  return readinessReport(
    {
      role: options.role,
      database: facts.role.database,
      user: facts.role.role_name,
      serverVersion: server.versionString,
      checkedAt,
    },
    findings,
  );
}

async function readFacts(
  client: pg.ClientBase,
  server: ServerInfo,
  input: CaptureReadinessInput,
  role: DatabaseRole,
): Promise<ReadinessFacts> {
  const run = async <R extends pg.QueryResultRow>(name: string, text: string, params: unknown[] = []): Promise<R[]> => {
    try {
      return (await client.query<R>(text, params)).rows;
    } catch (error) {
      throw new ReadinessCheckError(name, role, error);
    }
  };
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const [roleRow] = await run<RoleRow>('role', ROLE_QUERY);
    if (roleRow === undefined) throw new ReadinessCheckError('role', role, new Error('the current role is not in pg_roles'));
    const settings = server.isYugabyte ? [] : await run<SettingRow>('settings', SETTINGS_QUERY, [[...READINESS_SETTING_NAMES]]);
    const usage = server.isYugabyte ? undefined : (await run<ReplicationUsageRow>('replication usage', REPLICATION_USAGE_QUERY))[0];
    const tables = await run<SelectedTableRow>('selected tables', selectedTablesQueryFor(server.versionNum), [
      input.tables.map((table) => table.schema),
      input.tables.map((table) => table.name),
    ]);
    const slot = await readSlotState(client, input.slotName).catch((error: unknown) => {
      throw new ReadinessCheckError('replication slot', role, error);
    });
    const publication = await readPublication(run, input.publicationName);
    await client.query('COMMIT');
    return { role: roleRow, settings: new Map(settings.map((row) => [row.name, row])), usage, tables, slot, publication };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

type Run = <R extends pg.QueryResultRow>(name: string, text: string, params?: unknown[]) => Promise<R[]>;

async function readPublication(run: Run, name: string): Promise<PublicationState | undefined> {
  const [row] = await run<{ publication: string }>('publication', PUBLICATION_QUERY, [name]);
  if (row === undefined) return undefined;
  const publication = JSON.parse(row.publication) as Record<string, unknown>;
  const flag = (key: string): boolean | undefined => (typeof publication[key] === 'boolean' ? (publication[key] as boolean) : undefined);
  const tables = await run<{ schema: string; name: string }>('publication tables', PUBLICATION_TABLES_QUERY, [name]);
  return {
    name,
    allTables: flag('puballtables') === true,
    insert: flag('pubinsert') !== false,
    update: flag('pubupdate') !== false,
    delete: flag('pubdelete') !== false,
    truncate: flag('pubtruncate'),
    viaRoot: flag('pubviaroot'),
    tables: tables.map((table) => ({ schema: table.schema, name: table.name })),
  };
}
