// Performance advice for a YugabyteDB target: redundant indexes, range indexes whose leading
// timestamp or sequence column sends every insert to one tablet, foreign keys without an index,
// low-cardinality leading columns, and foreign keys whose column types differ.
import { isArrayType, typeBaseName } from '../parse/ast-names.js';
import type { IssueDefinition } from './analysis-types.js';
import { docsLink, type RuleContext, type RuleFamily } from './rule-context.js';
import type { IndexInfo } from './schema-model.js';

const P = 'performance_optimizations' as const;

const definitions: IssueDefinition[] = [
  { type: 'REDUNDANT_INDEX', category: P, title: 'Redundant index', reason: 'Another index on the same table starts with the same key columns, so this one only costs writes (every index is a distributed write on YugabyteDB).', suggestion: 'Drop the redundant index.', docsLink: docsLink('redundant-indexes') },
  { type: 'HOTSPOT_ON_TIMESTAMP_INDEX', category: P, title: 'Hotspot: index leading with a timestamp or date', reason: 'A range-sharded index whose first column is a timestamp or date sends all new rows to the last tablet.', suggestion: 'Create the index hash-sharded on the timestamp (HASH), or lead with another column (e.g. (hash_col HASH, ts ASC)).', docsLink: docsLink('hotspots-with-range-sharded-timestamp-date-indexes') },
  { type: 'HOTSPOT_ON_SEQUENCE_INDEX', category: P, title: 'Hotspot: range index leading with a sequence column', reason: 'A range-sharded (ASC/DESC) index whose first column is fed by a sequence sends all new rows to the last tablet.', suggestion: 'Use HASH for the leading column (the YugabyteDB default when no ASC/DESC is given).', docsLink: docsLink('hotspots-with-range-sharded-timestamp-date-indexes') },
  { type: 'MISSING_FOREIGN_KEY_INDEX', category: P, title: 'Foreign key without an index', reason: 'No index starts with the foreign key columns, so deletes and key updates on the referenced table scan the referencing table (a distributed scan on YugabyteDB).', suggestion: 'Create an index on the foreign key columns.', docsLink: docsLink('missing-foreign-key-indexes') },
  { type: 'INDEX_ON_LOW_CARDINALITY_COLUMN', category: P, title: 'Index on a low-cardinality column', reason: 'An index whose only key is a boolean or enum column puts each value on one tablet, a hotspot on YugabyteDB.', suggestion: 'Add a high-cardinality column to the key or use a partial index.', docsLink: docsLink('index-on-low-cardinality-column') },
  { type: 'FOREIGN_KEY_DATATYPE_MISMATCH', category: P, title: 'Foreign key column type differs from the referenced column', reason: 'Comparing different types in foreign key checks and joins needs casts and can prevent index use.', suggestion: 'Make the referencing and referenced column types identical.', docsLink: docsLink('foreign-key-datatype-mismatch') },
];

const SERIAL_TYPES: Record<string, string> = { serial: 'integer', bigserial: 'bigint', smallserial: 'smallint' };

function isRedundant(index: IndexInfo, other: IndexInfo, position: number, otherPosition: number): boolean {
  if (other === index || other.table !== index.table || other.method !== index.method || other.partial || index.partial) return false;
  if (index.unique || index.columns.some((c) => c === undefined)) return false;
  if (index.columns.length > other.columns.length) return false;
  if (!index.columns.every((c, i) => other.columns[i] === c)) return false;
  return index.columns.length < other.columns.length || other.unique || otherPosition < position;
}

function checkIndexes(ctx: RuleContext): void {
  const indexes = ctx.model.indexes;
  indexes.forEach((index, position) => {
    if (indexes.some((other, otherPosition) => isRedundant(index, other, position, otherPosition))) ctx.report('REDUNDANT_INDEX', index.statement);
    if (index.method !== 'btree') return;
    const table = ctx.model.findTable(index.table);
    const first = index.columns[0] !== undefined ? table?.columns.get(index.columns[0]) : undefined;
    if (first === undefined) return;
    const base = typeBaseName(first.type);
    if (['timestamp', 'timestamptz', 'date'].includes(base)) ctx.report('HOTSPOT_ON_TIMESTAMP_INDEX', index.statement);
    if ((first.sequenceDefault || first.identity) && index.explicitOrder[0] === true) ctx.report('HOTSPOT_ON_SEQUENCE_INDEX', index.statement);
    if (index.columns.length === 1 && (base === 'bool' || base === 'boolean' || ctx.model.enums.has(base))) {
      ctx.report('INDEX_ON_LOW_CARDINALITY_COLUMN', index.statement);
    }
  });
}

function checkForeignKeys(ctx: RuleContext): void {
  for (const fk of ctx.model.foreignKeys) {
    const target = { objectType: 'constraint', objectName: `${fk.name} ON ${fk.table}` };
    const covered = ctx.model.indexes.some((ix) => {
      if (ix.table !== fk.table || ix.partial || ix.columns.length < fk.columns.length) return false;
      const leading = new Set(ix.columns.slice(0, fk.columns.length));
      return fk.columns.every((c) => leading.has(c));
    });
    if (!covered) ctx.report('MISSING_FOREIGN_KEY_INDEX', fk.statement, target);
    const table = ctx.model.findTable(fk.table);
    const ref = ctx.model.findTable(fk.refTable);
    const refColumns = fk.refColumns.length > 0 ? fk.refColumns : (ref?.primaryKey ?? []);
    const mismatch = fk.columns.some((c, i) => {
      const a = table?.columns.get(c)?.type;
      const b = ref?.columns.get(refColumns[i] ?? '')?.type;
      if (a === undefined || b === undefined) return false;
      const norm = (t: typeof a): string => (SERIAL_TYPES[typeBaseName(t)] ?? typeBaseName(t)) + (isArrayType(t) ? '[]' : '');
      return norm(a) !== norm(b);
    });
    if (mismatch) ctx.report('FOREIGN_KEY_DATATYPE_MISMATCH', fk.statement, target);
  }
}

function check(ctx: RuleContext): void {
  checkIndexes(ctx);
  checkForeignKeys(ctx);
}

/** Performance rules. */
export const performanceRules: RuleFamily = { name: 'performance', definitions, check };
