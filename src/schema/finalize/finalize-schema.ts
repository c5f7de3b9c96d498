// `finalize-schema-post-data-import`: adds what import schema held back (NOT VALID constraints, as
// NOT VALID, exactly as on the source) and optionally refreshes materialized views. Re-runnable:
// what already exists is skipped.

import type { Logger } from '../../core/logger.js';
import { quoteIdent } from '../../core/identifiers.js';
import type { SqlSession } from '../../engines/sql-session.js';
import type { ExportDir } from '../../state/export-dir.js';
import { applyStatements } from '../import/apply-statements.js';
import { planImport } from '../import/plan-import.js';
import { readSchemaFiles } from '../import/read-schema-files.js';

/** Counts for the summary line (held back = indexes and keys not built yet plus NOT VALID constraints). */
export interface FinalizeSummary {
  added: number;
  alreadyThere: number;
  refreshedViews: string[];
}

/** Applies the held-back statements and, when asked, refreshes every materialized view in dump order. */
export async function finalizeSchema(
  dir: ExportDir,
  session: SqlSession,
  options: { refreshMaterializedViews: boolean },
  logger: Logger,
  signal?: AbortSignal,
): Promise<FinalizeSummary> {
  const onDisk = await readSchemaFiles(dir.schemaDir);
  const plan = planImport(onDisk.manifest, onDisk.files, { include: [], exclude: [] });
  // Indexes and keys are normally built by import data after the load; a schema-only migration (or
  // one whose import never got that far) gets them here. Existing ones are skipped.
  const result = await applyStatements(session, plan.sessionSettings, [...plan.postSnapshot, ...plan.heldBack], {
    ignoreExist: true,
    continueOnError: false,
    logger,
    signal,
  });
  const refreshedViews: string[] = [];
  if (options.refreshMaterializedViews) {
    for (const view of plan.now) {
      const relation = materializedViewRelation(view.ast);
      if (relation === undefined) continue;
      const name = relation.schema === undefined ? quoteIdent(relation.name) : `${quoteIdent(relation.schema)}.${quoteIdent(relation.name)}`;
      await session.query(`REFRESH MATERIALIZED VIEW ${name}`);
      refreshedViews.push(view.objectName ?? name);
      logger.info(`refreshed materialized view ${name}`);
    }
  }
  return { added: result.applied, alreadyThere: result.skippedExisting.length, refreshedViews };
}

/** The schema and name a CREATE MATERIALIZED VIEW statement creates, from its syntax tree. */
function materializedViewRelation(ast: unknown): { schema: string | undefined; name: string } | undefined {
  const statement = (ast as { CreateTableAsStmt?: { objtype?: string; into?: { rel?: { schemaname?: string; relname?: string } } } })
    .CreateTableAsStmt;
  if (statement?.objtype !== 'OBJECT_MATVIEW' || statement.into?.rel?.relname === undefined) return undefined;
  return { schema: statement.into.rel.schemaname, name: statement.into.rel.relname };
}
