// Not part of the suite's assertions on speed: measures the apply rate on a pgbench-like stream
// (per transaction: UPDATE accounts, SELECT-free UPDATE tellers, UPDATE branches, INSERT history) and
// prints it. Run: npx vitest run test/apply/apply-rate.measure.test.ts
import { it, expect } from 'vitest';
import type { ChangeInput } from '../../src/core/change-event.js';
import { createDatabase, dropDatabase, query, runSql, servers } from '../harness/index.js';
import { applyQueue, ins, newMigrationId, queuePlace, targetSessions, upd, writeTransactions } from './apply-helpers.js';

const TRANSACTIONS = Number(process.env.APPLY_RATE_TRANSACTIONS ?? 20_000);
const CHANNELS = Number(process.env.APPLY_RATE_CHANNELS ?? 4);
const BATCH = Number(process.env.APPLY_RATE_BATCH ?? 2000);

it(`applies a pgbench-like stream of ${TRANSACTIONS} transactions and prints the rate`, async () => {
  const { target } = servers();
  const db = await createDatabase(target, 'apply_rate');
  const scale = 10;
  await runSql(
    target,
    db,
    `CREATE TABLE pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88));
     CREATE TABLE pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84));
     CREATE TABLE pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84));
     CREATE TABLE pgbench_history (hid bigint PRIMARY KEY, tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));
     INSERT INTO pgbench_branches SELECT g, 0, '' FROM generate_series(1, ${scale}) g;
     INSERT INTO pgbench_tellers SELECT g, (g - 1) / 10 + 1, 0, '' FROM generate_series(1, ${scale * 10}) g;
     INSERT INTO pgbench_accounts SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, ${scale * 100_000}) g;`,
  );
  const place = queuePlace('apply-rate');
  const store = place.openStore();
  const sessions = targetSessions(target, db, 6);
  const t = (name: string) => ({ schema: 'public', name });
  const branches = new Array<number>(scale + 1).fill(0);
  const tellers = new Array<number>(scale * 10 + 1).fill(0);
  const accounts = new Map<number, number>();
  const transactions: ChangeInput[][] = [];
  let seed = 7;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return 1 + (seed % n);
  };
  for (let i = 1; i <= TRANSACTIONS; i++) {
    const aid = random(scale * 100_000);
    const tid = random(scale * 10);
    const bid = random(scale);
    const delta = random(10_000) - 5000;
    const ab = (accounts.get(aid) ?? 0) + delta;
    accounts.set(aid, ab);
    tellers[tid] = (tellers[tid] ?? 0) + delta;
    branches[bid] = (branches[bid] ?? 0) + delta;
    transactions.push([
      upd(t('pgbench_accounts'), ['aid'], ['aid', 'bid', 'abalance', 'filler'], [String(aid), String(Math.floor((aid - 1) / 100_000) + 1), String(ab), ' '.repeat(84)]),
      upd(t('pgbench_tellers'), ['tid'], ['tid', 'bid', 'tbalance', 'filler'], [String(tid), String(Math.floor((tid - 1) / 10) + 1), String(tellers[tid]), ' '.repeat(84)]),
      upd(t('pgbench_branches'), ['bid'], ['bid', 'bbalance', 'filler'], [String(bid), String(branches[bid]), ' '.repeat(88)]),
      ins(t('pgbench_history'), ['hid'], ['hid', 'tid', 'bid', 'aid', 'delta', 'mtime', 'filler'], [String(i), String(tid), String(bid), String(aid), String(delta), '2024-01-01 00:00:00', null]),
    ]);
  }
  const last = await writeTransactions(store, place.queueDir, transactions);
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const progress = await applyQueue(store, place.queueDir, sessions, newMigrationId(), last, { channels: CHANNELS, batchSize: BATCH });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  console.log(`apply cpu: ${((used.user + used.system) / 1e6).toFixed(2)} s of this process; ${CHANNELS} channels, batch ${BATCH}`);
  console.log(
    `apply rate: ${last} events (${TRANSACTIONS} pgbench-like transactions) in ${seconds.toFixed(2)} s = ${Math.round(last / seconds)} events/s, ` +
      `${Math.round(TRANSACTIONS / seconds)} source transactions/s; ${progress.transactions} target transactions`,
  );
  const [sum] = await query<{ b: string; h: string }>(target, db, 'SELECT (SELECT sum(bbalance) FROM pgbench_branches)::text AS b, (SELECT count(*) FROM pgbench_history)::text AS h');
  expect(sum).toEqual({ b: String(branches.reduce((a, b) => a + b, 0)), h: String(TRANSACTIONS) });
  await sessions.end();
  store.close();
  place.cleanup();
  await dropDatabase(target, db);
}, 600_000);
