// Index access methods and index keys YugabyteDB cannot build: GiST, BRIN and SP-GiST indexes,
// multi-column GIN indexes, and LSM (btree) keys on types that have no sort order on DocDB.
import type { TypeName } from 'libpg-query';
import { isArrayType, typeBaseName } from '../parse/ast-names.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';
import type { IndexInfo } from './schema-model.js';

const F = 'unsupported_features' as const;

const definitions: IssueDefinition[] = [
  { type: 'GIST_INDEX', category: F, title: 'GiST index', reason: 'The GiST index access method is not supported by YugabyteDB.', suggestion: 'Use a GIN index (full-text search on tsvector, trigram search) or drop the index; spatial data needs a different strategy on YugabyteDB.', docsLink: docsLink('gist-brin-and-spgist-index-types-are-not-supported') },
  { type: 'BRIN_INDEX', category: F, title: 'BRIN index', reason: 'The BRIN index access method is not supported by YugabyteDB.', suggestion: 'Use a range-sharded (ASC) LSM index on the column instead.', docsLink: docsLink('gist-brin-and-spgist-index-types-are-not-supported') },
  { type: 'SPGIST_INDEX', category: F, title: 'SP-GiST index', reason: 'The SP-GiST index access method is not supported by YugabyteDB.', suggestion: 'Use an LSM or GIN index, or drop the index.', docsLink: docsLink('gist-brin-and-spgist-index-types-are-not-supported') },
  { type: 'MULTI_COLUMN_GIN_INDEX', category: F, title: 'Multi-column GIN index', reason: 'YugabyteDB GIN indexes support a single column only.', suggestion: 'Create one GIN index per column.', docsLink: docsLink('gin-indexes-on-multiple-columns-are-not-supported') },
  { type: 'INDEX_ON_COMPLEX_DATATYPE', category: F, title: 'Index on a column of a complex type', reason: 'YugabyteDB LSM (btree) indexes cannot use columns of types such as tsvector, jsonb, inet, citext, ranges, geometric types, intervals or arrays as keys.', suggestion: 'Index an expression of a supported type (e.g. (col::text), md5(col::text)) or use a GIN index where one applies.', docsLink: docsLink('indexes-on-some-complex-data-types-are-not-supported') },
  { type: 'PK_UK_ON_COMPLEX_DATATYPE', category: F, title: 'Primary or unique key on a complex type', reason: 'A primary or unique key on a column of a type without a DocDB sort order (jsonb, inet, citext, ranges, arrays, ...) is not supported by YugabyteDB.', suggestion: 'Key on a column of a supported type, or add a generated text column and key on that.', docsLink: docsLink('primary-key-and-unique-key-constraints-on-complex-data-types-are-not-supported') },
];

/** Types an LSM index cannot use as a key column on YugabyteDB. */
const COMPLEX_TYPES = new Set([
  'citext', 'tsvector', 'tsquery', 'jsonpath', 'inet', 'jsonb', 'json', 'macaddr', 'macaddr8', 'cidr', 'bit', 'varbit',
  'daterange', 'tsrange', 'tstzrange', 'numrange', 'int4range', 'int8range', 'interval', 'circle', 'box', 'line', 'lseg',
  'point', 'path', 'polygon', 'txid_snapshot', 'pg_snapshot', 'vector', 'xml', 'pg_lsn',
]);

/** Whether a column type cannot be a key column of a YugabyteDB LSM index. */
export function isComplexKeyType(type: TypeName | undefined): boolean {
  if (type === undefined) return false;
  return isArrayType(type) || COMPLEX_TYPES.has(typeBaseName(type));
}

function keyTypes(ctx: RuleContext, index: IndexInfo): (TypeName | undefined)[] {
  const table = ctx.model.findTable(index.table);
  return index.columns.map((c) => (c === undefined ? undefined : table?.columns.get(c)?.type));
}

function check(ctx: RuleContext): void {
  for (const index of ctx.model.indexes) {
    if (index.method === 'gist') ctx.report('GIST_INDEX', index.statement);
    if (index.method === 'brin') ctx.report('BRIN_INDEX', index.statement);
    if (index.method === 'spgist') ctx.report('SPGIST_INDEX', index.statement);
    if (index.method === 'gin' && index.columns.length > 1) ctx.report('MULTI_COLUMN_GIN_INDEX', index.statement);
    if (index.method !== 'btree' && index.method !== 'lsm' && index.method !== 'hash') continue;
    if (!keyTypes(ctx, index).some(isComplexKeyType)) continue;
    const keyConstraint = index.unique && index.statement.kind !== 'index';
    ctx.report(keyConstraint ? 'PK_UK_ON_COMPLEX_DATATYPE' : 'INDEX_ON_COMPLEX_DATATYPE', index.statement);
  }
}

/** Index rules. */
export const indexRules: RuleFamily = { name: 'indexes', definitions, check };
