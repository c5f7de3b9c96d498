// node-postgres sessions for the snapshot import and the apply: a pg.Pool whose transactions run
// with `session_replication_role = replica` (invariant 8: triggers and foreign-key actions that
// already ran on the source must not run again), set by SET LOCAL in each transaction (see
// LoaderSession.transactionSettings for why not on the session), and COPY FROM STDIN fed from the
// chunk files through reused buffers (copy-in-source.ts).

import type pg from 'pg';
import { NotReadyError } from '../../../core/errors.js';
import type { CopySource, LoaderSession, LoaderSessions } from '../../loader-sessions.js';
import { ScriptWithCopies } from '../script-with-copies.js';
import { CopyInFromSource } from './copy-in-source.js';

/** What the target must allow, said once, when the user may not set session_replication_role. */
export function replicationRoleRefusal(user: string, database: string, cause: unknown): NotReadyError {
  return new NotReadyError(
    `The target user "${user}" may not set session_replication_role = replica in database "${database}", so godwit cannot load ` +
      'the snapshot without firing triggers and foreign-key actions a second time; nothing was loaded.',
    {
      cause,
      hint:
        `Grant it (PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role TO "${user}"; or run the import as a superuser), ` +
        'or disable the user triggers and foreign keys of the migrated tables on the target yourself before the import.',
    },
  );
}

/**
 * Wraps a pool: its sessions' transactions are prepared for loading by their transactionSettings (the
 * user's right to the replica role is checked once, before the first session is handed out). `replicaRole: false` only for an apply whose
 * user may not set the role and who confirmed that the triggers and foreign keys are disabled
 * (`import data to source --yes`, src/engines/postgres/replica-role-guard.ts). `isYugabyte`: the
 * pool's server is YugabyteDB (its COPY commits on its own, see LoaderSessions.copyInTransactions).
 */
export function postgresLoaderSessions(
  pool: pg.Pool,
  size: number,
  who: { user: string; database: string },
  options: { replicaRole?: boolean; isYugabyte?: boolean } = {},
): LoaderSessions {
  const replicaRole = options.replicaRole !== false;
  // Each batch commits its rows together with its bookkeeping row, so a commit the target loses in a
  // crash loses both, and the restarted import loads that batch again: exactly once holds without
  // waiting for every commit's WAL flush (transactions that need the flush say so after these).
  const transactionSettings = [replicaRole ? 'SET LOCAL session_replication_role = replica' : undefined, 'SET LOCAL synchronous_commit = off'].filter((s) => s !== undefined).join('; ');
  // YugabyteDB's COPY commits on its own, outside any transaction: its sessions carry the settings too.
  const sessionSettings = options.isYugabyte === true ? transactionSettings.replaceAll('SET LOCAL', 'SET') : undefined;
  const prepared = new WeakSet<pg.PoolClient>();
  let allowed: Promise<void> | undefined;
  /** Once per pool (one user, one database): may this user set the replica role? Said before anything loads. */
  const checkRole = (client: pg.PoolClient): Promise<void> => {
    allowed ??= client.query('BEGIN; SET LOCAL session_replication_role = replica').then(
      async () => {
        await client.query('ROLLBACK');
      },
      async (error: unknown) => {
        allowed = undefined; // a lost connection is asked again on the next session
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      },
    );
    return allowed;
  };
  return {
    size,
    copyInTransactions: options.isYugabyte !== true,
    async acquire(): Promise<LoaderSession> {
      const client = await pool.connect();
      if (!prepared.has(client)) {
        try {
          if (replicaRole) await checkRole(client);
          if (sessionSettings !== undefined) await client.query(sessionSettings);
        } catch (error) {
          client.release(error as Error);
          if ((error as { code?: string }).code === '42501') throw replicationRoleRefusal(who.user, who.database, error);
          throw error;
        }
        prepared.add(client);
      }
      let released = false;
      return {
        transactionSettings,
        query: async <R extends Record<string, unknown>>(text: string, params?: unknown[]) => {
          const result = await client.query(text, params);
          return { rows: result.rows as R[] };
        },
        async copyIn(copySql: string, data: CopySource): Promise<void> {
          const copy = new CopyInFromSource(copySql, data);
          client.query(copy as unknown as pg.Submittable);
          await copy.done;
        },
        async scriptWithCopies(text: string, copyData: readonly Buffer[]): Promise<void> {
          const script = new ScriptWithCopies(text, copyData);
          client.query(script as unknown as pg.Submittable);
          await script.done;
        },
        release(broken?: Error): void {
          if (released) return;
          released = true;
          client.release(broken);
        },
      };
    },
    async end(): Promise<void> {
      await pool.end();
    },
  };
}
