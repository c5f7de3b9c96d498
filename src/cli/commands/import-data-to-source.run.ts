// What `godwit import data to source` does (loaded only when it runs): after a cutover to target with
// fall-back is COMPLETED, apply the fall-back stream (`target-to-source`, written by `export data from
// target`) to the source exactly once, until stopped (exit 0, the same command resumes) or until the
// cutover to source completes. The apply runs with session_replication_role = replica (invariant 8: the
// source's triggers, say an audit trigger, and foreign-key actions ran on the target already); when the
// source user may not set it, the triggers and foreign keys that would fire again are listed and the
// command refuses to stream until the user confirms with --yes that they are disabled.
import { NotReadyError } from '../../core/errors.js';
import { reverseStreamObjects, REVERSE_STREAM } from '../../capture/reverse-export.js';
import { SOURCE_IMPORTER } from '../../apply/live-import.js';
import { poolFrom } from '../../engines/postgres/connect.js';
import { listFiringObjects, maySetReplicaRole, type FiringObject } from '../../engines/postgres/replica-role-guard.js';
import { postgresLoaderSessions } from '../../engines/postgres/snapshot/loader-sessions.js';
import { listSnapshotTables } from '../../state/snapshot-store.js';
import type { CommandContext } from '../command-context.js';
import { runLiveApply } from './live-apply.run.js';

const PHASE = 'import-data-to-source';

/** The action of `godwit import data to source` (the spec is in import-data-to-source.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { store, settings, logger } = context;
  if (store === undefined) throw new Error('import data to source runs in an export directory');
  // Refuse before connecting anywhere when there is no fall-back stream.
  reverseStreamObjects(store, context.name);
  const channels = settings.options.int('parallel-jobs') ?? 4;
  const connection = await context.connect('source');
  const source = connection.settings;
  let replicaRole: boolean;
  try {
    replicaRole = await maySetReplicaRole(connection.client);
    if (!replicaRole) {
      const firing = await listFiringObjects(connection.client, listSnapshotTables(store));
      await confirmDisabled(context, source.user, firing);
    }
  } finally {
    await connection.client.end();
  }

  const { pool, server } = poolFrom(connection, { applicationName: `godwit ${context.name}`, logger, max: channels + 1 });
  const sessions = postgresLoaderSessions(pool, channels + 1, { user: source.user, database: source.database }, { replicaRole, isYugabyte: server.isYugabyte });
  store.setPhaseStatus(PHASE, 'running', 'applying the fall-back stream');
  try {
    await runLiveApply(
      context,
      { command: 'import data to source', stream: REVERSE_STREAM, importer: SOURCE_IMPORTER, cutover: 'to-source', phase: PHASE, exporter: 'export data from target' },
      sessions,
      source,
      channels,
    );
  } finally {
    await sessions.end();
  }
}

/**
 * Without the right to set session_replication_role the source's triggers and foreign-key actions
 * would run a second time for every change: say exactly which, and go on only with --yes (the user
 * confirms they are disabled).
 */
async function confirmDisabled(context: CommandContext, user: string, firing: readonly FiringObject[]): Promise<void> {
  const { settings, terminal, logger } = context;
  const intro =
    `import data to source: the source user "${user}" may not set session_replication_role = replica, so triggers and foreign-key actions ` +
    'would fire again on the source for changes that already fired them on the target.';
  const list = firing.map((f) => `  ${f.kind} ${f.name} on ${f.table}: ${f.fix}`).join('\n');
  if (firing.length === 0) {
    logger.warn(`${intro} No enabled trigger or foreign key is on the migrated tables: the apply goes on.`);
    terminal.note(`${intro} None is enabled on the migrated tables, so the apply goes on.`);
    return;
  }
  const what = `These are enabled on the migrated tables:\n${list}`;
  logger.warn(`${intro}\n${what}`);
  if (settings.yes) {
    terminal.note(`${intro} --yes confirms they are disabled; still enabled according to the catalog:\n${list}`);
    return;
  }
  throw new NotReadyError(`${intro}\n${what}`, {
    hint:
      `Grant the right (PostgreSQL 15+: GRANT SET ON PARAMETER session_replication_role TO "${user}", or use a superuser), ` +
      'or disable every trigger and foreign key listed and run the same command with --yes to confirm; nothing was applied.',
  });
}
