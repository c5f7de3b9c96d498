// The demo's application: a few connections placing orders, paying and shipping them, changing
// prices (the TOASTed description stays unchanged), cancelling orders (cascading to their items),
// signing up customers (identity column) and logging events (partitioned table), against whichever
// database is primary. A used sequence value on the database that took over shows up here at once as
// a duplicate key: the workload stops and the demo fails.

import pg from 'pg';

/** Transactions done, and the first error that stopped the workload. */
export interface WorkloadResult {
  transactions: number;
  error: Error | undefined;
}

/** A running workload; stop() waits for the transactions in flight to finish. */
export interface Workload {
  readonly transactions: number;
  stop(): Promise<WorkloadResult>;
}

const RETRYABLE = new Set(['40001', '40P01']);

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function sku(n: number): string {
  return `SKU-${String(n).padStart(5, '0')}`;
}

/** One application transaction of a random kind. */
async function oneTransaction(client: pg.ClientBase, counter: number): Promise<void> {
  const roll = Math.random();
  const customer = 1 + Math.floor(Math.random() * 2000);
  const someOrder = 'SELECT id FROM shop.orders WHERE id >= (SELECT min(id) + floor(random() * (max(id) - min(id) + 1))::bigint FROM shop.orders) ORDER BY id LIMIT 1';
  if (roll < 0.4) {
    const lines = [...new Set([1 + Math.floor(Math.random() * 500), 1 + Math.floor(Math.random() * 500)])].sort((a, b) => a - b);
    const order = await client.query<{ id: string }>(
      "INSERT INTO shop.orders (customer_id, invoice_no) VALUES ($1, nextval('shop.invoice_numbers')) RETURNING id",
      [customer],
    );
    const id = order.rows[0]?.id;
    for (const [i, n] of lines.entries()) {
      await client.query('INSERT INTO shop.order_items (order_id, line, sku, quantity, price) SELECT $1, $2, sku, $3, price FROM shop.products WHERE sku = $4', [id, i + 1, 1 + (counter % 3), sku(n)]);
      await client.query('UPDATE shop.products SET stock = stock - $2 WHERE sku = $1', [sku(n), 1 + (counter % 3)]);
    }
    await client.query('UPDATE shop.orders SET total = (SELECT sum(quantity * price) FROM shop.order_items WHERE order_id = $1) WHERE id = $1', [id]);
  } else if (roll < 0.6) {
    await client.query(
      `UPDATE shop.orders SET status = CASE status WHEN 'new' THEN 'paid' WHEN 'paid' THEN 'shipped' ELSE status END
        WHERE id = (${someOrder})`,
    );
  } else if (roll < 0.7) {
    await client.query('UPDATE shop.products SET price = price + 0.01 WHERE sku = $1', [sku(1 + Math.floor(Math.random() * 500))]);
  } else if (roll < 0.78) {
    await client.query(`DELETE FROM shop.orders WHERE id = (${someOrder}) AND status = 'cancelled'`);
    await client.query(`UPDATE shop.orders SET status = 'cancelled' WHERE id = (${someOrder}) AND status = 'new'`);
  } else if (roll < 0.83) {
    await client.query('INSERT INTO shop.customers (email, name, profile) VALUES ($1, $2, $3)', [
      `new-${Date.now()}-${counter}-${Math.random().toString(36).slice(2)}@example.com`,
      pick(['Ada', 'Grace', 'Edsger', 'Barbara']),
      JSON.stringify({ tier: counter % 3 }),
    ]);
  } else {
    await client.query("INSERT INTO shop.events (at, kind, payload) VALUES (now(), $1, jsonb_build_object('n', $2::int))", [pick(['page_view', 'search', 'cart']), counter]);
  }
}

/** Starts `connections` application sessions against `config`, each pausing `pauseMs` between transactions. */
export function startWorkload(config: pg.ClientConfig, connections = 2, pauseMs = 5): Workload {
  let stopping = false;
  let transactions = 0;
  let failure: Error | undefined;
  const session = async (): Promise<void> => {
    const client = new pg.Client(config);
    await client.connect();
    try {
      while (!stopping && failure === undefined) {
        try {
          await client.query('BEGIN');
          await oneTransaction(client, transactions);
          await client.query('COMMIT');
          transactions++;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          if (!RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const sessions = Array.from({ length: connections }, () =>
    session().catch((error: unknown) => {
      failure ??= error instanceof Error ? error : new Error(String(error));
      stopping = true;
    }),
  );
  return {
    get transactions() {
      return transactions;
    },
    async stop(): Promise<WorkloadResult> {
      stopping = true;
      await Promise.all(sessions);
      return { transactions, error: failure };
    },
  };
}
