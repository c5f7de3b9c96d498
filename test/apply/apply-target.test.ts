// The apply against the real PostgreSQL 17 target: every value kind through text casts, UNCHANGED
// columns, key changes, a unique value swapped between rows, delete + reinsert, collapsing of a hot row,
// and a second run that applies nothing again.
import { describe, expect, it } from 'vitest';
import { UNCHANGED, type ChangeInput } from '../../src/core/change-event.js';
import { getQueueStreamHead } from '../../src/state/queue-store.js';
import { query, servers } from '../harness/index.js';
import { applyQueue, del, ins, newMigrationId, upd, writeTransactions } from './apply-helpers.js';
import { applyFixture } from './apply-fixture.js';

const SCHEMA = 'Ünï Schema';
const WEIRD = { schema: SCHEMA, name: 'Mixed "Case" Täble' };
const WEIRD_KEY = ['Key Part', 'k2'];
const WEIRD_COLS = ['Key Part', 'k2', 'n', 'tarr', 'iarr', 'j', 'b', 'ts', 'm', 'u', 'iv', 'ip', 'comp', 'big', 'g'];

const SETUP = `
  CREATE SCHEMA "Ünï Schema";
  CREATE TYPE "Ünï Schema"."Mood ☺" AS ENUM ('sad', 'ok', 'happy ☺');
  CREATE TYPE "Ünï Schema".pair AS (a int, b text);
  CREATE DOMAIN "Ünï Schema".pos AS int CHECK (VALUE > 0);
  CREATE TABLE "Ünï Schema"."Mixed ""Case"" Täble" (
    "Key Part" text, k2 "Ünï Schema".pos, n numeric, tarr text[], iarr int[], j jsonb, b bytea, ts timestamptz,
    m "Ünï Schema"."Mood ☺", u uuid, iv interval, ip inet, comp "Ünï Schema".pair, big text,
    g int GENERATED ALWAYS AS (k2 * 2) STORED,
    PRIMARY KEY ("Key Part", k2));
  CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL, note text);
  CREATE TABLE uq (id int PRIMARY KEY, code text NOT NULL UNIQUE, v int);
  CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
  CREATE TABLE trg (id int PRIMARY KEY);
  CREATE FUNCTION fail_always() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'trigger fired'; END $$;
  CREATE TRIGGER no_writes BEFORE INSERT OR UPDATE OR DELETE ON trg FOR EACH ROW EXECUTE FUNCTION fail_always();
`;

const ACCT = { schema: 'public', name: 'acct' };
const UQ = { schema: 'public', name: 'uq' };
const ID = ['id'];

describe('apply to a PostgreSQL 17 target', () => {
  const { target } = servers();
  const migrationId = newMigrationId();
  const fx = applyFixture(target, 'apply_target', SETUP);

  async function apply(transactions: ChangeInput[][], channels = 3): Promise<number> {
    const last = await writeTransactions(fx.store, fx.place.queueDir, transactions);
    const progress = await applyQueue(fx.store, fx.place.queueDir, fx.sessions, migrationId, last, { channels });
    expect(progress.appliedThroughVsn).toBe(last);
    return progress.eventsApplied;
  }

  it('carries every value kind through text casts, skips generated columns and keeps UNCHANGED values', async () => {
    const big = 'x'.repeat(100_000);
    const first = ['a "quoted", key ☺', '1', 'NaN', '{NULL,"a\\"b","c,d","NULL",""}', '{1,NULL,3}', '{"a": [1, null, "x"], "é": "q\\"uote"}', '\\x00ff00', '2024-02-29 23:59:59.123456+00', 'happy ☺', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '1 day 02:03:04', '10.1.2.3/8', '(7,"x, ""y""")', big, '12345'];
    const second = ['b', '2', '-123456789012345678901234567890.000000000000000000001', '{}', null, 'null', '\\x', 'infinity', 'sad', '00000000-0000-0000-0000-000000000000', '-1 mons', '::1', null, null, null];
    await apply([[ins(WEIRD, WEIRD_KEY, WEIRD_COLS, first), ins(WEIRD, WEIRD_KEY, WEIRD_COLS, second)]]);
    // An UPDATE that does not carry the big value (unchanged TOAST) must keep it; NULL is a value.
    const changed = [...first];
    changed[2] = '1e-20';
    changed[8] = 'ok';
    changed[13] = UNCHANGED as never;
    await apply([[upd(WEIRD, WEIRD_KEY, WEIRD_COLS, changed)], [upd(WEIRD, WEIRD_KEY, WEIRD_COLS, [...second.slice(0, 13), UNCHANGED, null] as never)]]);
    const rows = await query<Record<string, string | null>>(
      target,
      fx.db,
      `SELECT "Key Part", k2::text, n::text, tarr::text, iarr::text, j::text, b::text, (ts AT TIME ZONE 'UTC')::text AS ts, m::text, u::text, iv::text, ip::text, comp::text, md5(big) AS big, g::text
         FROM "Ünï Schema"."Mixed ""Case"" Täble" ORDER BY k2`,
    );
    expect(rows).toHaveLength(2);
    const [a, b] = rows as Record<string, string | null>[];
    expect(a).toMatchObject({ 'Key Part': first[0], k2: '1', n: '0.00000000000000000001', tarr: first[3], iarr: '{1,NULL,3}', j: '{"a": [1, null, "x"], "é": "q\\"uote"}', b: '\\x00ff00', m: 'ok', u: first[9], iv: '1 day 02:03:04', ip: '10.1.2.3/8', comp: first[12], g: '2' });
    expect(a?.ts).toBe('2024-02-29 23:59:59.123456');
    expect(a?.big).toBe((await query<{ m: string }>(target, fx.db, 'SELECT md5($1) AS m', [big]))[0]?.m);
    expect(b).toMatchObject({ 'Key Part': 'b', k2: '2', n: second[2], tarr: '{}', iarr: null, j: 'null', b: '\\x', ts: 'infinity', m: 'sad', iv: '-1 mons', ip: '::1/128', comp: null, big: null, g: '4' });
  });

  it('applies key changes (also a swap of keys) and a unique value swapped between two rows in one transaction', async () => {
    const cols = ['id', 'bal', 'note'];
    await apply([[1, 2, 3, 4].map((id) => ins(ACCT, ID, cols, [String(id), '0', `row ${id}`]))]);
    // Keys 1 and 2 swap through -1; 3 moves to 30 and back to 3 with new content; 4 moves to 40.
    await apply([
      [upd(ACCT, ID, cols, ['-1', '0', 'row 1'], ['1']), upd(ACCT, ID, cols, ['1', '0', 'row 2'], ['2']), upd(ACCT, ID, cols, ['2', '0', 'row 1'], ['-1'])],
      [upd(ACCT, ID, cols, ['30', '5', 'x'], ['3']), upd(ACCT, ID, cols, ['30', '6', 'y']), upd(ACCT, ID, cols, ['3', '7', UNCHANGED], ['30'])],
      [upd(ACCT, ID, cols, ['40', '1', 'moved'], ['4'])],
    ]);
    expect(await query(target, fx.db, 'SELECT id, bal::int, note FROM acct ORDER BY id')).toEqual([
      { id: 1, bal: 0, note: 'row 2' },
      { id: 2, bal: 0, note: 'row 1' },
      { id: 3, bal: 7, note: 'y' },
      { id: 40, bal: 1, note: 'moved' },
    ]);

    const ucols = ['id', 'code', 'v'];
    await apply([Array.from({ length: 50 }, (_, i) => ins(UQ, ID, ucols, [String(i), `c${i}`, '0']))]);
    // Each transaction swaps the codes of two rows through a temporary value; many such swaps in one batch.
    const swaps: ChangeInput[][] = [];
    const codes = Array.from({ length: 50 }, (_, i) => `c${i}`);
    for (let round = 0; round < 200; round++) {
      const a = (round * 7) % 50;
      const b = (round * 13 + 1) % 50;
      if (a === b) continue;
      const [ca, cb] = [codes[a] as string, codes[b] as string];
      swaps.push([upd(UQ, ID, ucols, [String(a), 'tmp', String(round)]), upd(UQ, ID, ucols, [String(b), ca, String(round)]), upd(UQ, ID, ucols, [String(a), cb, String(round)])]);
      [codes[a], codes[b]] = [cb, ca];
    }
    // And a value deleted from one row and inserted with another.
    swaps.push([del(UQ, ID, ['0']), ins(UQ, ID, ucols, ['100', codes[0] as string, '1'])]);
    await apply(swaps);
    const rows = await query<{ id: number; code: string }>(target, fx.db, 'SELECT id, code FROM uq ORDER BY id');
    expect(rows).toEqual([...codes.slice(1).map((code, i) => ({ id: i + 1, code })), { id: 100, code: codes[0] }]);
  });

  it('collapses a hot row and delete + reinsert, inserts identity columns, fires no trigger, and applies nothing twice', async () => {
    const cols = ['id', 'bal', 'note'];
    const hot: ChangeInput[][] = [[ins(ACCT, ID, cols, ['1000', '0', 'hot'])]];
    for (let i = 1; i <= 100; i++) hot.push([upd(ACCT, ID, cols, ['1000', String(i), UNCHANGED])]);
    hot.push([del(ACCT, ID, ['40']), ins(ACCT, ID, cols, ['40', '99', 'again'])]);
    hot.push([ins(ACCT, ID, cols, ['41', '1', 'gone']), del(ACCT, ID, ['41'])]);
    hot.push([ins({ schema: 'public', name: 'ident' }, ID, ['id', 'v'], ['77', 'seventy-seven'])]);
    hot.push([ins({ schema: 'public', name: 'trg' }, ID, ['id'], ['1'])]);
    const applied = await apply(hot, 1);
    expect(applied).toBe(107);
    expect(await query(target, fx.db, 'SELECT id, bal::int, note FROM acct WHERE id >= 40 ORDER BY id')).toEqual([
      { id: 40, bal: 99, note: 'again' },
      { id: 1000, bal: 100, note: 'hot' },
    ]);
    expect(await query(target, fx.db, 'SELECT id, v FROM ident')).toEqual([{ id: 77, v: 'seventy-seven' }]);
    expect(await query(target, fx.db, 'SELECT id FROM trg')).toEqual([{ id: 1 }]);

    // A second run over the whole queue finds everything applied.
    const last = { last_vsn: getQueueStreamHead(fx.store, 'source-to-target').lastVsn };
    const again = await applyQueue(fx.store, fx.place.queueDir, fx.sessions, migrationId, last.last_vsn, { channels: 5 });
    expect(again.eventsApplied).toBe(0);
    const channelRows = await query<{ channel: number; last: string }>(target, fx.db, 'SELECT channel, last_applied_vsn::text AS last FROM godwit_metadata.apply_channels WHERE migration_id = $1 ORDER BY channel', [migrationId]);
    expect(channelRows.map((row) => Number(row.last))).toEqual(Array.from({ length: channelRows.length }, () => last.last_vsn));
  });
});
