// The pure plan of `import schema`: which statements run, in which order, and which are held back
// until after the data load. The order is pg_dump's (a dependency order), recovered through the
// manifest even across files; statements the user added or edited keep their place in their file.

import type { ObjectKind, ParsedStatement } from '../parse/statement-types.js';
import { schemaFileFor, type SchemaManifest } from '../schema-files.js';
import { statementSha256 } from '../export/split-schema.js';

/** One schema file as read back from disk and parsed. */
export interface ParsedSchemaFile {
  /** Relative to `schema/`. */
  path: string;
  statements: ParsedStatement[];
}

/** Which statements to include, from --object-type-list / --exclude-object-type-list. */
export interface ImportFilter {
  include: string[];
  exclude: string[];
}

/** One statement to apply, with where it came from. */
export interface PlannedStatement {
  path: string;
  line: number;
  sql: string;
  kind: ObjectKind;
  objectName: string | undefined;
  /** The statement's syntax tree, for callers that need exact names. */
  ast: ParsedStatement['ast'];
  /** Sort key: the dump position, or a fraction after the statement it follows in its file. */
  order: number;
}

/**
 * The plan: what runs now; what `import data to target` builds after the snapshot load (indexes,
 * primary/unique keys, foreign keys: loading into a table without them is much faster, and keys are
 * built in parallel); and what `finalize-schema-post-data-import` adds at the end (NOT VALID
 * constraints). Finalize also builds whatever of the post-snapshot part is still missing.
 */
export interface ImportPlan {
  sessionSettings: string[];
  now: PlannedStatement[];
  postSnapshot: PlannedStatement[];
  heldBack: PlannedStatement[];
  skippedByFilter: number;
}

/** The type words users may give in the object type lists: kinds, their folders, and `foreign-key`. */
export function objectTypeWord(statement: { kind: ObjectKind; foreignKey: boolean }): string[] {
  const { folder } = schemaFileFor(statement.kind, statement.foreignKey);
  const words = [statement.kind, folder];
  if (statement.foreignKey) words.push('foreign-key');
  return words;
}

/** Folder order for files without a manifest entry (a hand-written schema directory). */
const FOLDER_ORDER = [
  'schemas', 'extensions', 'collations', 'types', 'domains', 'functions', 'procedures', 'aggregates', 'operators',
  'casts', 'sequences', 'tables', 'partitions', 'constraints', 'indexes', 'foreign-keys', 'views',
  'materialized-views', 'triggers', 'rules', 'policies', 'comments', 'owners', 'grants',
];

function folderRank(path: string): number {
  const rank = FOLDER_ORDER.indexOf(path.split('/')[0] ?? '');
  return rank === -1 ? FOLDER_ORDER.length : rank;
}

function passesFilter(statement: ParsedStatement, filter: ImportFilter): boolean {
  const words = objectTypeWord(statement);
  if (filter.include.length > 0 && !words.some((w) => filter.include.includes(w))) return false;
  return !words.some((w) => filter.exclude.includes(w));
}

/** NOT VALID constraints are added by finalize, after the data is in (new rows would be checked against them). */
function holdBack(statement: ParsedStatement): boolean {
  return statement.notValid;
}

/** ALTER TABLE ... CLUSTER ON / REPLICA IDENTITY USING INDEX name an index, so they must follow it. */
function referencesIndex(ast: ParsedStatement['ast']): boolean {
  const alter = (ast as { AlterTableStmt?: { cmds?: { AlterTableCmd?: { subtype?: string; def?: { ReplicaIdentityStmt?: { identity_type?: string } } } }[] } })
    .AlterTableStmt;
  return (alter?.cmds ?? []).some(({ AlterTableCmd: cmd }) =>
    cmd?.subtype === 'AT_ClusterOn' || (cmd?.subtype === 'AT_ReplicaIdentity' && cmd.def?.ReplicaIdentityStmt?.identity_type === 'i'),
  );
}

/** Indexes, keys and foreign keys are built after the snapshot load, with what depends on them. */
function afterSnapshot(statement: ParsedStatement): boolean {
  return statement.kind === 'index' || statement.kind === 'constraint' || referencesIndex(statement.ast);
}

/** Orders every statement of every file and splits it into now / held back. */
export function planImport(manifest: SchemaManifest | undefined, files: readonly ParsedSchemaFile[], filter: ImportFilter): ImportPlan {
  const known = new Map<string, Map<string, number[]>>();
  for (const file of manifest?.files ?? []) {
    const bySha = new Map<string, number[]>();
    for (const statement of file.statements) {
      const list = bySha.get(statement.sha256) ?? [];
      list.push(statement.position);
      bySha.set(statement.sha256, list);
    }
    known.set(file.path, bySha);
  }
  // Files the manifest does not know go after the known ones, in a fixed dependency-minded order.
  const unknownFileBase = 1e9;
  const now: PlannedStatement[] = [];
  const postSnapshot: PlannedStatement[] = [];
  const heldBack: PlannedStatement[] = [];
  let skippedByFilter = 0;
  [...files]
    .sort((a, b) => a.path.localeCompare(b.path))
    .forEach((file, fileIndex) => {
      const bySha = known.get(file.path);
      let previous = bySha === undefined ? unknownFileBase + folderRank(file.path) * 1e7 + fileIndex * 1e4 : -1;
      let offset = 0;
      for (const statement of file.statements) {
        const positions = bySha?.get(statementSha256(statement.sql));
        const position = positions?.shift();
        if (position !== undefined) {
          previous = position;
          offset = 0;
        } else {
          offset += 1;
        }
        const planned: PlannedStatement = {
          path: file.path,
          line: statement.line,
          sql: statement.sql.trim(),
          kind: statement.kind,
          objectName: statement.objectName,
          ast: statement.ast,
          order: position ?? previous + offset / 1e6,
        };
        if (!passesFilter(statement, filter)) skippedByFilter++;
        else if (holdBack(statement)) heldBack.push(planned);
        else if (afterSnapshot(statement)) postSnapshot.push(planned);
        else now.push(planned);
      }
    });
  const byOrder = (a: PlannedStatement, b: PlannedStatement): number => a.order - b.order;
  return {
    sessionSettings: manifest?.sessionSettings ?? [],
    now: now.sort(byOrder),
    postSnapshot: postSnapshot.sort(byOrder),
    heldBack: heldBack.sort(byOrder),
    skippedByFilter,
  };
}
