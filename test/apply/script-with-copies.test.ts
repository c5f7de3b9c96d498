// One text with several COPY ... FROM STDIN statements and their data in the same write
// (src/engines/postgres/script-with-copies.ts), on a real PostgreSQL 17 target: the rows land in the
// text's order; an error before a COPY, inside one, or after one ends the text there, the data sent
// for COPYs that never ran is ignored by the server, and the session runs the next query normally.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSession, type LoaderSessions } from '../../src/engines/loader-sessions.js';
import { createDatabase, dropDatabase, query, runSql, servers } from '../harness/index.js';
import { targetSessions } from './apply-helpers.js';

describe('a text with its COPY data in one round trip', () => {
  const { target } = servers();
  let db: string;
  let sessions: LoaderSessions;

  beforeAll(async () => {
    db = await createDatabase(target, 'script_copies');
    await runSql(target, db, 'CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE log (n serial PRIMARY KEY, what text)');
    sessions = targetSessions(target, db, 2);
  });
  afterAll(async () => {
    await sessions?.end();
    if (db !== undefined) await dropDatabase(target, db);
  });

  const rows = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}\tx\n`).join('');
  const copy = 'COPY t (id, v) FROM STDIN';
  const copyLog = 'COPY log (what) FROM STDIN';

  /** Runs `text` with `data` and, on the same session, a follow-up query: the session must be in step. */
  async function run(text: string, data: Buffer[]): Promise<{ error: { code?: string; message: string } | undefined; after: unknown }> {
    return withSession(sessions, async (session) => {
      expect(session.scriptWithCopies).toBeTypeOf('function');
      const error = await session.scriptWithCopies?.(text, data).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      if (error !== undefined) await session.query('ROLLBACK');
      const after = (await session.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]?.n;
      return { error, after };
    });
  }

  it('runs statements and several COPYs in order, committing them together', async () => {
    await runSql(target, db, 'TRUNCATE t, log');
    const logRows = Buffer.from('first\nsecond\n');
    const tRows = Buffer.from(rows(1, 500));
    const result = await run(`BEGIN; INSERT INTO log (what) VALUES ('start'); ${copy}; ${copyLog}; UPDATE t SET v = 'y' WHERE id = 7; COMMIT`, [tRows, logRows]);
    expect(result.error).toBeUndefined();
    expect(result.after).toBe(500);
    expect(await query(target, db, 'SELECT what FROM log ORDER BY n')).toEqual([{ what: 'start' }, { what: 'first' }, { what: 'second' }]);
    expect(await query(target, db, 'SELECT v FROM t WHERE id = 7')).toEqual([{ v: 'y' }]);
  });

  it('fails before its first COPY: nothing lands, the COPY data is ignored, the session goes on', async () => {
    await runSql(target, db, 'TRUNCATE t, log');
    const data = Buffer.from(rows(1, 300));
    const result = await run(`BEGIN; INSERT INTO log (what) VALUES ('start'); SELECT 1 / 0; ${copy}; ${copyLog}; COMMIT`, [data, Buffer.from('x\n')]);
    expect(result.error?.code).toBe('22012');
    expect(result.after).toBe(0);
    expect(await query(target, db, 'SELECT count(*)::int AS n FROM log')).toEqual([{ n: 0 }]);
  });

  it('fails inside a COPY (a bad row) or after it: nothing of the transaction lands, the session goes on', async () => {
    await runSql(target, db, 'TRUNCATE t, log');
    const bad = Buffer.from(`${rows(1, 200)}oops\tx\n${rows(201, 400)}`);
    const inside = await run(`BEGIN; INSERT INTO log (what) VALUES ('start'); ${copy}; ${copyLog}; COMMIT`, [bad, Buffer.from('x\n')]);
    expect(inside.error?.code).toBe('22P02');
    expect(inside.after).toBe(0);
    const good = Buffer.from(rows(1, 10));
    const after = await run(`BEGIN; ${copy}; INSERT INTO t VALUES (5, 'duplicate'); COMMIT`, [good]);
    expect(after.error?.code).toBe('23505');
    expect(after.after).toBe(0);
    expect(await query(target, db, 'SELECT count(*)::int AS n FROM log')).toEqual([{ n: 0 }]);
    // And the next text on the same sessions works.
    const ok = await run(`BEGIN; ${copy}; COMMIT`, [good]);
    expect(ok.error).toBeUndefined();
    expect(ok.after).toBe(10);
  });
});
