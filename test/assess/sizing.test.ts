// The assessment's pure plan: rates from two counter readings, table placement, cluster sizing and
// complexity, each rule checked at its threshold.

import { describe, expect, it } from 'vitest';
import { activityBetween, activityKey, sampleActivity, unsampledActivity } from '../../src/assess/activity-sampling.js';
import type { InventoryTable } from '../../src/assess/assessment-types.js';
import { assessComplexity } from '../../src/assess/complexity.js';
import {
  COLOCATION_MAX_TABLE_BYTES,
  COLOCATION_MAX_TOTAL_BYTES,
  COLOCATION_MAX_WRITES_PER_SECOND,
  placeTables,
  recommendSizing,
} from '../../src/assess/sizing.js';
import type { ReadinessReport } from '../../src/engines/capture-readiness.js';
import { CATEGORY_TITLES, ISSUE_CATEGORIES, type IssueCategory } from '../../src/schema/analyze/analysis-types.js';

const GIB = 1024 ** 3;
const table = (name: string, bytes: number, kind: InventoryTable['kind'] = 'ordinary'): InventoryTable => ({
  schema: 'app', name, kind, estimatedRows: 10, tableBytes: bytes, indexBytes: 0, indexCount: 1, hasPrimaryKey: true,
});
const counters = (rowsRead: number, inserts: number) => ({ rowsRead, inserts, updates: 0, deletes: 0 });

describe('activity sampling', () => {
  it('divides the counters grown between two readings by the seconds between them', () => {
    const first = { at: 0, tables: new Map([['app.a', counters(100, 10)]]), database: { commits: 50, rollbacks: 0 } };
    const second = {
      at: 4_000,
      tables: new Map([['app.a', counters(500, 30)], ['app."New"', counters(8, 4)], ['app.reset', counters(0, 0)]]),
      database: { commits: 90, rollbacks: 2 },
    };
    first.tables.set('app.reset', counters(1000, 1000)); // pg_stat_reset between the readings: no negative rate
    const sample = activityBetween(first, second);
    expect(sample).toMatchObject({ sampled: true, intervalSeconds: 4, transactionsPerSecond: 10.5, readsPerSecond: 102, writesPerSecond: 6 });
    expect(sample.tables['app.a']).toEqual({ readsPerSecond: 100, insertsPerSecond: 5, updatesPerSecond: 0, deletesPerSecond: 0, writesPerSecond: 5 });
    expect(sample.tables['app."New"']?.insertsPerSecond).toBe(1);
    expect(sample.tables['app.reset']?.writesPerSecond).toBe(0);
    expect(activityKey('app', 'New')).toBe('app."New"');
  });

  it('does not wait for an interval of 0, and an abort ends the wait with the time waited', async () => {
    let reads = 0;
    const read = async () => ({ tables: new Map([['app.a', counters(0, reads++ * 10)]]), database: { commits: 0, rollbacks: 0 } });
    expect(await sampleActivity(read, 0)).toEqual(unsampledActivity());
    expect(reads).toBe(0);
    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(new Error('stopped')), 1_200);
    const sample = await sampleActivity(read, 60, { signal: abort.signal });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sample.intervalSeconds).toBeGreaterThanOrEqual(1.2);
    expect(sample.tables['app.a']?.insertsPerSecond).toBeCloseTo(10 / sample.intervalSeconds, 5);
  });
});

describe('placement and sizing', () => {
  it('shards a table from its size or its writes, and colocates the rest', () => {
    const activity = activityBetween(
      { at: 0, tables: new Map(), database: { commits: 0, rollbacks: 0 } },
      { at: 1_000, tables: new Map([['app.busy', counters(0, COLOCATION_MAX_WRITES_PER_SECOND)], ['app.calm', counters(0, COLOCATION_MAX_WRITES_PER_SECOND - 1)]]), database: { commits: 0, rollbacks: 0 } },
    );
    const placed = placeTables([table('big', COLOCATION_MAX_TABLE_BYTES), table('small', COLOCATION_MAX_TABLE_BYTES - 1), table('busy', 1), table('calm', 1)], activity);
    expect(placed.map((t) => [t.name, t.placement])).toEqual([['big', 'sharded'], ['small', 'colocated'], ['busy', 'sharded'], ['calm', 'colocated']]);
    expect(placed[2]?.placementReason).toContain('500 row writes/s');
  });

  it('moves the biggest colocated tables out while the colocation tablet would be too full', () => {
    const tables = Array.from({ length: 60 }, (_, i) => table(`t${i}`, 0.99 * GIB - i));
    const placed = placeTables(tables, unsampledActivity());
    const colocated = placed.filter((t) => t.placement === 'colocated');
    expect(colocated.reduce((sum, t) => sum + t.tableBytes, 0)).toBeLessThanOrEqual(COLOCATION_MAX_TOTAL_BYTES);
    // The ones moved are the biggest: t0, t1, ...
    expect(placed.filter((t) => t.placement === 'sharded').map((t) => t.name)).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`));
  });

  it('sizes the cluster from the replicated data and the load, counting a partitioned parent once', () => {
    const placed = placeTables([table('parent', 2048 * GIB, 'partitioned'), table('p1', 1024 * GIB, 'partition'), table('p2', 1024 * GIB, 'partition')], unsampledActivity());
    const sizing = recommendSizing(placed, unsampledActivity());
    // 2 TiB x 3 replicas at 1 TiB a node: 6 nodes of the smallest size.
    expect(sizing).toMatchObject({ nodes: 6, vcpusPerNode: 4, memoryGiBPerNode: 16, shardedTables: 2, colocatedTables: 0, shardedBytes: 2048 * GIB });
    const busy = activityBetween(
      { at: 0, tables: new Map(), database: { commits: 0, rollbacks: 0 } },
      { at: 1_000, tables: new Map([['app.t', counters(0, 40_000)]]), database: { commits: 0, rollbacks: 0 } },
    );
    // 40,000 writes/s x 1.5 / 1,000 per vCPU = 60 vCPUs: 3 nodes of 32.
    expect(recommendSizing(placeTables([table('t', GIB)], busy), busy)).toMatchObject({ nodes: 3, vcpusPerNode: 32 });
  });
});

describe('complexity', () => {
  const readiness = (blockers: number): ReadinessReport => ({
    role: 'source', database: 'd', user: 'u', serverVersion: 'v', checkedAt: 'now', ready: blockers === 0,
    findings: Array.from({ length: blockers }, () => ({ code: 'WAL_LEVEL_NOT_LOGICAL' as const, severity: 'blocker' as const, object: { kind: 'setting' as const, name: 'wal_level' }, message: 'm', fixes: [] })),
  });
  const counts = (values: Partial<Record<IssueCategory, number>>) => ISSUE_CATEGORIES.map((category) => ({ category, title: CATEGORY_TITLES[category], issues: values[category] ?? 0 }));

  it('is LOW with nothing to do, MEDIUM with a blocker, a table without key, a rewrite or 5 caveats, HIGH past 20 rewrites', () => {
    expect(assessComplexity(counts({ migration_caveats: 4, performance_optimizations: 9 }), readiness(0), 0).level).toBe('LOW');
    expect(assessComplexity(counts({}), readiness(1), 0).level).toBe('MEDIUM');
    expect(assessComplexity(counts({}), readiness(0), 1).level).toBe('MEDIUM');
    expect(assessComplexity(counts({ unsupported_datatypes: 1 }), readiness(0), 0).level).toBe('MEDIUM');
    expect(assessComplexity(counts({ migration_caveats: 5 }), readiness(0), 0).level).toBe('MEDIUM');
    expect(assessComplexity(counts({ unsupported_features: 10, unsupported_plpgsql_objects: 10 }), readiness(0), 0).level).toBe('MEDIUM');
    expect(assessComplexity(counts({}), readiness(0), 0, 1).level).toBe('MEDIUM');
    const high = assessComplexity(counts({ unsupported_features: 11, unsupported_plpgsql_objects: 10 }), readiness(0), 0);
    expect(high.level).toBe('HIGH');
    expect(high.reasons[0]).toContain('21 schema issue(s) that need rewriting');
  });
});
