// Routing and batch planning, without a database.
import { describe, expect, it } from 'vitest';
import { tallyEvents, type EventTally } from '../../src/apply/apply-progress.js';
import { planBatch, type PlanStep } from '../../src/apply/batch-plan.js';
import { routeChannel, routeEvent, parseRouting, routingText, type RoutingConfig } from '../../src/apply/routing.js';
import { changesKey } from '../../src/apply/row-identity.js';
import { tableKey, hasOtherUniqueIndexes, type TargetTable } from '../../src/apply/target-tables.js';
import { UNCHANGED, type ChangeEvent, type ChangeInput } from '../../src/core/change-event.js';
import { del, ins, upd } from './apply-helpers.js';

const T = { schema: 'app', name: 'acct' };
const K = ['id'];
const COLS = ['id', 'bal', 'note', 'gen'];

function table(uniqueIndexes: (string[] | null)[] = [['id']]): TargetTable {
  const columns = new Map(
    COLS.map((name) => [name, { name, castType: name === 'note' ? 'text' : 'bigint', generated: name === 'gen', identityAlways: false }]),
  );
  return { ...T, columns, uniqueIndexes, hasIdentityAlways: false };
}

function events(inputs: ChangeInput[]): ChangeEvent[] {
  return inputs.map((input, i) => ({ ...input, vsn: i + 1, stream: 'source-to-target' }));
}

function plan(inputs: ChangeInput[], ordered = false, target = table()): PlanStep[] {
  return planBatch(events(inputs), () => target, ordered ? new Set([tableKey(T)]) : new Set());
}

const row = (id: number, bal: number, note: string | typeof UNCHANGED = 'n'): ChangeInput => upd(T, K, COLS, [String(id), String(bal), note, '999']);

describe('routing', () => {
  const config: RoutingConfig = { channels: 4, affinity: new Set() };
  it('sends every change of a row to one channel and spreads rows', () => {
    const channels = new Set<number>();
    for (let id = 0; id < 200; id++) {
      const [a, b, c] = events([ins(T, K, COLS, [String(id), '1', 'x', null]), row(id, 2), del(T, K, [String(id)])]);
      const routes = [a, b, c].map((event) => routeEvent(event as ChangeEvent, config));
      expect(new Set(routes.map((route) => JSON.stringify(route))).size).toBe(1);
      if (routes[0]?.kind === 'channel') channels.add(routes[0].channel);
    }
    expect(channels.size).toBe(4);
  });
  it('makes key changes, truncates and markers barriers, except on tables applied in order', () => {
    const [keyChange] = events([upd(T, K, COLS, ['2', '1', 'x', null], ['1'])]);
    expect(changesKey(keyChange as ChangeEvent)).toBe(true);
    expect(routeEvent(keyChange as ChangeEvent, config)).toEqual({ kind: 'barrier', reason: 'key-change' });
    const [sameKey] = events([upd(T, K, COLS, ['1', '1', 'x', null], ['1'])]);
    expect(routeEvent(sameKey as ChangeEvent, config).kind).toBe('channel');
    const affinity = { channels: 4, affinity: new Set([tableKey(T)]) };
    expect(routeEvent(keyChange as ChangeEvent, affinity).kind).toBe('channel');
    const [truncate] = events([{ ...del(T, K, ['1']), op: 'truncate', oldKey: null }]);
    expect(routeEvent(truncate as ChangeEvent, config)).toEqual({ kind: 'barrier', reason: 'truncate' });
    expect(parseRouting(routingText(affinity))).toEqual(affinity);
    expect(parseRouting('garbage')).toBeNull();
  });
  it('routes the same way without a route object (routeChannel, the engine\'s common path)', () => {
    const affinity = { channels: 4, affinity: new Set([tableKey(T)]) };
    const inputs = [ins(T, K, COLS, ['7', '1', 'x', null]), row(8, 2), del(T, K, ['9']), upd(T, K, COLS, ['2', '1', 'x', null], ['1']), { ...del(T, K, ['1']), op: 'truncate' as const, oldKey: null }];
    for (const event of events(inputs)) {
      for (const routing of [config, affinity]) {
        const route = routeEvent(event, routing);
        expect(routeChannel(event, routing)).toBe(route.kind === 'channel' ? route.channel : -1);
      }
    }
  });
  it('treats only unique indexes other than the key as order-sensitive', () => {
    expect(hasOtherUniqueIndexes(table([['id']]), K)).toBe(false);
    expect(hasOtherUniqueIndexes(table([['id'], ['note']]), K)).toBe(true);
    expect(hasOtherUniqueIndexes(table([['id'], null]), K)).toBe(true);
  });
});

describe('batch plan', () => {
  it('collapses 100 updates of a hot row into one single-row UPDATE with the last image', () => {
    const steps = plan(Array.from({ length: 100 }, (_, i) => row(1, i)));
    expect(steps).toHaveLength(1);
    const step = steps[0] as Extract<PlanStep, { kind: 'update' }>;
    expect(step.kind).toBe('update');
    expect(step.setColumns).toEqual(['bal', 'note']); // no key, no generated column
    expect(step.rows).toEqual([{ key: ['1'], values: ['99', 'n'] }]);
  });
  it('merges UNCHANGED columns onto the batch image, or leaves them out of a partial UPDATE', () => {
    const merged = plan([ins(T, K, COLS, ['1', '5', 'first', null]), row(1, 6, UNCHANGED)]);
    expect(merged).toEqual([{ kind: 'insert', table: expect.anything(), columns: ['id', 'bal', 'note'], rows: [['1', '6', 'first']] }]);
    const partial = plan([row(2, 7, UNCHANGED), row(3, 8, 'x')]);
    expect(partial.map((step) => (step.kind === 'update' ? step.setColumns : []))).toEqual([['bal'], ['bal', 'note']]);
  });
  it('drops INSERT then DELETE, turns DELETE then INSERT into a replace, keeps rows of one table in multi-row statements', () => {
    const steps = plan([
      ins(T, K, COLS, ['1', '1', 'a', null]),
      del(T, K, ['1']),
      del(T, K, ['2']),
      ins(T, K, COLS, ['2', '2', 'b', null]),
      ins(T, K, COLS, ['3', '3', 'c', null]),
      del(T, K, ['4']),
    ]);
    expect(steps.map((step) => step.kind)).toEqual(['delete', 'insert']);
    expect((steps[0] as Extract<PlanStep, { kind: 'delete' }>).keys).toEqual([['2'], ['4']]);
    expect((steps[1] as Extract<PlanStep, { kind: 'insert' }>).rows).toEqual([
      ['2', '2', 'b'],
      ['3', '3', 'c'],
    ]);
  });
  it('keeps the order of changes on tables applied in order, merging only safe neighbours', () => {
    const steps = plan(
      [
        upd(T, K, COLS, ['1', '1', 'tmp', null]),
        upd(T, K, COLS, ['2', '1', 'a', null]),
        upd(T, K, COLS, ['1', '1', 'b', null]),
        upd(T, K, COLS, ['1', '2', 'b', null]),
        ins(T, K, COLS, ['5', '1', 'e', null]),
        ins(T, K, COLS, ['6', '1', 'f', null]),
        del(T, K, ['5']),
        del(T, K, ['6']),
      ],
      true,
    );
    expect(steps.map((step) => `${step.kind}:${step.kind === 'update' ? step.rows.map((r) => r.values.join('/')).join(',') : step.kind === 'insert' ? step.rows.length : step.kind === 'delete' ? step.keys.length : ''}`)).toEqual([
      'update:1/tmp',
      'update:1/a',
      'update:2/b',
      'insert:2',
      'delete:2',
    ]);
  });
  it('counts the events it plans as tallyEvents does (markers left out, truncates counted)', () => {
    const U = { schema: 'app', name: 'other' };
    const batch = events([
      ins(T, K, COLS, ['1', '1', 'a', null]),
      row(1, 2),
      { ...del(T, K, ['2']), table: { ...T } },
      { ...del(T, K, ['3']), op: 'marker' },
      upd(U, K, COLS, ['7', '1', 'x', null]),
      { ...del(T, K, ['1']), op: 'truncate', oldKey: null },
      ins(T, K, COLS, ['4', '4', 'd', null]),
    ]);
    const tally: EventTally = { events: 0, tables: new Map() };
    planBatch(batch, () => table(), new Set(), tally);
    expect(tally).toEqual(tallyEvents(batch));
    expect(tally.events).toBe(6);
  });
  it('applies a key change in place, matching the old key and setting the new one', () => {
    const steps = plan([upd(T, K, COLS, ['9', '1', 'x', null], ['1'])]);
    expect(steps).toEqual([{ kind: 'update', table: expect.anything(), keyColumns: ['id'], setColumns: ['id', 'bal', 'note'], rows: [{ key: ['1'], values: ['9', '1', 'x'] }] }]);
  });
});
