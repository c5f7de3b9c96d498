import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseSqlText } from '../../src/schema/parse/parse-sql.js';
it('smoke', async () => {
  for (const f of ['/work/shared/datasets/pagila/pagila-schema.sql', '/work/shared/datasets/chinook/Chinook_PostgreSql.sql', '/work/shared/datasets/pagila/pagila-data.sql']) {
    const s = await parseSqlText(readFileSync(f, 'utf8'), f);
    const c: Record<string, number> = {};
    for (const x of s) c[x.kind] = (c[x.kind] ?? 0) + 1;
    console.log(f, s.length, JSON.stringify(c));
    for (const x of s.filter((x) => x.kind === 'other' || x.objectName === undefined).slice(0, 5)) console.log(x.line, x.kind, x.sql.slice(0, 80));
    for (const x of s.slice(0, 40)) if (f.includes('schema')) console.log(x.line, x.kind, x.objectName, x.tableName, x.notValid, x.foreignKey, JSON.stringify(x.sql.slice(0, 60)));
  }
});
