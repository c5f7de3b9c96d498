// COPY in binary format for tables whose columns are all text-like, integers, booleans or uuids
// (src/apply/apply-copy-binary.ts): the bytes written are the bytes PostgreSQL's own COPY TO (FORMAT
// binary) writes for the same values, every value lands as the text path would land it, and a value
// without a binary form sends its part back to the text format.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryFields, writeBinaryRows, type BinaryField } from '../../src/apply/apply-copy-binary.js';
import { COPY_MIN_ROWS, CopyArena, copiesOfStep } from '../../src/apply/apply-copy.js';
import type { PlanStep, SqlValue } from '../../src/apply/batch-plan.js';
import { TargetTables, type TargetTable } from '../../src/apply/target-tables.js';
import type { ChangeInput } from '../../src/core/change-event.js';
import type { LoaderSessions } from '../../src/engines/loader-sessions.js';
import { createDatabase, dropDatabase, query, runSql, servers, withClient } from '../harness/index.js';
import { applyQueue, ins, newMigrationId, targetSessions, testQueues, writeTransactions } from './apply-helpers.js';

const NASTY = ['', ' ', '\\N', 'NULL', '\\', 'tab\there', 'new\nline', 'cr\rlf\r\n', "it's", '"q"', '{a,b}', '日本語 ✈ 🐦‍⬛ e\u0301', `${'\\'.repeat(100)}\t${'\n'.repeat(3)}`];
const COLUMNS = ['id', 'body', 'v', 'c', 'j', 'js', 'b', 's', 'i', 'big', 'u', 'd', 'ts', 'tz'];
const TYPES = ['integer', 'text', 'character varying', 'bpchar', 'jsonb', 'json', 'boolean', 'smallint', 'integer', 'bigint', 'uuid', 'date', 'timestamp without time zone', 'timestamp with time zone'];
const DDL = 'id int PRIMARY KEY, body text, v varchar(40), c char(8), j jsonb, js json, b boolean, s smallint, i int, big bigint, u uuid, d date, ts timestamp, tz timestamptz';
const DATES = ['0001-01-01', '0050-06-15', '0999-12-31', '1600-02-29', '2400-02-29', '2100-02-28', '1000-01-01', '1582-10-10', '1999-12-31', '2000-01-01', '2000-02-29', '2000-03-01', '1969-12-31', '9999-12-31'];
const TIMES = ['00:00:00', '12:00:00.5', '23:59:59.999999', '00:00:00.000001', '14:15:19.12', '07:08:09'];
const ZONES = ['+00', '+05:30', '-03', '+14', '-09:30', '+00:17:30'];
const COPY_SQL = `COPY "public"."bin" (${COLUMNS.map((c) => `"${c}"`).join(', ')}) FROM STDIN`;

/** Row `n`: every type at its edges and NULL now and then. */
function row(n: number): SqlValue[] {
  const ints = ['0', '-1', '32767', '-32768', '2147483647', '-2147483648'];
  const bigs = ['9223372036854775807', '-9223372036854775808', '9007199254740993', '-9007199254740993', '123456789012345', '0'];
  return [
    String(n),
    n % 9 === 4 ? null : (NASTY[n % NASTY.length] as string),
    `v${n}:${NASTY[(n + 3) % NASTY.length]}`.slice(0, 40),
    n % 2 === 0 ? 'ab' : 'abcdefgh',
    n % 5 === 0 ? null : `{"k": ${JSON.stringify(NASTY[n % NASTY.length])}, "n": [${n}, 1.5e3]}`,
    `{"raw":  ${n}}`,
    n % 3 === 0 ? null : n % 3 === 1 ? 't' : 'f',
    (ints[n % 4] as string),
    (ints[n % ints.length] as string),
    (bigs[n % bigs.length] as string),
    n % 7 === 0 ? null : `${n.toString(16).padStart(8, '0')}-0000-4000-8000-${'aBcDeF012345'.slice(0, 12)}`,
    DATES[n % DATES.length] as string,
    `${DATES[(n + 1) % DATES.length]} ${TIMES[n % TIMES.length]}`,
    n % 11 === 0 ? null : `${DATES[(n + 2) % DATES.length]} ${TIMES[(n + 1) % TIMES.length]}${ZONES[n % ZONES.length]}`,
  ];
}

function targetTable(): TargetTable {
  return {
    schema: 'public',
    name: 'bin',
    columns: new Map(COLUMNS.map((name, i) => [name, { name, castType: TYPES[i] as string, generated: false, identityAlways: false, blankPadded: TYPES[i] === 'bpchar' }])),
    uniqueIndexes: [],
    hasIdentityAlways: false,
  };
}

describe('binary COPY fields', () => {
  it('are chosen only when every column has one', () => {
    expect(binaryFields(TYPES)).toEqual(['int4', 'text', 'text', 'text', 'jsonb', 'text', 'bool', 'int2', 'int4', 'int8', 'uuid', 'date', 'timestamp', 'timestamptz']);
    expect(binaryFields(['integer', 'numeric'])).toBeUndefined();
    expect(binaryFields(['time without time zone'])).toBeUndefined();
  });

  it('refuse values that are not what the type prints, so that the part goes as text', () => {
    const arena = new CopyArena();
    const attempt = (field: BinaryField, value: string): number => writeBinaryRows(arena, 0, [[value]], 0, 1, [field]);
    for (const [field, value] of [
      ['int2', '32768'], ['int2', '1.0'], ['int4', '2147483648'], ['int4', ' 1'], ['int4', ''], ['int4', '-'], ['int8', '9223372036854775808'],
      ['int8', '1e3'], ['int8', '12345678901234567890'], ['bool', 'true'], ['bool', 'T'], ['uuid', '{00000000-0000-0000-0000-000000000000}'],
      ['uuid', '00000000-0000-0000-0000-00000000000g'], ['uuid', '000000000000-0000-0000-0000-00000000'],
      ['date', 'infinity'], ['date', '0044-03-15 BC'], ['date', '10000-01-01'], ['date', '12/02/2026'], ['timestamp', '-infinity'],
      ['timestamp', '2026-12-02 14:15:19 BC'], ['timestamp', 'Wed Dec 02 14:15:19 2026'], ['timestamp', '2026-12-02 14:15:19.1234567'],
      ['timestamp', '2026-12-02 14:15:19+00'], ['timestamptz', '2026-12-02 14:15:19'], ['timestamptz', 'infinity'],
      ['date', '2026-13-01'], ['date', '2026-02-29'], ['date', '1900-02-29'], ['date', '2026-04-31'], ['date', '2026-00-10'], ['timestamp', '2026-12-02 24:00:00'],
      ['timestamp', '2026-12-02 14:60:00'], ['timestamp', '2026-12-02 14:15:60'], ['timestamptz', '2026-12-32 00:00:00+00'],
      // The edges of reading by hand: a dot without digits, one-digit fields, a cut or odd offset, trailing text, year 0.
      ['timestamp', '2026-12-02 14:15:19.'], ['timestamp', '2026-12-02 4:15:19'], ['timestamp', '2026-12-2 14:15:19'], ['timestamp', '2026-12-02T14:15:19'],
      ['timestamp', '2026-12-02 14:15:19 '], ['timestamp', '2026-12-02 14:15'], ['timestamptz', '2026-12-02 14:15:19+5'], ['timestamptz', '2026-12-02 14:15:19+x1:99'],
      ['timestamptz', '2026-12-02 14:15:19+05:3'], ['timestamptz', '2026-12-02 14:15:19+05:30:'], ['timestamptz', '2026-12-02 14:15:19+05:30:15:00'],
      ['timestamptz', '2026-12-02 14:15:19.5-'], ['date', '0000-01-01'], ['date', '2026-1-01'], ['date', '2026-01-01 '], ['date', '+026-01-01'],
    ] as [BinaryField, string][]) {
      expect(attempt(field, value), `${field} ${JSON.stringify(value)}`).toBe(-1);
    }
    expect(attempt('int8', '-9223372036854775808')).toBeGreaterThan(0);
  });

  it('send a step with such a value as COPY text, and the others in binary', () => {
    const table = targetTable();
    const rows = Array.from({ length: COPY_MIN_ROWS }, (_, n) => row(n));
    const step = (values: SqlValue[][]): PlanStep => ({ kind: 'insert', table, columns: COLUMNS, rows: values });
    expect(copiesOfStep(step(rows))?.map((part) => part.copySql)).toEqual([`${COPY_SQL} (FORMAT binary)`]);
    const bad = rows.map((values) => [...values]);
    (bad[10] as SqlValue[])[8] = 'not a number';
    const [part] = copiesOfStep(step(bad)) ?? [];
    expect(part?.copySql).toBe(COPY_SQL);
    expect(part?.data.toString('utf8').split('\n')[10]).toContain('\tnot a number\t');
  });
});

describe('binary COPY on a PostgreSQL 17 target', () => {
  const { target } = servers();
  let db: string;
  let sessions: LoaderSessions;
  const queues = testQueues('apply-copy-binary');
  let dir: string;

  beforeAll(async () => {
    db = await createDatabase(target, 'apply_copy_bin');
    await runSql(target, db, `CREATE TABLE bin (${DDL}); CREATE TABLE oracle (${DDL}); CREATE TABLE via_text (${DDL}, n numeric)`);
    sessions = targetSessions(target, db);
    dir = mkdtempSync(join(tmpdir(), 'godwit-copy-binary-'));
    chmodSync(dir, 0o777); // the server writes the oracle's file (as the postgres OS user when tests run as root)
  });
  afterAll(async () => {
    await sessions?.end();
    queues.close();
    if (db !== undefined) await dropDatabase(target, db);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("writes the bytes PostgreSQL's COPY TO (FORMAT binary) writes for the same values", async () => {
    const rows = Array.from({ length: 40 }, (_, n) => row(n));
    const literal = (value: SqlValue): string => (value === null ? 'NULL' : `'${value.replace(/'/g, "''")}'`);
    await runSql(target, db, `INSERT INTO oracle VALUES ${rows.map((values) => `(${values.map(literal).join(', ')})`).join(',\n')}`);
    const file = join(dir, 'oracle.bin');
    await runSql(target, db, `COPY (SELECT * FROM oracle ORDER BY id) TO '${file}' (FORMAT binary)`);
    const expected = readFileSync(file);
    // The values as the origin's output functions print them (what the stream carries): char(n)
    // padded, jsonb normalized, booleans t and f. Raw text results, no driver parsing.
    // In a zone whose offsets have had minutes (Amsterdam's local mean time: +00:17:30 in tzdata 2022 on).
    const printed = await withClient(target, db, async (client) => {
      await client.query("SET TimeZone = 'Europe/Amsterdam'");
      return client.query<Record<string, string | null>>({ text: `SELECT ${COLUMNS.join(', ')} FROM oracle ORDER BY id`, types: { getTypeParser: () => (text: string) => text } });
    });
    expect(printed.rows.some((r) => /[+-]\d\d:\d\d/.test(r.tz ?? ''))).toBe(true);
    const values = printed.rows.map((r) => COLUMNS.map((c) => r[c] ?? null));
    const arena = new CopyArena();
    const fields = binaryFields(TYPES) ?? [];
    const end = writeBinaryRows(arena, 0, values, 0, values.length, fields);
    expect(end).toBe(expected.length);
    expect(arena.buffer.subarray(0, end).equals(expected)).toBe(true);
  });

  it('are chosen for the table as the target catalog describes it', async () => {
    // The apply takes the cast types from the catalog (target-tables.ts): char(n) is bpchar there.
    const described = await new TargetTables(sessions).get({ schema: 'public', name: 'bin' });
    const castTypes = COLUMNS.map((column) => described.columns.get(column)?.castType ?? '?');
    expect(castTypes).toEqual(TYPES);
    expect(binaryFields(castTypes)).toBeDefined();
  });

  it('lands every row as the text format lands it, through the apply', async () => {
    const { place, store } = queues.fresh();
    const count = 600; // several COPYs in one transaction
    const bin = { schema: 'public', name: 'bin' };
    const text = { schema: 'public', name: 'via_text' };
    const changes: ChangeInput[] = [];
    for (let n = 0; n < count; n++) {
      changes.push(ins(bin, ['id'], COLUMNS, row(n)));
      changes.push(ins(text, ['id'], [...COLUMNS, 'n'], [...row(n), '1.5']));
    }
    const last = await writeTransactions(store, place.queueDir, [changes]);
    await applyQueue(store, place.queueDir, sessions, newMigrationId(), last, { channels: 1 });
    const columns = COLUMNS.map((column) => (['j', 'js', 'd', 'ts', 'tz'].includes(column) ? `${column}::text` : column)).join(', ');
    const viaBinary = await query(target, db, `SELECT ${columns} FROM bin ORDER BY id`);
    const viaText = await query(target, db, `SELECT ${columns} FROM via_text ORDER BY id`);
    expect(viaBinary).toHaveLength(count);
    expect(viaBinary).toEqual(viaText);
    expect(viaBinary[1]).toMatchObject({ id: 1, body: NASTY[1], c: 'abcdefgh', b: true, s: -1, i: -1, big: '-9223372036854775808' });
  });
});
