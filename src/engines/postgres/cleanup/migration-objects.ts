// PostgreSQL (and YugabyteDB) side of `end migration`: the replication slots and publications whose
// names start with the migration's prefix (`godwit_<12 hex>`: the forward ones and the fall-back
// `_fb` ones), and this migration's rows in godwit_metadata. The schema itself is dropped only when
// no other migration has rows in it, so two migrations sharing a database do not break each other.

import type pg from 'pg';
import { StateError } from '../../../core/errors.js';
import { quoteIdent } from '../../../core/identifiers.js';
import type { Logger } from '../../../core/logger.js';
import { BOOKKEEPING_SCHEMA } from '../../bookkeeping-schema.js';
import type { CleanupResult, MigrationCleanup, MigrationObjects } from '../../migration-cleanup.js';

const SLOTS_SQL = `
  SELECT slot_name::text AS name, active_pid AS pid FROM pg_catalog.pg_replication_slots
   WHERE database = current_database() AND left(slot_name::text, length($1)) = $1 ORDER BY 1`;
const PUBLICATIONS_SQL = `SELECT pubname::text AS name FROM pg_catalog.pg_publication WHERE left(pubname::text, length($1)) = $1 ORDER BY 1`;
/** Tables of the bookkeeping schema, and whether each has a migration_id column (rows are per migration). */
const BOOKKEEPING_TABLES_SQL = `
  SELECT c.relname::text AS name,
         EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'migration_id' AND NOT a.attisdropped) AS per_migration
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY 1`;

interface BookkeepingTable {
  name: string;
  per_migration: boolean;
}

/** The cleanup of one migration on one database, over a connected client the caller hands over (closed by close()). */
export function postgresMigrationCleanup(options: {
  client: pg.Client;
  label: string;
  migrationId: string;
  objectPrefix: string;
  logger: Logger;
}): MigrationCleanup {
  const { client, label, migrationId, objectPrefix, logger } = options;
  const table = (name: string): string => `${quoteIdent(BOOKKEEPING_SCHEMA)}.${quoteIdent(name)}`;

  const bookkeepingTables = async (): Promise<BookkeepingTable[]> =>
    (await client.query<BookkeepingTable>(BOOKKEEPING_TABLES_SQL, [BOOKKEEPING_SCHEMA])).rows;

  /** True when a row of another migration (or of a table godwit does not know) is in the schema. */
  const othersPresent = async (tables: readonly BookkeepingTable[]): Promise<boolean> => {
    for (const t of tables) {
      const where = t.per_migration ? ' WHERE migration_id <> $1::uuid' : '';
      const { rows } = await client.query<{ found: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM ${table(t.name)}${where}) AS found`,
        t.per_migration ? [migrationId] : [],
      );
      if (rows[0]?.found === true) return true;
    }
    return false;
  };

  const schemaPresent = async (): Promise<boolean> =>
    (await client.query<{ present: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS present', [BOOKKEEPING_SCHEMA]))
      .rows[0]?.present === true;

  const slots = async (): Promise<MigrationObjects['slots']> =>
    (await client.query<{ name: string; pid: number | null }>(SLOTS_SQL, [objectPrefix])).rows.map((r) => ({ name: r.name, activePid: r.pid }));

  /** Waits until the slot is idle (its exporter stopped); terminates the walsender or fails when it stays busy. */
  const waitIdle = async (slot: string, waitActiveMs: number, terminateActive: boolean): Promise<void> => {
    const deadline = Date.now() + waitActiveMs;
    for (;;) {
      const current = (await slots()).find((s) => s.name === slot);
      if (current === undefined || current.activePid === null) return;
      if (Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      if (!terminateActive) {
        throw new StateError(`The replication slot "${slot}" on the ${label} is still being streamed by process ${current.activePid}; nothing more was removed there.`, {
          hint: 'Stop the godwit process streaming from it (it may run on another machine), or run `end migration` again with --yes to terminate that connection.',
        });
      }
      logger.warn(`terminating process ${current.activePid}, still streaming from slot ${slot} on the ${label}`);
      await client.query('SELECT pg_catalog.pg_terminate_backend($1)', [current.activePid]);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  return {
    label,
    async inspect(): Promise<MigrationObjects> {
      const present = await schemaPresent();
      return {
        slots: await slots(),
        publications: (await client.query<{ name: string }>(PUBLICATIONS_SQL, [objectPrefix])).rows.map((r) => r.name),
        bookkeeping: { present, otherMigrations: present && (await othersPresent(await bookkeepingTables())) },
      };
    },
    async remove({ waitActiveMs, terminateActive }): Promise<CleanupResult> {
      const result: CleanupResult = { droppedSlots: [], droppedPublications: [], bookkeeping: 'absent' };
      for (const slot of await slots()) {
        await waitIdle(slot.name, waitActiveMs, terminateActive);
        await client.query('SELECT pg_catalog.pg_drop_replication_slot($1)', [slot.name]);
        logger.info(`dropped replication slot ${slot.name} on the ${label}`);
        result.droppedSlots.push(slot.name);
      }
      for (const { name } of (await client.query<{ name: string }>(PUBLICATIONS_SQL, [objectPrefix])).rows) {
        await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
        logger.info(`dropped publication ${name} on the ${label}`);
        result.droppedPublications.push(name);
      }
      if (!(await schemaPresent())) return result;
      const tables = await bookkeepingTables();
      await client.query('BEGIN');
      try {
        for (const t of tables.filter((x) => x.per_migration)) {
          await client.query(`DELETE FROM ${table(t.name)} WHERE migration_id = $1::uuid`, [migrationId]);
        }
        result.bookkeeping = (await othersPresent(tables)) ? 'kept' : 'dropped';
        if (result.bookkeeping === 'dropped') await client.query(`DROP SCHEMA ${quoteIdent(BOOKKEEPING_SCHEMA)} CASCADE`);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      logger.info(
        result.bookkeeping === 'dropped'
          ? `dropped schema ${BOOKKEEPING_SCHEMA} on the ${label}`
          : `deleted this migration's rows from ${BOOKKEEPING_SCHEMA} on the ${label}; other migrations' rows keep the schema`,
      );
      return result;
    },
    async close(): Promise<void> {
      await client.end().catch(() => undefined);
    },
  };
}
