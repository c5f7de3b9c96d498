// What `godwit finalize-schema-post-data-import` does (loaded only when it runs): add what import
// schema held back, optionally refresh materialized views.
import { finalizeSchema } from '../../schema/finalize/finalize-schema.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit finalize-schema-post-data-import` (the spec is in finalize-schema-post-data-import.ts). */
export async function run(context: CommandContext): Promise<void> {
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
