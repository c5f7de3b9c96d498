// The source catalog against the real PostgreSQL 15 source loaded with the everything-schema
// fixture: keys, generated and identity columns, partitions at both levels, sequences and their
// owners, replica identities, enums and domains; then recorded in the store and read back equal.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateError } from '../../src/core/errors.js';
import { connect } from '../../src/engines/postgres/connect.js';
import { postgresCatalogReader } from '../../src/engines/postgres/catalog/read-catalog.js';
import { catalogQueriesFor, COLUMNS_QUERY_BEFORE_12, UNIQUE_INDEXES_QUERY_BEFORE_11 } from '../../src/engines/postgres/catalog/catalog-queries.js';
import { changeOwner, type SourceCatalog, type SourceTable } from '../../src/engines/source-catalog.js';
import { hasSourceCatalog, readSourceCatalog, replaceSourceCatalog } from '../../src/state/catalog-store.js';
import { openStore } from '../../src/state/store.js';
import { databaseSettings, dropDatabase, query, servers } from '../harness/index.js';
import { tempDir } from '../state/child-helpers.js';
import { EVERYTHING_SCHEMAS, loadEverythingSchema } from './fixture.js';

let database: string;
let catalog: SourceCatalog;

function table(schema: string, name: string): SourceTable {
  const found = catalog.tables.find((t) => t.schema === schema && t.name === name);
  if (found === undefined) throw new Error(`no table ${schema}.${name} in the catalog`);
  return found;
}

function column(t: SourceTable, name: string) {
  const found = t.columns.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no column ${name} in ${t.schema}.${t.name}`);
  return found;
}

function sequence(schema: string, name: string) {
  const found = catalog.sequences.find((s) => s.schema === schema && s.name === name);
  if (found === undefined) throw new Error(`no sequence ${schema}.${name} in the catalog`);
  return found;
}

beforeAll(async () => {
  const { source } = servers();
  database = await loadEverythingSchema(source, 'catalog');
  const connection = await connect(databaseSettings(source, database, { schemas: EVERYTHING_SCHEMAS }), {
    applicationName: 'godwit catalog test',
  });
  try {
    const reader = postgresCatalogReader(connection.client, connection.server, () => new Date('2025-05-06T07:08:09.000Z'));
    catalog = await reader.readCatalog(EVERYTHING_SCHEMAS);
  } finally {
    await connection.client.end();
  }
});

afterAll(async () => {
  if (database !== undefined) await dropDatabase(servers().source, database);
});

describe('source catalog of the everything schema', () => {
  it('lists every table of the selected schemas, sorted, and nothing else', () => {
    expect(catalog.readAt).toBe('2025-05-06T07:08:09.000Z');
    expect(catalog.serverVersion).toMatch(/^PostgreSQL 15\./);
    expect(catalog.schemas).toEqual(EVERYTHING_SCHEMAS);
    const names = catalog.tables.map((t) => `${t.schema}.${t.name}`);
    expect(names).toEqual(
      [
        'Sales Data.Customer Accounts',
        'Sales Data.Order Lines',
        'Sales Data.v1.2 Archive',
        'everything.all_types',
        'everything.countries',
        'everything.customers',
        'everything.documents',
        'everything.feature_flags',
        'everything.invoices',
        'everything.measurements',
        'everything.measurements_2024',
        'everything.measurements_2024_eu',
        'everything.measurements_2024_other',
        'everything.measurements_2025',
        'everything.measurements_default',
        'everything.order_audit',
        'everything.order_items',
        'everything.orders',
        'everything.page_views',
        'everything.products',
        'everything.sessions',
      ],
    );
  });

  it('gives primary key columns in key order, also for composite, text and quoted keys', () => {
    expect(table('everything', 'order_items').primaryKey).toEqual(['order_id', 'line_no']);
    expect(table('everything', 'countries').primaryKey).toEqual(['code']);
    expect(table('Sales Data', 'Order Lines').primaryKey).toEqual(['Account ID', 'Line No']);
    expect(table('everything', 'measurements').primaryKey).toEqual(['id', 'measured_on', 'region']);
    expect(table('everything', 'page_views').primaryKey).toEqual([]);
  });

  it('marks the stored generated column with its expression and never as a default', () => {
    const total = column(table('everything', 'order_items'), 'line_total');
    expect(total.generated).toBe('((quantity)::numeric * unit_price)');
    expect(total.default).toBeNull();
    expect(column(table('everything', 'order_items'), 'quantity').generated).toBeNull();
  });

  it('marks identity columns and links them to their identity sequences', () => {
    expect(column(table('everything', 'orders'), 'id').identity).toBe('always');
    expect(column(table('everything', 'products'), 'id').identity).toBe('by-default');
    expect(column(table('everything', 'customers'), 'id').identity).toBeNull();
    expect(column(table('Sales Data', 'Customer Accounts'), 'Account ID').identity).toBe('always');

    const products = sequence('everything', 'products_id_seq');
    expect(products).toMatchObject({ dataType: 'bigint', start: '1000', increment: '5', lastValue: '1010', cycle: false });
    expect(products.ownedBy).toEqual({ schema: 'everything', table: 'products', column: 'id', identity: true });

    const accounts = sequence('Sales Data', 'Customer Accounts_Account ID_seq');
    expect(accounts.ownedBy).toEqual({ schema: 'Sales Data', table: 'Customer Accounts', column: 'Account ID', identity: true });
  });

  it('links serial sequences to their columns and their defaults', () => {
    const serial = sequence('everything', 'customers_id_seq');
    expect(serial.dataType).toBe('integer');
    expect(serial.lastValue).toBe('3');
    expect(serial.ownedBy).toEqual({ schema: 'everything', table: 'customers', column: 'id', identity: false });
    expect(serial.usedByDefaults).toEqual([{ schema: 'everything', table: 'customers', column: 'id' }]);
    expect(column(table('everything', 'customers'), 'id').default).toBe("nextval('everything.customers_id_seq'::regclass)");
  });

  it('reports sequences owned by no column, whether a default uses them or not', () => {
    const invoices = sequence('everything', 'invoice_number_seq');
    expect(invoices.ownedBy).toBeNull();
    expect(invoices.lastValue).toBe('10002');
    expect(invoices.usedByDefaults).toEqual([{ schema: 'everything', table: 'invoices', column: 'invoice_number' }]);

    const counter = sequence('everything', 'ticket_counter');
    expect(counter).toMatchObject({
      dataType: 'integer',
      increment: '-1',
      minValue: '1',
      maxValue: '500',
      start: '500',
      cache: '1',
      cycle: true,
      lastValue: '499',
      ownedBy: null,
      usedByDefaults: [],
    });
  });

  it('maps partitions at both levels to the root, with their parent and bound', () => {
    expect(table('everything', 'measurements')).toMatchObject({
      kind: 'partitioned',
      partition: null,
      partitionKey: 'RANGE (measured_on)',
    });
    const root = { schema: 'everything', name: 'measurements' };
    expect(table('everything', 'measurements_2024')).toMatchObject({
      kind: 'partition',
      partitionKey: 'LIST (region)',
      partition: { parent: root, root, bound: "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')" },
    });
    const level2 = { schema: 'everything', name: 'measurements_2024' };
    expect(table('everything', 'measurements_2024_eu').partition).toEqual({ parent: level2, root, bound: "FOR VALUES IN ('eu')" });
    expect(table('everything', 'measurements_2024_other').partition).toEqual({ parent: level2, root, bound: 'DEFAULT' });
    expect(table('everything', 'measurements_default').partition).toMatchObject({ parent: root, root, bound: 'DEFAULT' });
    expect(changeOwner(table('everything', 'measurements_2024_eu'))).toEqual(root);
    expect(changeOwner(table('everything', 'orders'))).toEqual({ schema: 'everything', name: 'orders' });
    expect(table('everything', 'orders').kind).toBe('ordinary');
  });

  it('reports replica identity and the columns it identifies rows by', () => {
    expect(table('everything', 'feature_flags')).toMatchObject({
      replicaIdentity: 'full',
      replicaIdentityColumns: ['name', 'enabled', 'payload'],
      primaryKey: [],
    });
    expect(table('everything', 'page_views')).toMatchObject({ replicaIdentity: 'default', replicaIdentityColumns: [] });
    expect(table('everything', 'order_items')).toMatchObject({ replicaIdentity: 'default', replicaIdentityColumns: ['order_id', 'line_no'] });
    const sessions = table('everything', 'sessions');
    expect(sessions).toMatchObject({ replicaIdentity: 'index', replicaIdentityColumns: ['token'] });
    expect(sessions.uniqueIndexes).toEqual([
      {
        name: 'sessions_token',
        columns: ['token'],
        primary: false,
        replicaIdentity: true,
        partial: false,
        deferrable: false,
        valid: true,
        keyColumnsNotNull: true,
      },
    ]);
  });

  it('lists unique indexes with expression keys, deferrable constraints and nullable keys', () => {
    const customers = table('everything', 'customers').uniqueIndexes;
    expect(customers.find((i) => i.name === 'customers_email_lower')).toMatchObject({ columns: [null], keyColumnsNotNull: false });
    expect(customers.find((i) => i.name === 'customers_pkey')).toMatchObject({ columns: ['id'], primary: true, keyColumnsNotNull: true });
    const products = table('everything', 'products').uniqueIndexes;
    expect(products.map((i) => i.name)).toEqual(['products_pkey', 'products_shelf_position_key', 'products_sku_key']);
    expect(products.find((i) => i.name === 'products_shelf_position_key')).toMatchObject({ deferrable: true, keyColumnsNotNull: false });
    expect(products.find((i) => i.name === 'products_sku_key')).toMatchObject({ deferrable: false, keyColumnsNotNull: true });
  });

  it('gives column types as format_type spells them, with their type schema', () => {
    const allTypes = table('everything', 'all_types');
    expect(column(allTypes, 'c_numeric_wide').dataType).toBe('numeric(1000,500)');
    expect(column(allTypes, 'c_timestamptz_ms').dataType).toBe('timestamp(3) with time zone');
    expect(column(allTypes, 'c_mood_array')).toMatchObject({ dataType: 'everything.mood[]', typeSchema: 'everything', typeName: '_mood' });
    expect(column(allTypes, 'c_amount')).toMatchObject({ dataType: 'everything.positive_amount', typeSchema: 'everything' });
    expect(column(allTypes, 'c_jsonb')).toMatchObject({ dataType: 'jsonb', typeSchema: 'pg_catalog', typeName: 'jsonb', notNull: false });
    expect(column(allTypes, 'c_int_matrix').dataType).toBe('integer[]');
    expect(allTypes.columns.map((c) => c.ordinal)).toEqual(allTypes.columns.map((_c, index) => index + 1));
    const accounts = table('Sales Data', 'Customer Accounts');
    expect(accounts.columns.map((c) => c.name)).toEqual([
      'Account ID', 'Naïve Name', '日本語の名前', 'with "quotes"', 'Country', 'Mood', 'Balance €',
    ]);
    expect(column(accounts, 'Balance €')).toMatchObject({ notNull: true, default: '0' });
  });

  it('reads enums and domains, including a domain over an enum', () => {
    expect(catalog.enums).toEqual([
      { schema: 'everything', name: 'mood', labels: ['sad', 'ok', 'happy', 'über glücklich', "it's complicated"] },
    ]);
    expect(catalog.domains).toEqual([
      { schema: 'everything', name: 'cheerful_mood', baseType: 'everything.mood', notNull: false, default: "'happy'::everything.mood", checks: ["CHECK ((VALUE <> 'sad'::everything.mood))"] },
      { schema: 'everything', name: 'email_address', baseType: 'text', notNull: false, default: null, checks: ["CHECK ((VALUE ~~ '%_@_%'::text))"] },
      { schema: 'everything', name: 'positive_amount', baseType: 'numeric(12,2)', notNull: false, default: null, checks: ['CHECK ((VALUE > (0)::numeric))'] },
    ]);
  });

  it('estimates rows and sizes from the statistics', () => {
    expect(table('everything', 'customers').estimatedRows).toBe(3);
    expect(table('everything', 'documents').sizeBytes).toBeGreaterThan(8192);
    expect(table('everything', 'measurements').sizeBytes).toBe(0);
  });

  it('stores the large document out of line (TOAST), as the fixture promises', async () => {
    const [row] = await query<{ toast_bytes: string; body_bytes: number }>(
      servers().source,
      database,
      `SELECT pg_relation_size(c.reltoastrelid)::text AS toast_bytes,
              (SELECT octet_length(body) FROM everything.documents WHERE id = 1) AS body_bytes
         FROM pg_class c WHERE c.oid = 'everything.documents'::regclass`,
    );
    expect(Number(row?.toast_bytes)).toBeGreaterThan(0);
    expect(row?.body_bytes).toBeGreaterThan(90_000);
  });

  it('reads the same catalog with the pre-12 and pre-11 query variants, less the generated expressions', async () => {
    expect(catalogQueriesFor(110_002).columns).toBe(COLUMNS_QUERY_BEFORE_12);
    expect(catalogQueriesFor(100_023).uniqueIndexes).toBe(UNIQUE_INDEXES_QUERY_BEFORE_11);
    const rows = await query<{ name: string; generated_expr: string | null }>(
      servers().source,
      database,
      COLUMNS_QUERY_BEFORE_12,
      [['everything']],
    );
    expect(rows.find((row) => row.name === 'line_total')?.generated_expr).toBeNull();
    const indexes = await query<{ name: string; columns: string[] }>(servers().source, database, UNIQUE_INDEXES_QUERY_BEFORE_11, [
      ['everything'],
    ]);
    expect(indexes.find((row) => row.name === 'order_items_pkey')?.columns).toEqual(['order_id', 'line_no']);
  });
});

describe('catalog store', () => {
  it('records the catalog and reads it back equal, replacing the previous snapshot', () => {
    const dir = tempDir('catalog-store');
    try {
      const store = openStore(`${dir.path}/godwit.db`);
      expect(hasSourceCatalog(store)).toBe(false);
      expect(() => readSourceCatalog(store)).toThrow(StateError);

      const smaller: SourceCatalog = { ...catalog, tables: catalog.tables.slice(0, 2), sequences: [], enums: [], domains: [] };
      replaceSourceCatalog(store, smaller);
      expect(readSourceCatalog(store)).toEqual(smaller);

      replaceSourceCatalog(store, catalog);
      expect(hasSourceCatalog(store)).toBe(true);
      store.close();

      const reopened = openStore(`${dir.path}/godwit.db`);
      expect(readSourceCatalog(reopened)).toEqual(catalog);
      const roots = reopened.db
        .prepare("SELECT table_name FROM source_partitions WHERE root_schema = 'everything' AND root_name = 'measurements' ORDER BY table_name")
        .pluck()
        .all();
      expect(roots).toEqual([
        'measurements_2024',
        'measurements_2024_eu',
        'measurements_2024_other',
        'measurements_2025',
        'measurements_default',
      ]);
      reopened.close();
    } finally {
      dir.cleanup();
    }
  });

  it('leaves the previous snapshot whole when a replacement fails half-way', () => {
    const dir = tempDir('catalog-store-fail');
    try {
      const store = openStore(`${dir.path}/godwit.db`);
      replaceSourceCatalog(store, catalog);
      const broken = { ...catalog, tables: [...catalog.tables, catalog.tables[0] as SourceTable] }; // duplicate key
      expect(() => replaceSourceCatalog(store, broken)).toThrow();
      expect(readSourceCatalog(store)).toEqual(catalog);
      store.close();
    } finally {
      dir.cleanup();
    }
  });
});
