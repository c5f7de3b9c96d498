// pg_dump's session settings turned into settings of one transaction (the import's index and key
// builds run each statement so, for targets behind a pooler in transaction mode), and applyStatements
// running them so against a real target.
import { describe, expect, it } from 'vitest';
import { applyStatements, transactionLocalSettings } from '../../src/schema/import/apply-statements.js';
import type { PlannedStatement } from '../../src/schema/import/plan-import.js';
import type { SqlSession } from '../../src/engines/sql-session.js';
import { capturingLogger, createDatabase, servers, withClient } from '../harness/index.js';

describe('transactionLocalSettings', () => {
  it('makes SET local and set_config transaction-local, and leaves the rest', () => {
    expect(
      transactionLocalSettings([
        'SET statement_timeout = 0;',
        "SET client_encoding = 'UTF8'",
        "SELECT pg_catalog.set_config('search_path', '', false);",
        "select set_config('search_path', 'a, b', FALSE)",
        'SET LOCAL lock_timeout = 0',
        'SET SESSION row_security = off',
        'SELECT 1',
      ]),
    ).toEqual([
      'SET LOCAL statement_timeout = 0',
      "SET LOCAL client_encoding = 'UTF8'",
      "SELECT pg_catalog.set_config('search_path', '', true)",
      "select set_config('search_path', 'a, b', true)",
      'SET LOCAL lock_timeout = 0',
      'SET SESSION row_security = off',
      'SELECT 1',
    ]);
  });
});

describe('applyStatements with eachInTransaction (PostgreSQL 17 target)', () => {
  it('runs each statement with the settings local to its transaction, skipping parameters the target does not know', async () => {
    const { target } = servers();
    const database = await createDatabase(target, 'local_settings');
    await withClient(target, database, async (client) => {
      const session: SqlSession = { query: async (text, params) => ({ rows: (await client.query(text, params)).rows }) };
      const logger = capturingLogger();
      const statement = (sql: string, line: number): PlannedStatement => ({ path: 'tables/table.sql', line, sql, kind: 'table', objectName: undefined, ast: {} as PlannedStatement['ast'], order: line });
      const settings = ["SELECT pg_catalog.set_config('search_path', '', false);", 'SET no_such_parameter_here = 0;', 'SET check_function_bodies = false;'];
      // Unqualified, the table lands in the first schema of the search path: none while pg_dump's empty one holds.
      const statements = [statement("CREATE TABLE public.t1 (v text DEFAULT current_setting('search_path'))", 1), statement('CREATE TABLE t2 (id int)', 2)];
      await expect(applyStatements(session, settings, statements, { ignoreExist: false, continueOnError: false, logger, eachInTransaction: true })).rejects.toThrow(/no schema has been selected to create in/);
      expect(logger.lines.filter((l) => l.level === 'warn').map((l) => l.message)).toEqual(['session setting skipped, the target does not know it: SET LOCAL no_such_parameter_here = 0']);
      // The first statement committed; nothing stayed on the session.
      await client.query('INSERT INTO public.t1 DEFAULT VALUES');
      expect((await client.query<{ v: string }>('SELECT v FROM public.t1')).rows).toEqual([{ v: '"$user", public' }]);
      expect((await client.query<{ s: string }>("SELECT current_setting('check_function_bodies') AS s")).rows).toEqual([{ s: 'on' }]);
    });
  });
});
