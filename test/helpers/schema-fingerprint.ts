// A version-independent picture of a database's schema, to compare a PostgreSQL 15 source with a
// PostgreSQL 17 target (Debian has no pg_dump 17, and pg_dump 15 refuses a 17 server). Every line
// is one object rendered by the server's own pg_get_*def functions, sorted.
import pg from 'pg';

const QUERIES: Record<string, string> = {
  schemas: `SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)`,
  relations: `SELECT n.nspname || '.' || c.relname || ' ' || c.relkind::text || ' persistence=' || c.relpersistence::text
                || ' replident=' || c.relreplident::text || ' partitioned=' || c.relispartition
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r','p','v','m','S','f','c')`,
  columns: `SELECT n.nspname || '.' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                || CASE WHEN a.attidentity <> '' THEN ' IDENTITY ' || a.attidentity::text ELSE '' END
                || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ' || a.attgenerated::text ELSE '' END
                || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
                || coalesce(' COLLATE ' || co.collname, '')
            FROM pg_attribute a
            JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100 AND co.collname <> 'default'
            WHERE n.nspname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r','p','v','m','f','c')`,
  constraints: `SELECT n.nspname || '.' || c.relname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
                  || CASE WHEN con.convalidated THEN '' ELSE ' (not validated)' END
                FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ANY($1)`,
  domainConstraints: `SELECT n.nspname || '.' || t.typname || ' ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
                FROM pg_constraint con JOIN pg_type t ON t.oid = con.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = ANY($1)`,
  indexes: `SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1)`,
  views: `SELECT n.nspname || '.' || c.relname || ' ' || pg_get_viewdef(c.oid) FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relkind IN ('v','m')`,
  functions: `SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = ANY($1) AND p.prokind IN ('f','p')`,
  aggregates: `SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = ANY($1) AND p.prokind = 'a'`,
  triggers: `SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND NOT t.tgisinternal`,
  types: `SELECT n.nspname || '.' || t.typname || ' ' || t.typtype::text
                || coalesce(' ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
                || CASE WHEN t.typtype = 'd' THEN ' ' || format_type(t.typbasetype, t.typtypmod) || ' notnull=' || t.typnotnull
                        || coalesce(' default ' || t.typdefault, '') ELSE '' END
            FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = ANY($1) AND t.typtype IN ('e','d','r','c','m')
              AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')`,
  sequences: `SELECT s.schemaname || '.' || s.sequencename || ' ' || s.data_type::text || ' start=' || s.start_value
                || ' inc=' || s.increment_by || ' min=' || s.min_value || ' max=' || s.max_value || ' cycle=' || s.cycle
                || ' cache=' || s.cache_size FROM pg_sequences s WHERE s.schemaname = ANY($1)`,
  sequenceOwners: `SELECT n.nspname || '.' || c.relname || ' owned by ' || tn.nspname || '.' || t.relname || '.' || a.attname
                     FROM pg_depend d JOIN pg_class c ON c.oid = d.objid AND c.relkind = 'S'
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
                     JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                     WHERE d.classid = 'pg_class'::regclass AND d.deptype IN ('a','i') AND n.nspname = ANY($1)`,
  partitions: `SELECT n.nspname || '.' || c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid) || ' of ' || pn.nspname || '.' || p.relname
                 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
                 WHERE n.nspname = ANY($1) AND c.relispartition`,
  partitionKeys: `SELECT n.nspname || '.' || c.relname || ' ' || pg_get_partkeydef(c.oid) FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relkind = 'p'`,
  policies: `SELECT schemaname || '.' || tablename || ' ' || policyname || ' ' || permissive::text || ' ' || cmd::text || ' '
               || coalesce(qual, '') || ' ' || coalesce(with_check, '') FROM pg_policies WHERE schemaname = ANY($1)`,
  rls: `SELECT n.nspname || '.' || c.relname || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1) AND c.relrowsecurity`,
  comments: `SELECT coalesce(n.nspname || '.' || c.relname, d.classoid::regclass::text) || ' ' || d.objsubid || ' ' || d.description
               FROM pg_description d LEFT JOIN pg_class c ON d.classoid = 'pg_class'::regclass AND c.oid = d.objoid
               LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE (n.nspname = ANY($1)) OR (d.classoid = 'pg_namespace'::regclass
                 AND d.objoid IN (SELECT oid FROM pg_namespace WHERE nspname = ANY($1)))`,
  extensions: `SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' AND $1::text[] IS NOT NULL`,
};

/** Each object class's sorted lines; compare two of these with toEqual for a readable diff. */
export async function schemaFingerprint(config: pg.ClientConfig, schemas: string[]): Promise<Record<string, string[]>> {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const result: Record<string, string[]> = {};
    for (const [name, sql] of Object.entries(QUERIES)) {
      const rows = (await client.query<Record<string, string>>(sql, [schemas])).rows;
      result[name] = rows.map((row) => String(Object.values(row)[0])).sort();
    }
    return result;
  } finally {
    await client.end();
  }
}
