// A channel sends its whole transaction as one SQL text with the values written as array literals:
// every character a value can hold lands exactly, and a channel row another importer moved stops the
// text before any change of it is applied (the same refusal as with separate statements).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textArrayLiteral } from '../../src/apply/apply-sql.js';
import { runApplyTransaction } from '../../src/apply/apply-transaction.js';
import { advanceChannelScript, advanceRefusedError, isAdvanceRefused, readChannelRows } from '../../src/apply/channel-bookkeeping.js';
import { silentLogger } from '../../src/core/logger.js';
import { withSession } from '../../src/engines/loader-sessions.js';
import { StateError } from '../../src/core/errors.js';
import type { ChangeInput } from '../../src/core/change-event.js';
import type { LoaderSessions } from '../../src/engines/loader-sessions.js';
import { createDatabase, dropDatabase, query, runSql, servers } from '../harness/index.js';
import { applyQueue, ins, newMigrationId, targetSessions, testQueues, upd, writeTransactions } from './apply-helpers.js';

const T = { schema: 'public', name: 'texts' };
const COLS = ['id', 'body', 'arr'];
const NASTY = [
  '',
  ' ',
  'NULL',
  'null',
  "it's",
  "''",
  '\\',
  '\\\\',
  '\\x00ff',
  '"',
  '\\"',
  '"\'\\',
  '{',
  '}',
  '{a,b}',
  'a,b',
  '  leading and trailing  ',
  'tab\there\nnewline\r\n',
  "E'not a literal'",
  '$1::text[]',
  '$$dollar$$',
  '日本語 ✈ 🐦‍⬛ e\u0301',
  `${'\\'.repeat(300)}${"'".repeat(300)}${'"'.repeat(300)}`,
];

describe('channel transactions as one SQL text', () => {
  const { target } = servers();
  let db: string;
  let sessions: LoaderSessions;
  const queues = testQueues('apply-script');

  beforeAll(async () => {
    db = await createDatabase(target, 'apply_script');
    await runSql(target, db, 'CREATE TABLE texts (id int PRIMARY KEY, body text, arr text[])');
    sessions = targetSessions(target, db);
  });
  afterAll(async () => {
    await sessions?.end();
    queues.close();
    if (db !== undefined) await dropDatabase(target, db);
  });

  it('writes array literals that PostgreSQL reads back element for element', async () => {
    const values = [...NASTY, null];
    const [row] = await query<{ a: (string | null)[] }>(target, db, `SELECT ${textArrayLiteral(values)} AS a`);
    expect(row?.a).toEqual(values);
  });

  it('lands every value exactly, inserted and updated', async () => {
    const migrationId = newMigrationId();
    const { place, store } = queues.fresh();
    const transactions: ChangeInput[][] = NASTY.map((body, i) => [ins(T, ['id'], COLS, [String(i), body, `{"${body.replace(/[\\"]/g, (c) => `\\${c}`)}",NULL}`])]);
    transactions.push(NASTY.map((body, i) => upd(T, ['id'], COLS, [String(i + 1000), [...body].reverse().join(''), null])));
    transactions[transactions.length - 1]?.unshift(...NASTY.map((_, i) => ins(T, ['id'], COLS, [String(i + 1000), 'x', null])));
    const last = await writeTransactions(store, place.queueDir, transactions);
    await applyQueue(store, place.queueDir, sessions, migrationId, last, { channels: 2 });
    const rows = await query<{ id: number; body: string; arr: string[] | null }>(target, db, 'SELECT id, body, arr FROM texts ORDER BY id');
    expect(rows.filter((r) => r.id < 1000).map((r) => [r.body, r.arr])).toEqual(NASTY.map((body) => [body, [body, null]]));
    expect(rows.filter((r) => r.id >= 1000).map((r) => r.body)).toEqual(NASTY.map((body) => [...body].reverse().join('')));
  });

  it('lands character(n) and bit(n) values whole (sent without the trailing spaces of character(n))', async () => {
    const migrationId = newMigrationId();
    const { place, store } = queues.fresh();
    await runSql(target, db, 'CREATE TABLE padded (k char(6) PRIMARY KEY, c char(10), b bpchar, v varchar(10), t text, ca char(3)[], bits bit(4), vb varbit)');
    const P = { schema: 'public', name: 'padded' };
    const cols = ['k', 'c', 'b', 'v', 't', 'ca', 'bits', 'vb'];
    // As PostgreSQL prints them: character(n) padded to n; bpchar, varchar and text as they are.
    const last = await writeTransactions(store, place.queueDir, [
      [
        ins(P, ['k'], cols, ['a     ', 'x         ', 'y  ', 'z  ', 'w  ', '{"ab ","c  "}', '1010', '10']),
        ins(P, ['k'], cols, ['bb    ', '          ', ' ', ' ', ' ', '{"   "}', '0001', '']),
      ],
      [upd(P, ['k'], cols, ['a     ', ' x        ', 'y  y ', 'z ', 'w ', '{"x y"}', '1111', '101'])],
    ]);
    await applyQueue(store, place.queueDir, sessions, migrationId, last, { channels: 2 });
    const rows = await query(target, db, 'SELECT k, c, b, v, t, ca::text, bits::text, vb::text, octet_length(c) AS cl FROM padded ORDER BY k');
    expect(rows).toEqual([
      { k: 'a     ', c: ' x        ', b: 'y  y ', v: 'z ', t: 'w ', ca: '{"x y"}', bits: '1111', vb: '101', cl: 10 },
      { k: 'bb    ', c: '          ', b: ' ', v: ' ', t: ' ', ca: '{"   "}', bits: '0001', vb: '', cl: 10 },
    ]);
  });

  it('refuses a channel another importer moved, running none of the statements after the bookkeeping', async () => {
    const migrationId = newMigrationId();
    const { place, store } = queues.fresh();
    await runSql(target, db, 'TRUNCATE texts');
    const first = await writeTransactions(store, place.queueDir, [Array.from({ length: 20 }, (_, i) => ins(T, ['id'], COLS, [String(i), 'v1', null]))]);
    await applyQueue(store, place.queueDir, sessions, migrationId, first, { channels: 2 });
    const scope = { migrationId, stream: 'source-to-target' as const };
    const [row] = await query<{ v: string }>(target, db, `SELECT last_applied_vsn::text AS v FROM godwit_metadata.apply_channels WHERE migration_id = '${migrationId}' AND channel = 0`);
    const at = Number(row?.v);
    // This importer believes channel 0 is one vsn behind where it is ("another importer" moved it).
    const script = `${advanceChannelScript(scope, 0, at - 1, at + 5)};\nUPDATE texts SET body = 'v2'`;
    const failure = await runApplyTransaction(sessions, { label: 'test', script, committed: async () => false }, silentLogger).catch((error: unknown) => error);
    expect(isAdvanceRefused(failure)).toBe(true);
    const now = await withSession(sessions, async (session) => (await readChannelRows(session, scope)).find((r) => r.channel === 0));
    const explained = advanceRefusedError(scope, 0, at - 1, now);
    expect(explained).toBeInstanceOf(StateError);
    expect(explained.message).toBe(
      `Apply channel 0 of the source-to-target stream was expected at vsn ${at - 1} on the target but is at ${at}: is another importer applying the same stream?`,
    );
    expect(await query(target, db, "SELECT count(*)::int AS n FROM texts WHERE body = 'v2'")).toEqual([{ n: 0 }]);
    const [after] = await query<{ v: string }>(target, db, `SELECT last_applied_vsn::text AS v FROM godwit_metadata.apply_channels WHERE migration_id = '${migrationId}' AND channel = 0`);
    expect(Number(after?.v)).toBe(at);
    // The session is usable again (the failed transaction block was rolled back), and the right vsn advances.
    await runApplyTransaction(sessions, { label: 'test', script: `${advanceChannelScript(scope, 0, at, at + 5)};\nUPDATE texts SET body = 'v2'`, committed: async () => false }, silentLogger);
    expect(await query(target, db, "SELECT count(*)::int AS n FROM texts WHERE body = 'v2'")).toEqual([{ n: 20 }]);
  });
});
