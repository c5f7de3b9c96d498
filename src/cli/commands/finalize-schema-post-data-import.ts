// `godwit finalize-schema-post-data-import`: what import schema held back until the data was in.
import { finalizeSchema } from '../../schema/finalize/finalize-schema.js';
import type { CommandContext } from '../command-context.js';
import type { CommandSpec } from '../command-spec.js';
import { booleanOption } from '../shared-options.js';

async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, settings, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('finalize runs in an export directory');
  const connection = await context.connect('target');
  try {
    const summary = await finalizeSchema(
      exportDir,
      connection.client,
      { refreshMaterializedViews: settings.options.bool('refresh-mviews') },
      logger,
      context.signal,
    );
    const parts = [`${summary.added} held-back statements added`];
    if (summary.alreadyThere > 0) parts.push(`${summary.alreadyThere} were already there`);
    if (settings.options.bool('refresh-mviews')) parts.push(`${summary.refreshedViews.length} materialized views refreshed`);
    terminal.print(`finalize-schema-post-data-import: ${parts.join(', ')}.`);
    store.setPhaseStatus('finalize-schema-post-data-import', 'done', parts.join(', '));
  } finally {
    await connection.client.end();
  }
}

export const finalizeSchemaPostDataImport: CommandSpec = {
  words: ['finalize-schema-post-data-import'],
  summary: 'add the held-back NOT VALID constraints and refresh materialized views',
  description:
    'Adds what import schema held back (NOT VALID constraints, added NOT VALID as on the source) and with --refresh-mviews true ' +
    'refreshes materialized views in dependency order. Re-runnable: what already exists is skipped.',
  options: [booleanOption('refresh-mviews', 'refresh materialized views on the target', false)],
  databases: ['target'],
  needsExportDir: true,
  exclusive: true,
  ownsState: false,
  run,
};
