// Which captured statements are tools' catalog queries rather than the application's.

import { describe, expect, it } from 'vitest';
import { isCatalogQuery } from '../../src/assess/catalog-statements.js';

describe('catalog statements', () => {
  it("tells tools' catalog queries from the application's statements", async () => {
    const tools = [
      "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1",
      'SELECT pg_catalog.set_config($1, $2, $3)',
      'SELECT pg_catalog.format_type($1::pg_catalog.oid, $2)',
      'SELECT count(*) FROM information_schema.tables',
      'SELECT * FROM pg_stat_activity WHERE state = $1',
    ];
    const application = [
      'SELECT pg_advisory_xact_lock($1)',
      'SELECT ctid, id FROM orders WHERE id = $1',
      'SELECT o.id FROM orders o JOIN pg_catalog.pg_class c ON c.oid = o.relid',
      'SELECT now()',
      'UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2',
      'not sql at all',
    ];
    for (const query of tools) expect([query, await isCatalogQuery(query)]).toEqual([query, true]);
    for (const query of application) expect([query, await isCatalogQuery(query)]).toEqual([query, false]);
  });
});
