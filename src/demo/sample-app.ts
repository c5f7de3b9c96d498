// The demo's sample application, shipped with godwit: a small shop with what real migrations meet
// (DESIGN.md section 5): an enum, a domain, an identity column, bigserial keys, a text primary key,
// a sequence owned by no column, jsonb, arrays, numeric, large TOASTed descriptions, a composite key
// with ON DELETE CASCADE, a partitioned table, and an audit trigger that must fire once per
// application write on whichever database is primary (invariant 8).

/** The schema the demo migrates. */
export const DEMO_SCHEMA = 'shop';

/** Creates the application schema on the source. */
export const SAMPLE_SCHEMA_SQL = `
CREATE SCHEMA shop;
CREATE TYPE shop.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
CREATE DOMAIN shop.amount AS numeric(12, 2) CHECK (VALUE >= 0);
CREATE SEQUENCE shop.invoice_numbers START 100000;

CREATE TABLE shop.customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  profile jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.products (
  sku text PRIMARY KEY,
  title text NOT NULL,
  price shop.amount NOT NULL,
  stock integer NOT NULL,
  tags text[],
  description text
);
CREATE TABLE shop.orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES shop.customers,
  status shop.order_status NOT NULL DEFAULT 'new',
  total shop.amount NOT NULL DEFAULT 0,
  invoice_no bigint,
  placed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE shop.order_items (
  order_id bigint NOT NULL REFERENCES shop.orders ON DELETE CASCADE,
  line integer NOT NULL,
  sku text NOT NULL REFERENCES shop.products,
  quantity integer NOT NULL,
  price numeric(12, 2) NOT NULL,
  PRIMARY KEY (order_id, line)
);
CREATE TABLE shop.audit_log (
  id bigserial PRIMARY KEY,
  table_name text NOT NULL,
  action text NOT NULL,
  row_key text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE FUNCTION shop.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO shop.audit_log (table_name, action, row_key)
  VALUES (TG_TABLE_NAME, TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id::text ELSE NEW.id::text END);
  RETURN NULL;
END $$;
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE OR DELETE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.audit();
CREATE TABLE shop.events (
  id bigserial,
  at timestamptz NOT NULL,
  kind text NOT NULL,
  payload jsonb,
  PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE shop.events_old PARTITION OF shop.events FOR VALUES FROM (MINVALUE) TO ('2026-01-01');
CREATE TABLE shop.events_new PARTITION OF shop.events FOR VALUES FROM ('2026-01-01') TO (MAXVALUE);
-- Held back by import schema until finalize-schema-post-data-import: a NOT VALID check and a materialized view.
ALTER TABLE shop.products ADD CONSTRAINT products_stock_known CHECK (stock IS NOT NULL) NOT VALID;
CREATE MATERIALIZED VIEW shop.sales_by_status AS SELECT status, count(*) AS orders, sum(total) AS total FROM shop.orders GROUP BY status;
`;

/** Fills the application with data (a few MB, some of it TOASTed). */
export const SAMPLE_DATA_SQL = `
INSERT INTO shop.customers (email, name, profile)
SELECT 'customer' || g || '@example.com', 'Customer ' || g, jsonb_build_object('tier', g % 3, 'tags', jsonb_build_array('a', g % 7))
  FROM generate_series(1, 2000) g;
INSERT INTO shop.products (sku, title, price, stock, tags, description)
SELECT 'SKU-' || lpad(g::text, 5, '0'), 'Product ' || g, (g % 500) + 0.99, 1000, ARRAY['tag' || g % 5, NULL, 'quote"d, comma'],
       (SELECT string_agg(md5(g::text || ':' || i), '') FROM generate_series(1, 80) i)
  FROM generate_series(1, 500) g;
INSERT INTO shop.orders (customer_id, status, total, invoice_no, placed_at)
SELECT 1 + g % 2000, (ARRAY['new', 'paid', 'shipped', 'cancelled']::shop.order_status[])[1 + g % 4], 0, nextval('shop.invoice_numbers'),
       timestamptz '2026-06-01' + g * interval '13 minutes'
  FROM generate_series(1, 10000) g;
INSERT INTO shop.order_items (order_id, line, sku, quantity, price)
SELECT o.id, l, 'SKU-' || lpad((1 + (o.id * 7 + l) % 500)::text, 5, '0'), 1 + l, 9.99 * l
  FROM shop.orders o, generate_series(1, 3) l;
UPDATE shop.orders o SET total = s.total FROM (SELECT order_id, sum(quantity * price) AS total FROM shop.order_items GROUP BY 1) s WHERE s.order_id = o.id;
INSERT INTO shop.events (at, kind, payload)
SELECT timestamptz '2025-12-01' + g * interval '17 minutes', 'page_view', jsonb_build_object('n', g)
  FROM generate_series(1, 5000) g;
`;
