// Big inserts of a channel transaction go to the target as COPY FROM STDIN (src/apply/apply-copy.ts):
// every value lands exactly as with INSERT (tabs, newlines, backslashes, the text \N, NULL, Unicode,
// arrays, character(n)), the COPY commits with the channel's bookkeeping and not before, and a
// failed COPY rolls back the whole transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COPY_MAX_ROWS, COPY_MIN_ROWS, CopyArena, copiesOfStep } from '../../src/apply/apply-copy.js';
import { runApplyTransaction } from '../../src/apply/apply-transaction.js';
import { advanceChannelScript, rebaseChannels } from '../../src/apply/channel-bookkeeping.js';
import { ensureBookkeepingSchema } from '../../src/engines/bookkeeping-schema.js';
import { withSession } from '../../src/engines/loader-sessions.js';
import type { PlanStep } from '../../src/apply/batch-plan.js';
import type { TargetTable } from '../../src/apply/target-tables.js';
import { silentLogger } from '../../src/core/logger.js';
import type { ChangeInput } from '../../src/core/change-event.js';
import type { LoaderSessions } from '../../src/engines/loader-sessions.js';
import { createDatabase, dropDatabase, query, runSql, servers } from '../harness/index.js';
import { applyQueue, ins, newMigrationId, targetSessions, testQueues, writeTransactions } from './apply-helpers.js';

const NASTY = ['', ' ', '\\N', 'NULL', '\\', '\\\\', 'tab\there', 'new\nline', 'cr\rlf\r\n', '\\t literally', "it's", '"q"', '{a,b}', '日本語 ✈ 🐦‍⬛ e\u0301', `${'\\'.repeat(100)}\t${'\n'.repeat(3)}`];

function table(columns: Record<string, { blankPadded?: boolean }>): TargetTable {
  // numeric: a type without a binary form in apply-copy-binary.ts, so these steps are copied as text.
  return { schema: 'public', name: 'x', columns: new Map(Object.entries(columns).map(([name, c]) => [name, { castType: 'numeric', generated: false, identityAlways: false, blankPadded: c.blankPadded === true }])) } as unknown as TargetTable;
}

describe('COPY text of an insert step', () => {
  it('is used from COPY_MIN_ROWS rows on, and escapes what COPY text format gives a meaning to', () => {
    const t = table({ a: {}, b: { blankPadded: true } });
    const step = (rows: (string | null)[][]): PlanStep => ({ kind: 'insert', table: t, columns: ['a', 'b'], rows });
    expect(copiesOfStep(step(Array.from({ length: COPY_MIN_ROWS - 1 }, () => ['1', '2'])))).toBeUndefined();
    const rows = Array.from({ length: COPY_MIN_ROWS }, (): (string | null)[] => ['x', 'y']);
    rows[0] = ['a\tb\\c\nd\re', 'pad   '];
    rows[1] = [null, '\\N'];
    const copies = copiesOfStep(step(rows));
    expect(copies).toHaveLength(1);
    const copy = copies?.[0];
    expect(copy?.copySql).toBe('COPY "public"."x" ("a", "b") FROM STDIN');
    const lines = copy?.data.toString('utf8').split('\n');
    expect(lines?.[0]).toBe('a\\tb\\\\c\\nd\\re\tpad');
    expect(lines?.[1]).toBe('\\N\t\\\\N');
    expect(lines?.length).toBe(COPY_MIN_ROWS + 1);
  });

  it('splits an insert of more than COPY_MAX_ROWS rows into COPYs of at most COPY_MAX_ROWS, every row once and in order', () => {
    const t = table({ a: {} });
    const count = 2 * COPY_MAX_ROWS + 7;
    const rows = Array.from({ length: count }, (_, i): (string | null)[] => [String(i)]);
    const copies = copiesOfStep({ kind: 'insert', table: t, columns: ['a'], rows }) ?? [];
    expect(copies.map((copy) => copy.data.toString('utf8').split('\n').length - 1)).toEqual([COPY_MAX_ROWS, COPY_MAX_ROWS, 7]);
    expect(copies.flatMap((copy) => copy.data.toString('utf8').trimEnd().split('\n'))).toEqual(rows.map((row) => row[0]));
  });

  it('writes rows of any size: long Unicode values come out whole, in a part bigger than its buffer, and the next step after it', () => {
    const t = table({ a: {}, b: {} });
    const long = (i: number): string => `${i}:${'✈'.repeat(100_000)}\t${'é'.repeat(i)}`;
    const rows = Array.from({ length: COPY_MIN_ROWS }, (_, i): (string | null)[] => [String(i), long(i)]);
    const [big] = copiesOfStep({ kind: 'insert', table: t, columns: ['a', 'b'], rows }) ?? [];
    const lines = big?.data.toString('utf8').split('\n') ?? [];
    expect(lines).toHaveLength(COPY_MIN_ROWS + 1);
    for (let i = 0; i < COPY_MIN_ROWS; i++) expect(lines[i]).toBe(`${i}\t${long(i).replace('\t', '\\t')}`);
    const small = Array.from({ length: COPY_MIN_ROWS }, (_, i): (string | null)[] => [String(i), i % 2 === 0 ? null : 'x']);
    const [after] = copiesOfStep({ kind: 'insert', table: t, columns: ['a', 'b'], rows: small }) ?? [];
    expect(after?.data.toString('utf8')).toBe(small.map(([a, b]) => `${a}\t${b ?? '\\N'}\n`).join(''));
  });
});

describe('the COPY arena of a channel', () => {
  const t = table({ a: {}, b: {} });
  const step = (count: number, value: (i: number) => string): PlanStep => ({ kind: 'insert', table: t, columns: ['a', 'b'], rows: Array.from({ length: count }, (_, i) => [String(i), value(i)]) });
  const text = (count: number, value: (i: number) => string): string => Array.from({ length: count }, (_, i) => `${i}\t${value(i)}\n`).join('');

  it('keeps every part of a transaction intact while later parts outgrow it, and reuses its memory after a reset', () => {
    const arena = new CopyArena();
    const small = (i: number): string => `s${i}`;
    const wide = (i: number): string => `${'w'.repeat(40_000)}${i}`;
    const [first] = copiesOfStep(step(COPY_MIN_ROWS, small), arena) ?? [];
    const bigParts = copiesOfStep(step(COPY_MAX_ROWS + 1, wide), arena) ?? [];
    const [last] = copiesOfStep(step(COPY_MIN_ROWS, small), arena) ?? [];
    expect(first?.data.toString('utf8')).toBe(text(COPY_MIN_ROWS, small));
    expect(Buffer.concat(bigParts.map((part) => part.data)).toString('utf8')).toBe(text(COPY_MAX_ROWS + 1, wide));
    expect(last?.data.toString('utf8')).toBe(text(COPY_MIN_ROWS, small));
    // The next transaction writes where the last one's parts were: no new memory.
    const before = last?.data.buffer;
    arena.reset();
    const [again] = copiesOfStep(step(COPY_MIN_ROWS, (i) => `again${i}`), arena) ?? [];
    expect(again?.data.buffer === before).toBe(true);
    expect(again?.data.toString('utf8')).toBe(text(COPY_MIN_ROWS, (i) => `again${i}`));
  });
});

describe('inserts applied by COPY on a PostgreSQL 17 target', () => {
  const { target } = servers();
  let db: string;
  let sessions: LoaderSessions;
  const queues = testQueues('apply-copy');

  beforeAll(async () => {
    db = await createDatabase(target, 'apply_copy');
    // An ALWAYS trigger fires whatever session_replication_role says: it records how each row came in.
    await runSql(
      target,
      db,
      `CREATE TABLE texts (id int PRIMARY KEY, body text, arr text[], c char(8), n numeric, g int GENERATED ALWAYS AS (id * 2) STORED, i int GENERATED ALWAYS AS IDENTITY);
       CREATE TABLE arrivals (via text);
       CREATE FUNCTION note_arrival() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO arrivals VALUES (CASE WHEN current_query() LIKE '%FROM STDIN%' THEN 'COPY' ELSE 'INSERT' END); RETURN NEW; END $$;
       CREATE TRIGGER note_arrival AFTER INSERT ON texts FOR EACH ROW EXECUTE FUNCTION note_arrival();
       ALTER TABLE texts ENABLE ALWAYS TRIGGER note_arrival;`,
    );
    sessions = targetSessions(target, db);
  });
  afterAll(async () => {
    await sessions?.end();
    queues.close();
    if (db !== undefined) await dropDatabase(target, db);
  });

  it('lands every value exactly, identity values included, with the bookkeeping', async () => {
    expect(sessions.copyInTransactions).toBe(true);
    const migrationId = newMigrationId();
    const { place, store } = queues.fresh();
    const T = { schema: 'public', name: 'texts' };
    const cols = ['id', 'body', 'arr', 'c', 'n', 'g', 'i'];
    const count = NASTY.length * 40; // more than COPY_MAX_ROWS: several COPYs in one transaction
    const body = (i: number): string => NASTY[i % NASTY.length] as string;
    const arr = (i: number): string => `{"${body(i).replace(/[\\"]/g, (c) => `\\${c}`)}",NULL}`;
    const changes: ChangeInput[] = Array.from({ length: count }, (_, i) =>
      ins(T, ['id'], cols, [String(i), i % 7 === 0 ? null : body(i), arr(i), 'ab      ', i % 3 === 0 ? 'NaN' : `${i}.50`, String(i * 2), String(1000 + i)]),
    );
    const last = await writeTransactions(store, place.queueDir, [changes]);
    await applyQueue(store, place.queueDir, sessions, migrationId, last, { channels: 1 });
    const rows = await query<{ id: number; body: string | null; arr: (string | null)[]; c: string; n: string; g: number; i: number }>(
      target,
      db,
      'SELECT id, body, arr, c, n::text AS n, g, i FROM texts ORDER BY id',
    );
    expect(rows).toHaveLength(count);
    for (const [i, row] of rows.entries()) {
      expect(row).toEqual({ id: i, body: i % 7 === 0 ? null : body(i), arr: [body(i), null], c: 'ab      ', n: i % 3 === 0 ? 'NaN' : `${i}.50`, g: i * 2, i: 1000 + i });
    }
    // The channel starts on the first event (a transaction of one row, by INSERT); the rest came by COPY.
    const via = await query<{ copied: number; n: number }>(target, db, "SELECT count(*) FILTER (WHERE via = 'COPY')::int AS copied, count(*)::int AS n FROM arrivals");
    expect(via[0]?.n).toBe(count);
    expect(via[0]?.copied).toBeGreaterThan(count / 2);
    const [channel] = await query<{ v: string }>(target, db, `SELECT last_applied_vsn::text AS v FROM godwit_metadata.apply_channels WHERE migration_id = '${migrationId}'`);
    expect(Number(channel?.v)).toBe(last);
  });

  it('rolls the whole transaction back when a COPY fails, an earlier COPY too: no rows, the bookkeeping where it was', async () => {
    const migrationId = newMigrationId();
    const scope = { migrationId, stream: 'source-to-target' as const };
    await runSql(target, db, 'CREATE TABLE strict (id int PRIMARY KEY, v int)');
    await withSession(sessions, async (session) => {
      await ensureBookkeepingSchema(session);
      await rebaseChannels(session, scope, 1, 0, '{}');
    });
    const rows = Array.from({ length: COPY_MIN_ROWS }, (_, i) => `${i}\t${i === COPY_MIN_ROWS - 1 ? 'not a number' : i}`).join('\n');
    const failure = await runApplyTransaction(
      sessions,
      {
        label: 'test',
        script: [`${advanceChannelScript(scope, 0, 0, 10)};\nINSERT INTO strict VALUES (-1, -1)`, { copySql: 'COPY strict (id, v) FROM STDIN', data: Buffer.from('100\t100\n101\t101\n') }, { copySql: 'COPY strict (id, v) FROM STDIN', data: Buffer.from(`${rows}\n`) }, 'INSERT INTO strict VALUES (-2, -2)'],
        committed: async () => false,
      },
      silentLogger,
    ).catch((error: unknown) => error);
    expect((failure as { code?: string }).code).toBe('22P02');
    expect(await query(target, db, 'SELECT count(*)::int AS n FROM strict')).toEqual([{ n: 0 }]);
    const channel = await query<{ v: string }>(target, db, `SELECT last_applied_vsn::text AS v FROM godwit_metadata.apply_channels WHERE migration_id = '${migrationId}'`);
    expect(channel.map((row) => Number(row.v))).toEqual([0]);
    // The session is usable again, and the same parts commit once the data is right.
    await runApplyTransaction(
      sessions,
      {
        label: 'test',
        script: [`${advanceChannelScript(scope, 0, 0, 10)};\nINSERT INTO strict VALUES (-1, -1)`, { copySql: 'COPY strict (id, v) FROM STDIN', data: Buffer.from('1\t1\n2\t2\n') }],
        committed: async () => false,
      },
      silentLogger,
    );
    expect(await query(target, db, 'SELECT count(*)::int AS n FROM strict')).toEqual([{ n: 3 }]);
  });
});
