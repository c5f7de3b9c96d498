// What live migration cannot stream or must handle specially: tables without a primary key,
// replica identity NOTHING, NOT VALID constraints, partitioned tables, triggers that fire during
// apply, materialized views and generated columns.
import type { AlterTableCmd, AlterTableStmt } from 'libpg-query';
import { nodeAs } from '../parse/ast-walk.js';
import type { IssueDefinition } from './analysis-types.js';
import type { RuleContext, RuleFamily } from './rule-context.js';
import type { TableInfo } from './schema-model.js';

const C = 'migration_caveats' as const;

const definitions: IssueDefinition[] = [
  { type: 'TABLE_WITHOUT_PRIMARY_KEY', category: C, title: 'Table without a primary key', reason: 'Without a primary key (or a replica identity that identifies rows) UPDATE and DELETE cannot be streamed: the snapshot is copied, live changes are not. YugabyteDB also distributes rows by the primary key and adds a hidden one otherwise.', suggestion: 'Add a primary key, or set REPLICA IDENTITY USING INDEX on a unique not-null index (REPLICA IDENTITY FULL works but is slow), before starting live migration.' },
  { type: 'REPLICA_IDENTITY_NOTHING', category: C, title: 'REPLICA IDENTITY NOTHING', reason: 'With REPLICA IDENTITY NOTHING, UPDATE and DELETE on the table carry no key, so they cannot be streamed.', suggestion: 'Set REPLICA IDENTITY DEFAULT (with a primary key) or USING INDEX before starting live migration.' },
  { type: 'NOT_VALID_CONSTRAINT', category: C, title: 'NOT VALID constraint', reason: 'A NOT VALID constraint is not checked against existing rows; applied on the target before the data, it would check them.', suggestion: 'import schema holds it back; finalize-schema-post-data-import adds it after the data load.' },
  { type: 'PARTITIONED_TABLE', category: C, title: 'Partitioned table', reason: 'Changes of leaf partitions are streamed and applied through the root table, and rows may move between partitions; YugabyteDB also hash-shards each partition on its own.', suggestion: 'Keep the same partitioning on the target; migrate the root table with all its partitions together.' },
  { type: 'TRIGGER_FIRES_ON_REPLICA', category: C, title: 'Trigger enabled ALWAYS or REPLICA', reason: 'The apply runs with session_replication_role = replica; triggers enabled ALWAYS or REPLICA still fire then, so their effects would be applied twice.', suggestion: 'Set the trigger to ENABLE (origin only) for the duration of the migration.' },
  { type: 'MATERIALIZED_VIEW', category: C, title: 'Materialized view', reason: 'Materialized views are not streamed; their contents are whatever the last refresh on the target produced.', suggestion: 'Run finalize-schema-post-data-import --refresh-mviews true after the data load and refresh on a schedule after cutover.' },
  { type: 'GENERATED_COLUMN_NOT_STREAMED', category: C, title: 'Generated column', reason: 'Generated columns are not sent in the change stream before PostgreSQL 18; the target computes them.', suggestion: 'Make sure the generation expression is identical on the target (it is, when the schema is imported by godwit).' },
];

function inheritedPrimaryKey(ctx: RuleContext, table: TableInfo): boolean {
  for (let t: TableInfo | undefined = table, depth = 0; t !== undefined && depth < 32; depth++) {
    if (t.primaryKey !== undefined) return true;
    t = ctx.model.findTable(t.parent);
  }
  return false;
}

function check(ctx: RuleContext): void {
  for (const table of ctx.model.tables.values()) {
    const identity = table.replicaIdentity;
    if (!inheritedPrimaryKey(ctx, table) && identity !== 'f' && identity !== 'i' && table.statement.kind === 'table') {
      ctx.report('TABLE_WITHOUT_PRIMARY_KEY', table.statement);
    }
    if (table.partitionKey.length > 0) ctx.report('PARTITIONED_TABLE', table.statement);
    if ([...table.columns.values()].some((c) => c.generatedStored)) ctx.report('GENERATED_COLUMN_NOT_STREAMED', table.statement);
  }
  for (const stmt of ctx.statements) {
    if (stmt.notValid) ctx.report('NOT_VALID_CONSTRAINT', stmt);
    if (stmt.kind === 'materialized-view' && nodeAs(stmt.ast, 'CreateTableAsStmt') !== undefined) ctx.report('MATERIALIZED_VIEW', stmt);
    const at = nodeAs<AlterTableStmt>(stmt.ast, 'AlterTableStmt');
    for (const c of at?.cmds ?? []) {
      const cmd = nodeAs<AlterTableCmd>(c, 'AlterTableCmd');
      if (cmd?.subtype === 'AT_EnableAlwaysTrig' || cmd?.subtype === 'AT_EnableReplicaTrig') ctx.report('TRIGGER_FIRES_ON_REPLICA', stmt);
      if (cmd?.subtype === 'AT_ReplicaIdentity') {
        const ri = nodeAs<{ identity_type?: string }>(cmd.def, 'ReplicaIdentityStmt');
        if (ri?.identity_type === 'n') ctx.report('REPLICA_IDENTITY_NOTHING', stmt);
      }
    }
  }
}

/** Live-migration caveat rules. */
export const migrationCaveatRules: RuleFamily = { name: 'migration-caveats', definitions, check };
