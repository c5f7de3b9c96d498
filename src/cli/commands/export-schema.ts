// `godwit export schema`: the source schema as files the user can read and edit.
import { postgresCatalogReader } from '../../engines/postgres/catalog/read-catalog.js';
import { exportSchema } from '../../schema/export/export-schema.js';
import type { CommandContext } from '../command-context.js';
import type { CommandSpec } from '../command-spec.js';

async function run(context: CommandContext): Promise<void> {
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
    });
    const detail = `${summary.statements} statements, ${summary.tables} tables, ${summary.sequences} sequences`;
    store.setPhaseStatus('export-schema', 'done', detail);
    terminal.print(`export schema: ${detail} from schemas ${connection.settings.schemas.join(', ')} (${summary.pgDump}).`);
    for (const file of summary.files) terminal.print(`  schema/${file.path}: ${file.statements}`);
  } catch (error) {
    store.setPhaseStatus('export-schema', 'failed', String(error));
    throw error;
  } finally {
    await connection.client.end();
  }
}

export const exportSchemaCommand: CommandSpec = {
  words: ['export', 'schema'],
  summary: 'dump the source schema (pg_dump) and split it into schema/<object type>/*.sql',
  description:
    'Dumps the schema of the selected source schemas with pg_dump (without owners and grants) and splits it with the ' +
    'PostgreSQL parser into one folder per object type under schema/, keeping the raw dump in temp/ and recording ' +
    "tables, keys, partitions and sequences in the migration store for the data phases. pg_dump must be at least the " +
    "source server's major version.",
  options: [],
  databases: ['source'],
  needsExportDir: true,
  exclusive: true,
  ownsState: true,
  run,
};
