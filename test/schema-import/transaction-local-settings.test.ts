// pg_dump's session settings turned into settings of one transaction (the import's index and key
// builds run each statement so, for targets behind a pooler in transaction mode).
import { describe, expect, it } from 'vitest';
import { transactionLocalSettings } from '../../src/schema/import/apply-statements.js';

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
