// What `godwit import schema` does (loaded only when it runs): honour --start-clean on the target,
// then apply the schema files in dependency order.
import { GodwitError, UsageError } from '../../core/errors.js';
import { displayIdent } from '../../core/identifiers.js';
import { dropSchemas, importSchema, schemasToDropForStartClean } from '../../schema/import/import-schema.js';
import { waitWhileRunning } from '../../state/wait-for-command.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit import schema` (the spec is in import-schema.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, settings, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('import schema runs in an export directory');
  // Started side by side with export schema: the schema files must be complete.
  await waitWhileRunning(exportDir, 'export-schema', context.signal, (line) => {
    logger.info(line);
    terminal.print(`import schema: ${line}`);
  });
  const connection = await context.connect('target');
  try {
    if (settings.options.bool('start-clean')) {
      const schemas = await schemasToDropForStartClean(exportDir);
      const target = connection.settings;
      const question =
        `--start-clean drops the schemas ${schemas.map(displayIdent).join(', ')} and everything in them (tables and their data) ` +
        `in the target database "${target.database}" at ${target.host}:${target.port}, then imports the schema again. Continue?`;
      if (!(await terminal.confirm(question, settings.yes))) throw new UsageError('start-clean was not confirmed; nothing was dropped.');
      await dropSchemas(connection.client, schemas, logger);
    }
    store.setPhaseStatus('import-schema', 'running');
    const summary = await importSchema(
      exportDir,
      connection.client,
      {
        ignoreExist: settings.options.bool('ignore-exist'),
        continueOnError: settings.options.bool('continue-on-error'),
        include: settings.options.list('object-type-list'),
        exclude: settings.options.list('exclude-object-type-list'),
      },
      logger,
      undefined,
      context.signal,
    );
    const parts = [`${summary.applied} statements applied`];
    if (summary.skippedExisting > 0) parts.push(`${summary.skippedExisting} already existed`);
    if (summary.skippedByFilter > 0) parts.push(`${summary.skippedByFilter} left out by the object type lists`);
    if (summary.postSnapshot > 0) parts.push(`${summary.postSnapshot} indexes and keys left for import data to build after the load`);
    if (summary.heldBack > 0) parts.push(`${summary.heldBack} held back for finalize-schema-post-data-import`);
    if (summary.failed > 0) parts.push(`${summary.failed} failed`);
    terminal.print(`import schema: ${parts.join(', ')}.`);
    if (summary.failureReport !== undefined) {
      store.setPhaseStatus('import-schema', 'failed', `${summary.failed} statements failed`);
      throw new GodwitError(`${summary.failed} schema statement(s) failed on the target; the others are applied.`, {
        hint: `The failed statements and their errors are in ${summary.failureReport}. Fix them and run import schema again with --ignore-exist.`,
      });
    }
    store.setPhaseStatus('import-schema', 'done', parts.join(', '));
  } catch (error) {
    if (store.getPhaseStatus('import-schema').state === 'running') store.recordPhaseFailure('import-schema', error);
    throw error;
  } finally {
    await connection.client.end();
  }
}
