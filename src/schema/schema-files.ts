// The layout of exported schema files: which folder and file each kind of statement goes to, and
// the manifest that remembers pg_dump's dependency order across those files for `import schema`.

import type { ObjectKind } from './parse/statement-types.js';

/** Where statements of one kind are written, relative to `schema/`. */
export interface SchemaFileLocation {
  folder: string;
  file: string;
}

const FOLDERS: Partial<Record<ObjectKind, string>> = {
  schema: 'schemas',
  extension: 'extensions',
  type: 'types',
  domain: 'domains',
  sequence: 'sequences',
  table: 'tables',
  partition: 'partitions',
  index: 'indexes',
  constraint: 'constraints',
  function: 'functions',
  procedure: 'procedures',
  aggregate: 'aggregates',
  trigger: 'triggers',
  view: 'views',
  'materialized-view': 'materialized-views',
  policy: 'policies',
  comment: 'comments',
  grant: 'grants',
  owner: 'owners',
  rule: 'rules',
  collation: 'collations',
  operator: 'operators',
  publication: 'publications',
  'text-search': 'text-search',
  cast: 'casts',
  conversion: 'conversions',
  language: 'languages',
  statistics: 'statistics',
  'access-method': 'access-methods',
  transform: 'transforms',
  'foreign-table': 'foreign-tables',
  'foreign-server': 'foreign-servers',
  'event-trigger': 'event-triggers',
};

/** Folder and file of a statement kind; foreign keys get their own folder (applied after all tables). */
export function schemaFileFor(kind: ObjectKind, foreignKey: boolean): SchemaFileLocation {
  if (kind === 'constraint' && foreignKey) return { folder: 'foreign-keys', file: 'foreign-key.sql' };
  const folder = FOLDERS[kind] ?? 'uncategorized';
  const file = folder === 'uncategorized' ? 'uncategorized.sql' : `${kind}.sql`;
  return { folder, file };
}

/** Kinds that only set session state in a dump: replayed at the start of every import session. */
export function isSessionSetting(kind: ObjectKind): boolean {
  return kind === 'set';
}

/** Name of the manifest inside `schema/`. */
export const SCHEMA_MANIFEST_FILE = 'manifest.json';

/** One statement's place in the original dump, so import can restore the dependency order. */
export interface ManifestStatement {
  /** 0-based position of the statement in pg_dump's output (pg_dump orders by dependency). */
  position: number;
  /** sha256 of the statement text; an edited statement no longer matches and keeps its file order. */
  sha256: string;
  kind: ObjectKind;
  objectName: string | null;
  notValid: boolean;
}

/** What `export schema` wrote: session settings and, per file, its statements in dump order. */
export interface SchemaManifest {
  formatVersion: 1;
  createdAt: string;
  sourceServerVersion: string;
  pgDumpVersion: string;
  schemas: string[];
  sessionSettings: string[];
  files: { path: string; statements: ManifestStatement[] }[];
}
