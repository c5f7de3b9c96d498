// Builds what import schema left for after the load (plan.postSnapshot: indexes, primary and unique
// keys, foreign keys, ALTERs that name an index): loading into bare tables and building the keys
// afterwards, in parallel, is much faster. Statements are grouped by table (a partition with its
// root table), each group runs in dump order on one session, groups run side by side largest first;
// foreign keys and the index-referencing ALTERs run after every group, on one session. Objects that
// already exist are skipped, so the step can run any number of times.

import type { Logger } from '../../core/logger.js';
import type { SqlSession } from '../../engines/sql-session.js';
import { applyStatements } from '../../schema/import/apply-statements.js';
import type { PlannedStatement } from '../../schema/import/plan-import.js';
import { quoteIdent } from '../../core/identifiers.js';
import { withSession, type LoaderSessions } from '../../engines/loader-sessions.js';

interface RangeVar {
  schemaname?: string;
  relname?: string;
}

interface StatementAst {
  IndexStmt?: { idxname?: string; relation?: RangeVar };
  AlterTableStmt?: {
    relation?: RangeVar;
    objtype?: string;
    cmds?: { AlterTableCmd?: { subtype?: string; def?: { Constraint?: { contype?: string; conname?: string } } } }[];
  };
}

/** `"schema"."name"`, the key groups and snapshot tables share. */
function key(schema: string | undefined, name: string): string {
  return `${quoteIdent(schema ?? 'public')}.${quoteIdent(name)}`;
}

/** True for statements that must wait for every group: foreign keys and ALTERs naming an index (CLUSTER ON, REPLICA IDENTITY USING INDEX). */
function runsLast(statement: PlannedStatement): boolean {
  const alter = (statement.ast as StatementAst).AlterTableStmt;
  if (alter === undefined || alter.objtype === 'OBJECT_INDEX') return false;
  return (alter.cmds ?? []).some((cmd) => {
    const c = cmd.AlterTableCmd;
    if (c?.subtype === 'AT_AddConstraint') return c.def?.Constraint?.contype === 'CONSTR_FOREIGN';
    return c?.subtype === 'AT_ClusterOn' || c?.subtype === 'AT_ReplicaIdentity';
  });
}

/** The relation a statement works on, and the index names it creates (for ALTER INDEX ... ATTACH PARTITION). */
function relationOf(statement: PlannedStatement): { relation: string | undefined; createsIndex: string | undefined } {
  const ast = statement.ast as StatementAst;
  if (ast.IndexStmt?.relation?.relname !== undefined) {
    const r = ast.IndexStmt.relation;
    const index = ast.IndexStmt.idxname === undefined ? undefined : key(r.schemaname, ast.IndexStmt.idxname);
    return { relation: key(r.schemaname, r.relname as string), createsIndex: index };
  }
  const alter = ast.AlterTableStmt;
  if (alter?.relation?.relname !== undefined) {
    const r = alter.relation;
    if (alter.objtype === 'OBJECT_INDEX') return { relation: undefined, createsIndex: undefined };
    const conname = alter.cmds?.map((c) => c.AlterTableCmd?.def?.Constraint?.conname).find((n) => n !== undefined);
    return { relation: key(r.schemaname, r.relname as string), createsIndex: conname === undefined ? undefined : key(r.schemaname, conname) };
  }
  return { relation: undefined, createsIndex: undefined };
}

/** The group of every statement: the root table of its relation; statements without a known table go last. */
export function groupPostSnapshot(
  statements: readonly PlannedStatement[],
  rootOf: ReadonlyMap<string, string>,
): { groups: Map<string, PlannedStatement[]>; last: PlannedStatement[] } {
  const groups = new Map<string, PlannedStatement[]>();
  const last: PlannedStatement[] = [];
  const tableOfIndex = new Map<string, string>();
  for (const statement of statements) {
    if (runsLast(statement)) {
      last.push(statement);
      continue;
    }
    const { relation, createsIndex } = relationOf(statement);
    let group: string | undefined;
    if (relation !== undefined) {
      group = rootOf.get(relation) ?? relation;
      if (createsIndex !== undefined) tableOfIndex.set(createsIndex, group);
    } else {
      const alter = (statement.ast as StatementAst).AlterTableStmt;
      if (alter?.objtype === 'OBJECT_INDEX' && alter.relation?.relname !== undefined) {
        group = tableOfIndex.get(key(alter.relation.schemaname, alter.relation.relname));
      }
    }
    if (group === undefined) last.push(statement);
    else groups.set(group, [...(groups.get(group) ?? []), statement]);
  }
  return { groups, last };
}

/** Partitions of every level mapped to their top-most root, from the target's catalog. */
export async function partitionRoots(session: SqlSession): Promise<Map<string, string>> {
  const { rows } = await session.query<{ child: string; root: string }>(`
    WITH RECURSIVE tree AS (
      SELECT c.oid, c.oid AS root FROM pg_class c WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
      UNION ALL
      SELECT i.inhrelid, t.root FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid
    )
    SELECT quote_ident(cn.nspname) || '.' || quote_ident(c.relname) AS child, quote_ident(rn.nspname) || '.' || quote_ident(r.relname) AS root
      FROM tree t JOIN pg_class c ON c.oid = t.oid JOIN pg_namespace cn ON cn.oid = c.relnamespace
      JOIN pg_class r ON r.oid = t.root JOIN pg_namespace rn ON rn.oid = r.relnamespace
     WHERE t.oid <> t.root`);
  // quote_ident leaves simple names bare; our keys always quote.
  const norm = (name: string): string => {
    const [schema, rel] = splitQualified(name);
    return key(schema, rel);
  };
  return new Map(rows.map((r) => [norm(r.child), norm(r.root)]));
}

function splitQualified(name: string): [string, string] {
  const parts: string[] = [];
  let i = 0;
  while (i < name.length) {
    if (name[i] === '"') {
      let j = i + 1;
      let part = '';
      while (j < name.length) {
        if (name[j] === '"' && name[j + 1] === '"') {
          part += '"';
          j += 2;
        } else if (name[j] === '"') break;
        else part += name[j++];
      }
      parts.push(part);
      i = j + 2;
    } else {
      const dot = name.indexOf('.', i);
      const end = dot === -1 ? name.length : dot;
      parts.push(name.slice(i, end));
      i = end + 1;
    }
  }
  return [parts[0] ?? 'public', parts[1] ?? ''];
}

/** Counts for the summary line. */
export interface PostSnapshotSummary {
  built: number;
  alreadyThere: number;
}

/** Builds the post-snapshot statements with every session of `sessions`; `weight` orders groups (largest first). */
export async function buildPostSnapshot(
  sessions: LoaderSessions,
  sessionSettings: readonly string[],
  statements: readonly PlannedStatement[],
  weight: ReadonlyMap<string, number>,
  logger: Logger,
  signal: AbortSignal,
  onGroupDone: (done: number, total: number) => void = () => undefined,
): Promise<PostSnapshotSummary> {
  const summary: PostSnapshotSummary = { built: 0, alreadyThere: 0 };
  if (statements.length === 0) return summary;
  const rootOf = await withSession(sessions, partitionRoots);
  const { groups, last } = groupPostSnapshot(statements, rootOf);
  const order = [...groups.entries()].sort((a, b) => (weight.get(b[0]) ?? 0) - (weight.get(a[0]) ?? 0));
  const apply = async (list: readonly PlannedStatement[]): Promise<void> => {
    await withSession(sessions, async (session) => {
      // One transaction per statement with pg_dump's settings local to it (no session state left behind
      // for a pooler's other clients); on YugabyteDB, whose sessions carry their settings anyway and whose
      // index builds are not meant for transaction blocks, as before.
      const eachInTransaction = sessions.copyInTransactions;
      const result = await applyStatements(session, sessionSettings, list, { ignoreExist: true, continueOnError: false, logger, signal, eachInTransaction });
      summary.built += result.applied;
      summary.alreadyThere += result.skippedExisting.length;
    });
  };
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < order.length) {
      signal.throwIfAborted();
      const entry = order[next++];
      if (entry === undefined) return;
      const started = Date.now();
      await apply(entry[1]);
      done++;
      logger.info(`built ${entry[1].length} index/key statement(s) of ${entry[0]} in ${Date.now() - started} ms`);
      onGroupDone(done, order.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(sessions.size, Math.max(1, order.length)) }, worker));
  if (last.length > 0) {
    signal.throwIfAborted();
    await apply(last);
    logger.info(`built ${last.length} foreign key(s) and index-dependent statement(s)`);
  }
  return summary;
}
