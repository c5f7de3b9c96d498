// A workload on the source that knows what it committed: transactions of random inserts, updates,
// primary-key changes and deletes (now and then a big one) on one table `(id int PRIMARY KEY, v
// text)`, each recorded with its transaction id and the events capture must turn it into, in
// statement order. A single writer commits one transaction after the other, so the order of its
// records is its commit order.

import pg from 'pg';
import type { ChangeEvent } from '../../src/core/change-event.js';
import { adminConfig } from '../harness/index.js';
import { source, summary } from './helpers.js';
import { seededRandom } from './seeded-random.js';

/** What capture must produce for one event (see summary() in helpers.ts). */
export type EventSummary = ReturnType<typeof summary>;

/** One committed transaction of the workload. */
export interface CommittedTransaction {
  /** The 32-bit transaction id, as the stream carries it. */
  xid: number;
  events: EventSummary[];
}

/** Writes transactions to `table` until stop(); `committed` lists them in commit order. */
export class Workload {
  readonly committed: CommittedTransaction[] = [];
  private readonly rows = new Map<number, string>();
  private nextId: number;
  private stopping = false;
  private running: Promise<void> | undefined;
  private readonly random: () => number;

  constructor(
    private readonly db: string,
    private readonly table: string,
    seed: number,
    /** Ids start here, so several workloads can share nothing. */
    firstId = 1,
  ) {
    this.random = seededRandom(seed);
    this.nextId = firstId;
  }

  /** Events committed so far. */
  get eventCount(): number {
    return this.committed.reduce((sum, tx) => sum + tx.events.length, 0);
  }

  /** Starts writing in the background; `pauseMs` between transactions. */
  start(pauseMs = 5): void {
    this.running = this.loop(pauseMs);
  }

  /** Stops after the transaction in progress; resolves when it is committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  /** Runs `count` transactions now (without start()). */
  async runTransactions(count: number): Promise<void> {
    const client = await this.connect();
    try {
      for (let i = 0; i < count; i += 1) await this.transaction(client);
    } finally {
      await client.end();
    }
  }

  private async loop(pauseMs: number): Promise<void> {
    const client = await this.connect();
    try {
      while (!this.stopping) {
        await this.transaction(client);
        if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs * this.random() * 2));
      }
    } finally {
      await client.end();
    }
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client(adminConfig(source, this.db));
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  private async transaction(client: pg.Client): Promise<void> {
    const table = `public.${this.table}`;
    const rows = new Map(this.rows);
    const events: EventSummary[] = [];
    const statements: string[] = [];
    const big = this.random() < 0.04;
    const count = big ? 50 + Math.floor(this.random() * 250) : 1 + Math.floor(this.random() * 5);
    for (let i = 0; i < count; i += 1) {
      const ids = [...rows.keys()];
      const r = big ? 0 : this.random();
      const pick = ids[Math.floor(this.random() * ids.length)];
      if (r < 0.4 || pick === undefined) {
        const id = this.nextId++;
        const v = `v${id}-${Math.floor(this.random() * 1e6)}`;
        rows.set(id, v);
        statements.push(`INSERT INTO ${this.table} VALUES (${id}, '${v}')`);
        events.push({ table, op: 'insert', key: ['id'], new: { id: String(id), v }, old: null });
      } else if (r < 0.7) {
        const v = `u${Math.floor(this.random() * 1e6)}`;
        rows.set(pick, v);
        statements.push(`UPDATE ${this.table} SET v = '${v}' WHERE id = ${pick}`);
        events.push({ table, op: 'update', key: ['id'], new: { id: String(pick), v }, old: null });
      } else if (r < 0.85) {
        const id = this.nextId++;
        const v = rows.get(pick) as string;
        rows.delete(pick);
        rows.set(id, v);
        statements.push(`UPDATE ${this.table} SET id = ${id} WHERE id = ${pick}`);
        events.push({ table, op: 'update', key: ['id'], new: { id: String(id), v }, old: [String(pick)] });
      } else {
        rows.delete(pick);
        statements.push(`DELETE FROM ${this.table} WHERE id = ${pick}`);
        events.push({ table, op: 'delete', key: ['id'], new: null, old: [String(pick)] });
      }
    }
    const result = await client.query<{ xid: string }>(`BEGIN; ${statements.join('; ')}; SELECT txid_current()::text AS xid`);
    const last = (Array.isArray(result) ? result.at(-1) : result) as pg.QueryResult<{ xid: string }>;
    await client.query('COMMIT');
    this.rows.clear();
    for (const [id, v] of rows) this.rows.set(id, v);
    this.committed.push({ xid: Number(BigInt(last.rows[0]!.xid) & 0xffff_ffffn), events });
  }
}

/** The queue's events as transactions (consecutive events of one xid and commit LSN), for comparing with what was committed. */
export function queueTransactions(events: ChangeEvent[]): { xid: number; commitLsn: string; events: EventSummary[] }[] {
  const transactions: { xid: number; commitLsn: string; events: EventSummary[] }[] = [];
  for (const event of events) {
    const last = transactions.at(-1);
    if (last !== undefined && last.xid === event.xid && last.commitLsn === event.commitLsn) last.events.push(summary(event));
    else transactions.push({ xid: event.xid, commitLsn: event.commitLsn, events: [summary(event)] });
  }
  return transactions;
}
