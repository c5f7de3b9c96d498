// What `godwit export schema` does (loaded only when it runs): pg_dump, split into schema/, and the
// catalog recorded in the store.
import { postgresCatalogReader } from '../../engines/postgres/catalog/read-catalog.js';
import { exportSchema } from '../../schema/export/export-schema.js';
import { CATALOG_RECORDED } from '../../state/catalog-store.js';
import type { CommandContext } from '../command-context.js';

/** The action of `godwit export schema` (the spec is in export-schema.ts). */
export async function run(context: CommandContext): Promise<void> {
  const { exportDir, store, terminal, logger } = context;
  if (exportDir === undefined || store === undefined) throw new Error('export schema runs in an export directory');
  const connection = await context.connect('source');
  try {
    store.setPhaseStatus('export-schema', 'running');
    const summary = await exportSchema({
      dir: exportDir,
      store,
      settings: connection.settings,
      session: connection.client,
      catalogReader: postgresCatalogReader(connection.client, connection.server),
      server: connection.server,
      applicationName: `godwit ${context.name}`,
      logger,
      signal: context.signal,
      onCatalogRecorded: () => store.setPhaseStatus('export-schema', 'running', CATALOG_RECORDED),
    });
    const detail = `${summary.statements} statements, ${summary.tables} tables, ${summary.sequences} sequences`;
    store.setPhaseStatus('export-schema', 'done', detail);
    terminal.print(`export schema: ${detail} from schemas ${connection.settings.schemas.join(', ')} (${summary.pgDump}).`);
    for (const file of summary.files) terminal.print(`  schema/${file.path}: ${file.statements}`);
  } catch (error) {
    store.recordPhaseFailure('export-schema', error);
    throw error;
  } finally {
    await connection.client.end();
  }
}
